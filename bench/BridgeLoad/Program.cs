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
using Microsoft.Extensions.Logging.Abstractions;

// Memory per watched account (N idle IDLE-only watchers, no TLS) and latency from the simulated
// server's untagged response to the event at the sink. Usage: BridgeLoad [--accounts 1000] [--samples 300]
var accounts = Arg("--accounts", 1000);
var samples = Arg("--samples", 300);

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

// 2. N account watchers, IDLE-only, all idling.
var sink = new LatencySink();
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

// 3. Latency: untagged push written by the server -> events handed to the sink.
var newMail = new List<double>();
var seen = new List<double>();
for (var k = 0; k < samples; k++)
{
    var user = $"user{k % accounts}";
    var account = user + "@example.com";
    await WaitIdle(server, user);
    var wait = sink.Expect(account, MailEventType.MessageNew);
    var t0 = await server.PushNewMessage(user);
    newMail.Add(Ms(t0, await wait));
    await WaitIdle(server, user);
    wait = sink.Expect(account, MailEventType.MessageRead);
    t0 = await server.PushSeen(user);
    seen.Add(Ms(t0, await wait));
}
Report("EXISTS -> MessageNew (incl. DONE + UID FETCH round trip)", newMail);
Report("FETCH FLAGS \\Seen -> MessageRead (during IDLE)", seen);

await stop.CancelAsync();
await Task.WhenAll(runs).WaitAsync(TimeSpan.FromSeconds(30)).ContinueWith(_ => { }, TaskScheduler.Default);
return 0;

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
        $"latency {what}: n={ms.Count} p50={P(0.5):F3} ms p90={P(0.9):F3} ms p99={P(0.99):F3} ms max={ms[^1]:F3} ms"));
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

/// <summary>Records when events reach the sink and lets the driver wait for one event type per account.</summary>
internal sealed class LatencySink : IEventSink
{
    private readonly ConcurrentDictionary<(string, MailEventType), TaskCompletionSource<long>> _waits = new();

    public Task<long> Expect(string account, MailEventType type) =>
        _waits.GetOrAdd((account, type), _ => new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var e in events)
        {
            if (_waits.TryRemove((e.Account.Value, e.Type), out var tcs))
            {
                tcs.TrySetResult(now);
            }
        }
        return ValueTask.CompletedTask;
    }
}
