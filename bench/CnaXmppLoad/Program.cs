using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Cna.Hosting;
using Aggregators.Pna.Hosting;
using static Aggregators.Bench.LoadTools;

// CNA XMPP load: Prosody (example.com + example.net) + the PNA's component events.example.com +
// the CNA's events.example.net + S raw c2s subscribers of the CNA, E events; then the PNA is
// killed and restarted. Loopback only, bounded in time; see README.md.
if (args.Length > 0 && args[0] is "run-pna" or "run-cna")
{
    // Child mode: the PNA or the CNA itself, so /proc/<pid>/stat measures only it.
    var app = args[0] == "run-pna" ? PnaApplication.Build(args[1..]) : CnaApplication.Build(args[1..]);
    await app.RunAsync();
    return 0;
}

var subscribers = IntArg("--subscribers", 50);
var events = IntArg("--events", 1000);
var heartbeat = IntArg("--heartbeat", 2);
var limit = TimeSpan.FromSeconds(Math.Min(IntArg("--timeout", 120), 600));
const string Secret = "s3cret";
const string Token = "load-token-0123456789abcdef";
const string Service = @"juliet\40example.com@events.example.net";
var dir = Path.Combine(Path.GetTempPath(), "cna-xmpp-load-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(Path.Combine(dir, "data"));
var c2s = FreePort();
var componentPort = FreePort();
var pnaHttp = FreePort();
var children = new List<Process>();
var clients = new List<Subscriber>();
try
{
    var config = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "prosody.cfg.lua"))
        .Replace("${DIR}", dir, StringComparison.Ordinal)
        .Replace("${C2S_PORT}", c2s.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("${COMPONENT_PORT}", componentPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
        .Replace("${SECRET}", Secret, StringComparison.Ordinal)
        + $"\nComponent \"events.example.net\"\n  component_secret = \"{Secret}\"\n";
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
        ["urls"] = $"http://127.0.0.1:{pnaHttp}",
        ["Pna:DataDirectory"] = Path.Combine(dir, "pna"),
        ["Pna:Ingest:Sources:0:Name"] = "load",
        ["Pna:Ingest:Sources:0:Token"] = Token,
        ["Pna:Authorization:Grants:0:Subscriber"] = "xmpp:cna@events.example.net",
        ["Pna:Authorization:Grants:0:Account"] = "*@example.com",
        ["Pna:Heartbeats:Min"] = "00:00:01",
        ["Pna:Xmpp:Enabled"] = "true",
        ["Pna:Xmpp:Port"] = componentPort.ToString(CultureInfo.InvariantCulture),
        ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
        ["Pna:Xmpp:Secret"] = Secret,
        ["Pna:Xmpp:MailDomain"] = "example.com",
        ["Pna:Xmpp:ReconnectDelay"] = "00:00:00.200",
        ["Logging:LogLevel:Default"] = "Warning",
    };
    var cnaArgs = new Dictionary<string, string>
    {
        ["urls"] = $"http://127.0.0.1:{FreePort()}",
        ["Cna:DataDirectory"] = Path.Combine(dir, "cna"),
        ["Cna:Xmpp:Enabled"] = "true",
        ["Cna:Xmpp:Port"] = componentPort.ToString(CultureInfo.InvariantCulture),
        ["Cna:Xmpp:ComponentDomain"] = "events.example.net",
        ["Cna:Xmpp:Secret"] = Secret,
        ["Cna:Xmpp:Routes:example.com"] = "events.example.com",
        ["Cna:Xmpp:Heartbeat"] = TimeSpan.FromSeconds(heartbeat).ToString("c", CultureInfo.InvariantCulture),
        ["Cna:Xmpp:WatchdogTick"] = "00:00:00.100",
        ["Cna:Xmpp:ResubscribeDelay"] = "00:00:00.200",
        ["Cna:Xmpp:MaxResubscribeDelay"] = "00:00:01",
        ["Logging:LogLevel:Default"] = "Warning",
    };
    Process StartPna() => StartSelf(["run-pna", .. pnaArgs.Select(p => $"--{p.Key}={p.Value}")], Path.Combine(dir, "pna.out"));
    var pna = StartPna();
    children.Add(pna);
    using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{pnaHttp}") };
    http.DefaultRequestHeaders.Authorization = new("Bearer", Token);
    await WaitConnectedAsync(http);
    uint messages = 1;
    await PostAsync(http, Ndjson(0, 1, ref messages)); // INBOX exists: its node can be subscribed
    var cna = StartSelf(["run-cna", .. cnaArgs.Select(p => $"--{p.Key}={p.Value}")], Path.Combine(dir, "cna.out"));
    children.Add(cna);

    Console.WriteLine($"connecting {subscribers} subscribers to the CNA...");
    var connected = new Subscriber[subscribers];
    await WaitUntilAsync(async () =>
    {
        try
        {
            // The first subscribe fails until the CNA's component is up.
            connected[0] = await Subscriber.ConnectAsync(c2s, "u0", "pw", Service, "mail_events/INBOX", CancellationToken.None);
            return true;
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }, "the CNA to serve the first subscriber");
    await Parallel.ForAsync(1, subscribers, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        connected[i] = await Subscriber.ConnectAsync(c2s, "u" + i, "pw", Service, "mail_events/INBOX", ct));
    clients.AddRange(connected);

    // 1. Fan-out: E events at the PNA, one upstream notification each, S local notifications each.
    var expected = (long)events * subscribers;
    var cnaCpu0 = CpuSeconds(cna.Id);
    var clock = Stopwatch.StartNew();
    const int Batch = 50;
    for (var sent = 0; sent < events && clock.Elapsed < limit;)
    {
        var n = Math.Min(Batch, events - sent);
        while ((long)(sent + n) * subscribers - clients.Sum(c => c.Events) > 20_000 && clock.Elapsed < limit)
        {
            await Task.Delay(2);
        }
        await PostAsync(http, Ndjson(sent + 1, n, ref messages));
        sent += n;
    }
    while (clients.Sum(c => c.Events) < expected && clock.Elapsed < limit)
    {
        await Task.Delay(5);
    }
    var elapsed = clock.Elapsed.TotalSeconds;
    var delivered = clients.Sum(c => c.Events);
    var cnaCpu = CpuSeconds(cna.Id) - cnaCpu0;
    Console.WriteLine($"subscribers {subscribers}, events {events}, local notifications {delivered}/{expected} in {elapsed:0.00} s");
    Console.WriteLine($"local notifications/s     {delivered / elapsed:0}");
    Console.WriteLine($"CNA CPU per notification  {cnaCpu * 1e6 / Math.Max(1, delivered):0.0} µs ({cnaCpu:0.00} s)");

    // 2. Recovery: kill the PNA, wait until every subscriber was told "stale", start it again and
    // time until every one of them has fresh totals, with nobody doing anything.
    pna.Kill(entireProcessTree: true);
    await pna.WaitForExitAsync();
    var killed = Stopwatch.GetTimestamp();
    await WaitUntilAsync(() => Task.FromResult(clients.All(c => c.Stale)), "every subscriber to be told stale", TimeSpan.FromSeconds(10 * heartbeat + 30));
    Console.WriteLine($"all stale after kill      {Stopwatch.GetElapsedTime(killed).TotalSeconds:0.00} s (heartbeat {heartbeat} s: at most 2 intervals + tick)");
    var restarted = Stopwatch.GetTimestamp();
    pna = StartPna();
    children.Add(pna);
    await WaitUntilAsync(() => Task.FromResult(clients.All(c => !c.Stale)), "every subscriber to be fresh again", TimeSpan.FromSeconds(60));
    var freshest = clients.Max(c => Interlocked.Read(ref c.FreshAt));
    Console.WriteLine($"PNA restart → all fresh   {Stopwatch.GetElapsedTime(restarted, freshest).TotalSeconds:0.00} s (PNA start and connect included)");
    return delivered == expected ? 0 : 1;
}
finally
{
    foreach (var c in clients)
    {
        c.Dispose();
    }
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

static async Task WaitConnectedAsync(HttpClient http) => await WaitUntilAsync(async () =>
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
