using System.Buffers.Text;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;

// Posts NDJSON batches of realistic MessageNew events to a running PNA over N concurrent
// keep-alive connections for a bounded time, then prints events/s, requests/s and latency.
// Usage: IngestLoad --token T [--url http://127.0.0.1:8480] [--connections 4] [--batch 1000]
//                   [--duration 10] [--warmup 5] [--accounts 1000]

var options = LoadOptions.Parse(args);
if (options is null)
{
    return 2;
}

using var handler = new SocketsHttpHandler
{
    MaxConnectionsPerServer = options.Connections,
    PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
    UseProxy = false,
    AutomaticDecompression = DecompressionMethods.None,
};
using var client = new HttpClient(handler) { BaseAddress = options.Url, Timeout = TimeSpan.FromSeconds(60) };
client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", options.Token);

var run = Guid.NewGuid().ToString("N")[..8];
var workers = new Worker[options.Connections];
for (var i = 0; i < workers.Length; i++)
{
    workers[i] = new Worker(i, options, run);
}
Console.WriteLine($"IngestLoad: {options.Connections} connections, {options.Batch} events per request, {options.Warmup.TotalSeconds:0} s warm-up, {options.Duration.TotalSeconds:0} s measured, against {options.Url}");
if (options.Warmup > TimeSpan.Zero)
{
    // Let the PNA's JIT reach its optimised code before measuring; these requests are not counted.
    var warmUntil = Stopwatch.GetTimestamp() + (long)(options.Warmup.TotalSeconds * Stopwatch.Frequency);
    await Task.WhenAll(workers.Select(w => Task.Run(() => w.RunAsync(client, warmUntil)))).ConfigureAwait(false);
    foreach (var w in workers)
    {
        w.Reset();
    }
}
var stopAt = Stopwatch.GetTimestamp() + (long)(options.Duration.TotalSeconds * Stopwatch.Frequency);
var started = Stopwatch.GetTimestamp();
await Task.WhenAll(workers.Select(w => Task.Run(() => w.RunAsync(client, stopAt)))).ConfigureAwait(false);
var elapsed = Stopwatch.GetElapsedTime(started).TotalSeconds;

var latencies = workers.SelectMany(w => w.Latencies).Order().ToArray();
var requests = latencies.Length;
var accepted = workers.Sum(w => w.Accepted);
var failed = workers.Sum(w => w.Failed);
double Percentile(double p) => latencies.Length == 0 ? 0 : latencies[Math.Min(latencies.Length - 1, (int)Math.Ceiling(p * latencies.Length) - 1)] * 1000.0 / Stopwatch.Frequency;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"requests: {requests} ({failed} not 202), events accepted: {accepted}, elapsed {elapsed:0.00} s"));
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"events/s: {accepted / elapsed:0}  requests/s: {requests / elapsed:0.0}  latency p50: {Percentile(0.50):0.0} ms  p99: {Percentile(0.99):0.0} ms"));
foreach (var (status, n) in workers.SelectMany(w => w.Statuses).GroupBy(p => p.Key).Select(g => (g.Key, g.Sum(p => p.Value))))
{
    Console.WriteLine($"  HTTP {status}: {n}");
}
return failed == 0 ? 0 : 1;

internal sealed record LoadOptions(Uri Url, string Token, int Connections, int Batch, TimeSpan Duration, TimeSpan Warmup, int Accounts)
{
    public static readonly TimeSpan HardCap = TimeSpan.FromSeconds(120);

    public static LoadOptions? Parse(string[] args)
    {
        var url = new Uri("http://127.0.0.1:8480");
        string? token = null;
        int connections = 4, batch = 1000, accounts = 1000;
        var duration = TimeSpan.FromSeconds(10);
        var warmup = TimeSpan.FromSeconds(5);
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : null;
            switch (args[i])
            {
                case "--url": url = new Uri(value!); i++; break;
                case "--token": token = value; i++; break;
                case "--token-file": token = File.ReadAllText(value!).Trim(); i++; break;
                case "--connections": connections = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--batch": batch = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                case "--duration": duration = TimeSpan.FromSeconds(double.Parse(value!, CultureInfo.InvariantCulture)); i++; break;
                case "--warmup": warmup = TimeSpan.FromSeconds(double.Parse(value!, CultureInfo.InvariantCulture)); i++; break;
                case "--accounts": accounts = int.Parse(value!, CultureInfo.InvariantCulture); i++; break;
                default:
                    Console.Error.WriteLine($"unknown argument '{args[i]}'");
                    return null;
            }
        }
        if (token is null)
        {
            Console.Error.WriteLine("--token or --token-file is required (the PNA's ingest token, e.g. <data dir>/ingest.token)");
            return null;
        }
        // Loopback only: this tool floods whatever it is pointed at.
        if (url.Host != "127.0.0.1" || url.Scheme != "http")
        {
            Console.Error.WriteLine("--url must be http://127.0.0.1:<port>: the load generator only targets loopback");
            return null;
        }
        if (duration > HardCap)
        {
            Console.Error.WriteLine($"--duration capped at {HardCap.TotalSeconds} s");
            duration = HardCap;
        }
        if (warmup > HardCap - duration)
        {
            // Warm-up and measurement together stay within the hard cap.
            warmup = HardCap - duration;
        }
        if (connections is < 1 or > 256 || batch is < 1 or > 100_000 || accounts < 1 || duration <= TimeSpan.Zero || warmup < TimeSpan.Zero)
        {
            Console.Error.WriteLine("--connections 1..256, --batch 1..100000, --accounts >= 1, --duration > 0");
            return null;
        }
        return new LoadOptions(url, token, connections, batch, duration, warmup, accounts);
    }
}

/// <summary>One connection's loop: builds a fresh batch (unique ids, advancing UIDs) and posts it.</summary>
internal sealed class Worker(int index, LoadOptions options, string run)
{
    private static readonly MediaTypeHeaderValue Ndjson = new("application/x-ndjson");
    private readonly byte[] _buffer = new byte[options.Batch * 512];
    private readonly uint[] _uidnext = new uint[options.Accounts];
    private long _sequence;
    private int _length;

    public List<long> Latencies { get; } = new(4096);
    public long Accepted { get; private set; }
    public long Failed { get; private set; }
    public Dictionary<int, long> Statuses { get; } = [];

    public void Reset()
    {
        Latencies.Clear();
        Accepted = 0;
        Failed = 0;
        Statuses.Clear();
    }

    public async Task RunAsync(HttpClient client, long stopAt)
    {
        var random = new Random(index);
        while (Stopwatch.GetTimestamp() < stopAt)
        {
            Build(random);
            using var content = new ByteArrayContent(_buffer, 0, _length);
            content.Headers.ContentType = Ndjson;
            var t0 = Stopwatch.GetTimestamp();
            try
            {
                using var response = await client.PostAsync("/v1/events", content).ConfigureAwait(false);
                await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
                Latencies.Add(Stopwatch.GetTimestamp() - t0);
                Statuses[(int)response.StatusCode] = Statuses.GetValueOrDefault((int)response.StatusCode) + 1;
                if (response.StatusCode == HttpStatusCode.Accepted)
                {
                    Accepted += options.Batch;
                }
                else
                {
                    Failed++;
                }
            }
            catch (HttpRequestException ex)
            {
                Failed++;
                Console.Error.WriteLine($"worker {index}: {ex.Message}");
                await Task.Delay(100).ConfigureAwait(false);
            }
        }
    }

    private void Build(Random random)
    {
        var span = _buffer.AsSpan();
        var n = 0;
        for (var i = 0; i < options.Batch; i++)
        {
            var account = random.Next(options.Accounts);
            var uid = ++_uidnext[account];
            var messages = uid;
            var unseen = (uint)random.Next(1, 50);
            n += Write(span[n..], "{\"event\":\"MessageNew\",\"id\":\"");
            n += Write(span[n..], run);
            span[n++] = (byte)'-';
            n += Number(span[n..], (ulong)index);
            span[n++] = (byte)'-';
            n += Number(span[n..], (ulong)++_sequence);
            n += Write(span[n..], "\",\"timestamp\":\"2026-11-21T20:00:00Z\",\"service\":\"imap\",\"account\":\"user");
            n += Number(span[n..], (ulong)account);
            n += Write(span[n..], "@example.org\",\"mailbox\":\"INBOX\",\"uidset\":\"");
            n += Number(span[n..], uid);
            n += Write(span[n..], "\",\"messageSize\":");
            n += Number(span[n..], (ulong)random.Next(800, 90_000));
            n += Write(span[n..], ",\"from\":\"romeo@example.net\",\"subject\":\"Load test message\",\"totals\":{\"messages\":");
            n += Number(span[n..], messages);
            n += Write(span[n..], ",\"unseen\":");
            n += Number(span[n..], Math.Min(unseen, messages));
            n += Write(span[n..], ",\"uidnext\":");
            n += Number(span[n..], (ulong)uid + 1);
            n += Write(span[n..], ",\"uidvalidity\":1700000000}}\n");
        }
        _length = n;
    }

    private static int Write(Span<byte> destination, string ascii) => Encoding.ASCII.GetBytes(ascii, destination);

    private static int Number(Span<byte> destination, ulong value) =>
        Utf8Formatter.TryFormat(value, destination, out var written) ? written : throw new InvalidOperationException("buffer too small");
}
