using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Pna.Hosting;
using static Aggregators.Bench.LoadTools;

// XMPP fan-out load: Prosody + the PNA's pubsub component + S raw c2s subscribers, E events.
// Loopback only, bounded in time; see README.md.
if (args.Length > 0 && args[0] == "run-pna")
{
    // Child mode: the PNA itself, so /proc/<pid>/stat measures only it.
    var app = PnaApplication.Build(args[1..]);
    await app.RunAsync();
    return 0;
}

var subscribers = IntArg("--subscribers", 50);
var events = IntArg("--events", 1000);
var limit = TimeSpan.FromSeconds(Math.Min(IntArg("--timeout", 90), 300));
const string Secret = "s3cret";
var dir = Path.Combine(Path.GetTempPath(), "xmpp-fanout-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(Path.Combine(dir, "data"));
var c2s = FreePort();
var componentPort = FreePort();
var httpPort = FreePort();
var children = new List<Process>();
try
{
    // Prosody from the integration tests' template (events.example.com is one of its components).
    var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prosody.cfg.lua"))
        .Replace("${DIR}", dir, StringComparison.Ordinal)
        .Replace("${C2S_PORT}", c2s.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("${COMPONENT_PORT}", componentPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("${SECRET}", Secret, StringComparison.Ordinal);
    var configPath = Path.Combine(dir, "prosody.cfg.lua");
    File.WriteAllText(configPath, config);
    Console.WriteLine($"registering {subscribers} users...");
    await Parallel.ForAsync(0, subscribers, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, ct) =>
        await RunAsync("/usr/bin/prosodyctl", ["--config", configPath, "register", "u" + i, "example.net", "pw"], ct));
    var prosody = Start("/usr/bin/prosody", ["--config", configPath, "-F"], Path.Combine(dir, "prosody.out"));
    children.Add(prosody);
    await WaitPortAsync(c2s);
    await WaitPortAsync(componentPort);

    var pnaArgs = new Dictionary<string, string>
    {
        ["urls"] = $"http://127.0.0.1:{httpPort}",
        ["Pna:DataDirectory"] = Path.Combine(dir, "pna"),
        ["Pna:Ingest:Sources:0:Name"] = "load",
        ["Pna:Ingest:Sources:0:Token"] = "load-token-0123456789abcdef",
        ["Pna:Authorization:Grants:0:Subscriber"] = "xmpp:*@example.net",
        ["Pna:Authorization:Grants:0:Account"] = "*@example.com",
        ["Pna:Xmpp:Enabled"] = "true",
        ["Pna:Xmpp:Port"] = componentPort.ToString(CultureInfo.InvariantCulture),
        ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
        ["Pna:Xmpp:Secret"] = Secret,
        ["Pna:Xmpp:MailDomain"] = "example.com",
        ["Logging:LogLevel:Default"] = "Warning",
    };
    var pna = StartSelf(["run-pna", .. pnaArgs.Select(p => $"--{p.Key}={p.Value}")], Path.Combine(dir, "pna.out"));
    children.Add(pna);
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{httpPort}") };
    http.DefaultRequestHeaders.Authorization = new("Bearer", "load-token-0123456789abcdef");
    await WaitUntilAsync(async () =>
    {
        try
        {
            var metrics = await http.GetStringAsync("/metrics");
            return metrics.Contains("pna_xmpp_component_connected 1", StringComparison.Ordinal);
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }, "the PNA's component to connect");
    uint messages = 1;
    await PostAsync(http, Ndjson(0, 1, ref messages)); // INBOX exists: its node can be subscribed

    Console.WriteLine($"connecting {subscribers} subscribers...");
    var clients = new C2sClient[subscribers];
    await Parallel.ForAsync(0, subscribers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
    {
        clients[i] = await C2sClient.ConnectAsync(c2s, "u" + i, "pw", ct);
        await clients[i].SubscribeAsync("juliet@events.example.com", "mail_events/INBOX", ct);
    });
    await WaitUntilAsync(() => Task.FromResult(clients.Sum(c => c.Messages) >= subscribers), "the initial items");
    var baseline = clients.Sum(c => c.Messages);

    var expected = (long)events * subscribers;
    var prosodyCpu0 = CpuSeconds(prosody.Id);
    var pnaCpu0 = CpuSeconds(pna.Id);
    var clock = Stopwatch.StartNew();
    const int Batch = 50;
    // Closed loop: keep at most ~20k notifications in flight, so no queue drops (the PNA's
    // component queue is 65536) and the figure is the sustained rate.
    for (var sent = 0; sent < events && clock.Elapsed < limit;)
    {
        var n = Math.Min(Batch, events - sent);
        while ((long)(sent + n) * subscribers - (clients.Sum(c => c.Messages) - baseline) > 20_000 && clock.Elapsed < limit)
        {
            await Task.Delay(2);
        }
        await PostAsync(http, Ndjson(sent + 1, n, ref messages));
        sent += n;
    }
    while (clients.Sum(c => c.Messages) - baseline < expected && clock.Elapsed < limit)
    {
        await Task.Delay(5);
    }
    var elapsed = clock.Elapsed.TotalSeconds;
    var delivered = clients.Sum(c => c.Messages) - baseline;
    var prosodyCpu = CpuSeconds(prosody.Id) - prosodyCpu0;
    var pnaCpu = CpuSeconds(pna.Id) - pnaCpu0;
    Console.WriteLine($"subscribers {subscribers}, events {events}, deliveries {delivered}/{expected} in {elapsed:0.00} s");
    Console.WriteLine($"deliveries/s            {delivered / elapsed:0}");
    Console.WriteLine($"PNA CPU per delivery    {pnaCpu * 1e6 / Math.Max(1, delivered):0.0} µs ({pnaCpu:0.00} s)");
    Console.WriteLine($"Prosody CPU per delivery {prosodyCpu * 1e6 / Math.Max(1, delivered):0.0} µs ({prosodyCpu:0.00} s)");
    Console.WriteLine($"PNA / Prosody           {(prosodyCpu > 0 ? pnaCpu / prosodyCpu * 100 : 0):0.0} % (target <= 20 %)");
    foreach (var c in clients)
    {
        c.Dispose();
    }
    return delivered == expected ? 0 : 1;
}
finally
{
    foreach (var p in children)
    {
        if (!p.HasExited)
        {
            p.Kill(entireProcessTree: true);
            await p.WaitForExitAsync();
        }
        p.Dispose();
    }
    try
    {
        Directory.Delete(dir, recursive: true);
    }
    catch (IOException)
    {
    }
}

int IntArg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>
/// A minimal XMPP client (RFC 6120 over plain TCP on loopback): SASL PLAIN, bind, presence,
/// one pubsub subscribe, then counts &lt;message&gt; stanzas without parsing them.
/// </summary>
internal sealed class C2sClient : IDisposable
{
    private static readonly byte[] MessageTag = "<message"u8.ToArray();
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _setup = new();
    private long _messages;

    private C2sClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public long Messages => Interlocked.Read(ref _messages);

    public static async Task<C2sClient> ConnectAsync(int port, string user, string password, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var c = new C2sClient(tcp);
        const string Header = "<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>";
        await c.SendAsync(Header, ct);
        await c.ReadUntilAsync("</stream:features>", ct);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await c.SendAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>", ct);
        await c.ReadUntilAsync("<success", ct);
        await c.SendAsync(Header, ct); // RFC 6120 §6.4.6: restart the stream after SASL
        await c.ReadUntilAsync("</stream:features>", ct);
        await c.SendAsync("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", ct);
        await c.ReadUntilAsync("</iq>", ct);
        await c.SendAsync("<presence/>", ct);
        return c;
    }

    public async Task SubscribeAsync(string service, string node, CancellationToken ct)
    {
        var bare = BareJid();
        await SendAsync($"<iq type='set' id='sub' to='{service}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{node}' jid='{bare}'/></pubsub></iq>", ct);
        await ReadUntilAsync("id='sub'", ct, alt: "id=\"sub\"");
        _ = Task.Run(CountAsync, CancellationToken.None);
    }

    private string BareJid()
    {
        var text = _setup.ToString();
        var start = text.IndexOf("<jid>", StringComparison.Ordinal) + 5;
        var end = text.IndexOf('/', start);
        return text[start..end];
    }

    private async Task SendAsync(string xml, CancellationToken ct) => await _stream.WriteAsync(Encoding.UTF8.GetBytes(xml), ct);

    private async Task ReadUntilAsync(string marker, CancellationToken ct, string? alt = null)
    {
        var buffer = new byte[16384];
        var from = _setup.Length;
        while (true)
        {
            var text = _setup.ToString(from, _setup.Length - from);
            var at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at < 0 && alt is not null)
            {
                at = text.IndexOf(alt, StringComparison.Ordinal);
            }
            if (at >= 0)
            {
                // Count messages seen during setup (the initial item may arrive with the iq result).
                _messages += CountMessages(Encoding.UTF8.GetBytes(text));
                _setup.Remove(from, _setup.Length - from).Append(text.AsSpan(0, at)).Append(' ');
                return;
            }
            if (text.Contains("<failure", StringComparison.Ordinal) || text.Contains("type='error'", StringComparison.Ordinal))
            {
                throw new InvalidOperationException("c2s setup failed: " + text);
            }
            var n = await _stream.ReadAsync(buffer, ct);
            if (n == 0)
            {
                throw new IOException("c2s connection closed during setup: " + text);
            }
            _setup.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
    }

    private static int CountMessages(ReadOnlySpan<byte> bytes) => bytes.Count(MessageTag);

    private async Task CountAsync()
    {
        var buffer = new byte[65536];
        var carry = 0;
        try
        {
            while (true)
            {
                var n = await _stream.ReadAsync(buffer.AsMemory(carry));
                if (n == 0)
                {
                    return;
                }
                var total = carry + n;
                Interlocked.Add(ref _messages, CountMessages(buffer.AsSpan(0, total)));
                // Keep the last few bytes: a "<message" split across reads is counted once.
                carry = Math.Min(MessageTag.Length - 1, total);
                var tail = buffer.AsSpan(total - carry, carry);
                if (tail.IndexOf((byte)'<') is var lt and >= 0)
                {
                    tail[lt..].CopyTo(buffer);
                    carry = tail.Length - lt;
                }
                else
                {
                    carry = 0;
                }
            }
        }
        catch (IOException)
        {
        }
        catch (ObjectDisposedException)
        {
        }
    }

    public void Dispose() => _tcp.Dispose();
}
