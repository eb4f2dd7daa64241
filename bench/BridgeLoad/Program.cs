using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Aggregators.BridgeLoad;
using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Bridge;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

// Memory per watched account (N idle IDLE-only watchers, no TLS) and latency from the simulated
// server's untagged response to the event at the PNA: by default the co-hosted path (IngestEventSink ->
// in-process ingest -> dispatcher -> the subscription's transport); --sink-only stops at the bridge's sink.
// Usage: BridgeLoad [--accounts 1000] [--samples 1000] [--sink-only]
var accounts = Arg("--accounts", 1000);
var samples = Arg("--samples", 1000);
var sinkOnly = args.Contains("--sink-only");

await using var server = new SimulatedImapServer();
server.Start();
Console.WriteLine($"simulated IMAP server on 127.0.0.1:{server.Port}; {accounts} accounts, {samples} latency samples; {Environment.ProcessorCount} cores");

// 1. Baseline: N bare connections idling at the server (server session + a bare client socket).
var before = Heap();
var bare = new List<TcpClient>();
for (var i = 0; i < accounts; i++)
{
    var c = new TcpClient();
    await c.ConnectAsync(IPAddress.Loopback, server.Port);
    _ = await c.GetStream().ReadAsync(new byte[256]); // greeting
    bare.Add(c);
}
var bareBytes = (Heap() - before) / (double)accounts;
foreach (var c in bare)
{
    c.Dispose();
}
bare.Clear();
await Task.Delay(500);

// 2. N account watchers, IDLE-only, all idling; their events go to an in-process PNA (or only to the sink).
var probe = new LatencyProbe();
var pnaDirectory = Path.Combine(Path.GetTempPath(), "bridgeload-pna-" + Guid.NewGuid().ToString("N"));
await using var pna = sinkOnly ? null : PnaApplication.Build(
    ["--urls=http://127.0.0.1:0", $"--Pna:DataDirectory={pnaDirectory}", "--Logging:LogLevel:Default=Warning"],
    s => s.AddSingleton<IAuthorizationPolicy, AllowAll>());
if (pna is not null)
{
    await pna.StartAsync();
}
IEventSink sink = pna is null ? new ProbeSink(probe) : new IngestEventSink(pna.Services.GetRequiredService<IEventIngest>(), NullLogger<IngestEventSink>.Instance);
var options = new ImapServerOptions
{
    Name = "sim",
    Host = "127.0.0.1",
    Port = server.Port,
    Security = ImapSecurity.None,
    Mode = WatchMode.IdleOnly,
    PollInterval = TimeSpan.FromMinutes(10),
    KeepAliveInterval = TimeSpan.FromMinutes(10),
    CircuitMinimumThroughput = 1_000_000,
};
var endpoint = new ImapServerEndpoint(options);
var store = new InMemoryWatcherStateStore();
using var stop = new CancellationTokenSource();
before = Heap();
var watchers = new AccountWatcher[accounts];
var runs = new Task[accounts];
for (var i = 0; i < accounts; i++)
{
    watchers[i] = new AccountWatcher(endpoint, new AccountOptions { Login = $"user{i}", Password = "pw", Account = $"user{i}@example.com" },
        sink, store, NullLogger.Instance);
    var w = watchers[i];
    runs[i] = Task.Run(() => w.RunAsync(stop.Token));
}
var deadline = DateTime.UtcNow.AddMinutes(2);
while (Enumerable.Range(0, accounts).Any(i => !server.IsIdling($"user{i}")))
{
    if (DateTime.UtcNow > deadline)
    {
        Console.WriteLine($"only {Enumerable.Range(0, accounts).Count(i => server.IsIdling($"user{i}"))} of {accounts} idle after 2 min");
        return 1;
    }
    await Task.Delay(100);
}
var totalBytes = (Heap() - before) / (double)accounts;
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"memory: {totalBytes / 1024:F1} KB managed per watched account (watcher + its simulated server session, all IDLE); " +
    $"bare idle connection (server session + plain socket): {bareBytes / 1024:F1} KB; watcher above a bare socket: {(totalBytes - bareBytes) / 1024:F1} KB"));
Console.WriteLine($"process working set: {Environment.WorkingSet / (1024 * 1024)} MB");

// 3. Latency: untagged push written by the server -> the event at the PNA's transport (or the sink).
if (pna is not null)
{
    // One subscription per sampled account, delivered to the probe as a transport.
    var manager = pna.Services.GetRequiredService<SubscriptionManager>();
    for (var i = 0; i < Math.Min(accounts, samples); i++)
    {
        var filter = new SubscriptionFilter { Account = AccountId.Parse($"user{i}@example.com"), Mailbox = MailboxPath.Inbox };
        var r = await manager.SubscribeAsync("xmpp:probe@example.net", filter, probe, null, null, CancellationToken.None);
        if (!r.Succeeded)
        {
            Console.WriteLine("subscribe failed: " + r.Decision.Reason);
            return 1;
        }
    }
}
var where = pna is null ? "the bridge's sink" : "the PNA's transport (co-hosted: in-process ingest + dispatcher)";
var newMail = new List<double>(samples);
var seen = new List<double>(samples);
var gc0 = GC.CollectionCount(0);
var gc1 = GC.CollectionCount(1);
var gc2 = GC.CollectionCount(2);
var pause = GC.GetTotalPauseDuration();
var allocated = GC.GetTotalAllocatedBytes(precise: false);
for (var k = 0; k < samples; k++)
{
    var user = $"user{k % accounts}";
    var account = user + "@example.com";
    await WaitIdle(server, user);
    var wait = probe.Expect(account, MailEventType.MessageNew);
    var t0 = await server.PushNewMessage(user);
    newMail.Add(Ms(t0, await wait));
    await WaitIdle(server, user);
    wait = probe.Expect(account, MailEventType.MessageRead);
    t0 = await server.PushSeen(user);
    seen.Add(Ms(t0, await wait));
}
var allocatedPerSample = (GC.GetTotalAllocatedBytes(precise: false) - allocated) / (2.0 * samples);
Console.WriteLine($"latency to {where}:");
Report("EXISTS -> MessageNew (incl. DONE + UID FETCH round trip)", newMail);
Report("FETCH FLAGS \\Seen -> MessageRead (during IDLE)", seen);
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"GC during the latency run: gen0={GC.CollectionCount(0) - gc0} gen1={GC.CollectionCount(1) - gc1} gen2={GC.CollectionCount(2) - gc2} " +
    $"pause={(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:F1} ms; allocated {allocatedPerSample / 1024:F1} KB per push (whole process, both sides); " +
    $"load average {LoadAverage()}"));

await stop.CancelAsync();
await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
if (pna is not null)
{
    await pna.StopAsync();
    try
    {
        Directory.Delete(pnaDirectory, recursive: true);
    }
    catch (IOException)
    {
    }
}
return 0;

static string LoadAverage()
{
    try
    {
        return string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
    }
    catch (IOException)
    {
        return "unknown";
    }
}

static async Task WaitIdle(SimulatedImapServer server, string user)
{
    while (!server.IsIdling(user))
    {
        await Task.Delay(1);
    }
}

static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

static void Report(string what, List<double> ms)
{
    ms.Sort();
    double P(double q) => ms[Math.Min(ms.Count - 1, (int)Math.Ceiling(q * ms.Count) - 1)];
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"  {what}: n={ms.Count} p50={P(0.5):F3} ms p90={P(0.9):F3} ms p99={P(0.99):F3} ms p999={P(0.999):F3} ms max={ms[^1]:F3} ms"));
}

static long Heap()
{
    for (var i = 0; i < 3; i++)
    {
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
    }
    return GC.GetTotalMemory(forceFullCollection: true);
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

/// <summary>
/// Records when events arrive and lets the driver wait for one event type per account: as the PNA
/// transport of the sampled subscriptions (the event at the PNA), or behind <see cref="ProbeSink"/>.
/// </summary>
internal sealed class LatencyProbe : INotificationTransport
{
    private readonly ConcurrentDictionary<(string, MailEventType), TaskCompletionSource<long>> _waits = new();

    public string Name => "bridgeload";

    public Task<long> Expect(string account, MailEventType type) =>
        _waits.GetOrAdd((account, type), _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Arrived(MailEvent e, long now)
    {
        if (_waits.TryRemove((e.Account.Value, e.Type), out var tcs))
        {
            tcs.TrySetResult(now);
        }
    }

    public void Deliver(in Notification notification)
    {
        if (notification.Event is { } e)
        {
            Arrived(e, Stopwatch.GetTimestamp());
        }
    }
}

/// <summary>The bridge's sink, for --sink-only.</summary>
internal sealed class ProbeSink(LatencyProbe probe) : IEventSink
{
    public ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var e in events)
        {
            probe.Arrived(e, now);
        }
        return ValueTask.CompletedTask;
    }
}

internal sealed class AllowAll : IAuthorizationPolicy
{
    public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AuthorizationDecision.Allow("bench"));
}
