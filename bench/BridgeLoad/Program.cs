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
// Latency is steady state: --warmup rounds first (reported apart as "cold"), then a pause until the JIT's
// tier-1 recompilation settles, then --samples measured rounds (README.md, "Method").
// Usage: BridgeLoad [--accounts 1000] [--samples 1000] [--warmup 500] [--sink-only] [--server-process]
if (args.Contains("--serve"))
{
    return await ChildProcessServer.ServeAsync();
}
var accounts = Arg("--accounts", 1000);
var samples = Arg("--samples", 1000);
var warmup = Arg("--warmup", 500);
var sinkOnly = args.Contains("--sink-only");
var serverProcess = args.Contains("--server-process");

await using IServerControl server = serverProcess ? await ChildProcessServer.StartAsync() : new InProcessServer();
Console.WriteLine($"simulated IMAP server on 127.0.0.1:{server.Port} ({(serverProcess ? "child process" : "in this process")}); " +
    $"{accounts} accounts, {warmup} warm-up rounds, {samples} latency samples; {Environment.ProcessorCount} cores; load average {LoadAverage()}");

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
// The stamping sink notes when the watcher hands an event on: the split between bridge and PNA.
IEventSink sink = new StampingSink(probe, pna is null ? null : new IngestEventSink(pna.Services.GetRequiredService<IEventIngest>(), NullLogger<IngestEventSink>.Instance));
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
    watchers[i] = new AccountWatcher(endpoint, new AccountOptions { Login = Users.Name(i), Password = "pw", Account = $"{Users.Name(i)}@example.com" },
        sink, store, NullLogger.Instance);
    var w = watchers[i];
    runs[i] = Task.Run(() => w.RunAsync(stop.Token));
}
var deadline = DateTime.UtcNow.AddMinutes(2);
int idling;
while ((idling = await server.CountIdlingAsync(accounts)) < accounts)
{
    if (DateTime.UtcNow > deadline)
    {
        Console.WriteLine($"only {idling} of {accounts} idle after 2 min");
        return 1;
    }
    await Task.Delay(100);
}
var totalBytes = (Heap() - before) / (double)accounts;
var whose = serverProcess ? "watcher; the server session is in the child process" : "watcher + its simulated server session";
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"memory: {totalBytes / 1024:F1} KB managed per watched account ({whose}, all IDLE); " +
    $"bare idle connection: {bareBytes / 1024:F1} KB; watcher above a bare socket: {(totalBytes - bareBytes) / 1024:F1} KB"));
Console.WriteLine($"process working set: {Environment.WorkingSet / (1024 * 1024)} MB");

// 3. Latency: untagged push written by the server -> the event at the PNA's transport (or the sink).
if (pna is not null)
{
    // One subscription per sampled account, delivered to the probe as a transport.
    var manager = pna.Services.GetRequiredService<SubscriptionManager>();
    for (var i = 0; i < Math.Min(accounts, warmup + samples); i++)
    {
        var filter = new SubscriptionFilter { Account = AccountId.Parse($"{Users.Name(i)}@example.com"), Mailbox = MailboxPath.Inbox };
        var r = await manager.SubscribeAsync("xmpp:probe@example.net", filter, probe, null, null, CancellationToken.None);
        if (!r.Succeeded)
        {
            Console.WriteLine("subscribe failed: " + r.Decision.Reason);
            return 1;
        }
    }
}
var where = pna is null ? "the bridge's sink" : "the PNA's transport (co-hosted: in-process ingest + dispatcher)";

// Cold: the first rounds, while tier-0 code runs and tier-1 recompiles in the background. Unmeasured
// for the steady-state figures, printed apart so nothing is hidden.
var cold = new Samples(warmup);
await RunRoundsAsync(0, warmup, cold);
var settle = Stopwatch.StartNew();
var extraRounds = 0;
if (warmup > 0)
{
    // Methods are counted for tier-1 only while they run, so pausing alone is not enough: run more
    // rounds (unrecorded) until a batch of them makes the JIT compile (almost) nothing.
    await WaitForJitToSettleAsync();
    for (var batch = 0; batch < 20; batch++)
    {
        var jit = System.Runtime.JitInfo.GetCompiledMethodCount();
        await RunRoundsAsync(warmup + extraRounds, 100, new Samples(100));
        extraRounds += 100;
        await WaitForJitToSettleAsync();
        if (System.Runtime.JitInfo.GetCompiledMethodCount() - jit <= 5)
        {
            break;
        }
    }
}

var warm = new Samples(samples);
var gc0 = GC.CollectionCount(0);
var gc1 = GC.CollectionCount(1);
var gc2 = GC.CollectionCount(2);
var pause = GC.GetTotalPauseDuration();
var allocated = GC.GetTotalAllocatedBytes(precise: false);
var jitBefore = System.Runtime.JitInfo.GetCompiledMethodCount();
var stallBefore = CpuStallMicroseconds();
var runTime = Stopwatch.StartNew();
await RunRoundsAsync(warmup + extraRounds, samples, warm);
var stalled = CpuStallMicroseconds() - stallBefore;
var runMicroseconds = runTime.Elapsed.TotalMicroseconds;
var allocatedPerSample = (GC.GetTotalAllocatedBytes(precise: false) - allocated) / (2.0 * samples);
var jitDuring = System.Runtime.JitInfo.GetCompiledMethodCount() - jitBefore;
if (warmup > 0)
{
    Console.WriteLine($"cold: the first {warmup} rounds (tier-0 JIT, tiering in the background), to {where}:");
    cold.Report();
    Console.WriteLine($"then {extraRounds} more rounds (unrecorded) and pauses until the JIT settled: {settle.Elapsed.TotalSeconds:F1} s");
}
Console.WriteLine($"steady state: {samples} rounds after the warm-up, to {where}:");
warm.Report();
Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
    $"GC during the steady-state run: gen0={GC.CollectionCount(0) - gc0} gen1={GC.CollectionCount(1) - gc1} gen2={GC.CollectionCount(2) - gc2} " +
    $"pause={(GC.GetTotalPauseDuration() - pause).TotalMilliseconds:F1} ms; methods JIT-compiled during it: {jitDuring}; " +
    $"allocated {allocatedPerSample / 1024:F1} KB per push (this process{(serverProcess ? "" : ", server side included")}); " +
    $"load average {LoadAverage()}"));
if (stallBefore >= 0)
{
    // Linux PSI: the share of the run's wall time in which some runnable task waited for a CPU.
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"CPU pressure during the steady-state run: some task was waiting for a CPU {100.0 * stalled / runMicroseconds:F0} % of the time (/proc/pressure/cpu, whole machine; low on a quiet one)"));
}

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

// Each round: a new message (EXISTS -> MessageNew) then \Seen on it (FETCH -> MessageRead), one push in flight.
async Task RunRoundsAsync(int first, int count, Samples into)
{
    for (var k = first; k < first + count; k++)
    {
        var user = Users.Name(k % accounts);
        var account = user + "@example.com";
        await server.WaitIdleAsync(user);
        var wait = probe.Expect(account, MailEventType.MessageNew);
        var t0 = await server.PushNewMessageAsync(user);
        into.NewMail.Add(t0, await wait);
        await server.WaitIdleAsync(user);
        wait = probe.Expect(account, MailEventType.MessageRead);
        t0 = await server.PushSeenAsync(user);
        into.Seen.Add(t0, await wait);
    }
}

// Steady state: tier-1 code for the hot path. Waits until no method was compiled for a second (at most 30 s).
static async Task WaitForJitToSettleAsync()
{
    var started = Stopwatch.StartNew();
    var count = System.Runtime.JitInfo.GetCompiledMethodCount();
    var quietSince = Stopwatch.StartNew();
    while (quietSince.Elapsed < TimeSpan.FromSeconds(1) && started.Elapsed < TimeSpan.FromSeconds(30))
    {
        await Task.Delay(100);
        var now = System.Runtime.JitInfo.GetCompiledMethodCount();
        if (now != count)
        {
            count = now;
            quietSince.Restart();
        }
    }
}

// Total microseconds in which some task waited for a CPU (Linux PSI, "some" line); -1 where PSI is absent.
static long CpuStallMicroseconds()
{
    try
    {
        var some = File.ReadLines("/proc/pressure/cpu").First(l => l.StartsWith("some ", StringComparison.Ordinal));
        var total = some.Split(' ').First(f => f.StartsWith("total=", StringComparison.Ordinal));
        return long.Parse(total.AsSpan(6), CultureInfo.InvariantCulture);
    }
    catch (Exception e) when (e is IOException or UnauthorizedAccessException or InvalidOperationException or FormatException)
    {
        return -1;
    }
}

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
/// transport of the sampled subscriptions (the event at the PNA), or at the sink with --sink-only.
/// The sink's stamp of the same event splits the path into bridge (server -> sink) and PNA (sink -> transport).
/// </summary>
internal sealed class LatencyProbe : INotificationTransport
{
    private readonly ConcurrentDictionary<(string, MailEventType), TaskCompletionSource<Stamps>> _waits = new();
    private readonly ConcurrentDictionary<(string, MailEventType), long> _atSink = new();

    public string Name => "bridgeload";

    public Task<Stamps> Expect(string account, MailEventType type) =>
        _waits.GetOrAdd((account, type), _ => new TaskCompletionSource<Stamps>(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    /// <summary>The watcher handed <paramref name="e"/> to its sink at <paramref name="now"/>.</summary>
    public void AtSink(MailEvent e, long now) => _atSink[(e.Account.Value, e.Type)] = now;

    public void Arrived(MailEvent e, long now)
    {
        if (_waits.TryRemove((e.Account.Value, e.Type), out var tcs))
        {
            _atSink.TryRemove((e.Account.Value, e.Type), out var atSink);
            tcs.TrySetResult(new Stamps(atSink, now));
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

/// <summary>When an event reached the bridge's sink and when it reached the end of the measured path.</summary>
internal readonly record struct Stamps(long AtSink, long AtEnd);

/// <summary>Stamps each event as the watcher hands it on, then passes it to the PNA (or ends there, --sink-only).</summary>
internal sealed class StampingSink(LatencyProbe probe, IEventSink? next) : IEventSink
{
    public ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        var now = Stopwatch.GetTimestamp();
        foreach (var e in events)
        {
            if (next is null)
            {
                probe.Arrived(e, now);
            }
            else
            {
                probe.AtSink(e, now);
            }
        }
        return next?.DeliverAsync(events, cancellationToken) ?? ValueTask.CompletedTask;
    }
}

/// <summary>Latencies of one run, whole path and split at the sink.</summary>
internal sealed class Samples(int capacity)
{
    public Series NewMail { get; } = new("EXISTS -> MessageNew (incl. DONE + UID FETCH round trip)", capacity);
    public Series Seen { get; } = new("FETCH FLAGS \\Seen -> MessageRead (during IDLE)", capacity);

    public void Report()
    {
        NewMail.Report();
        Seen.Report();
    }
}

internal sealed class Series(string what, int capacity)
{
    private readonly List<double> _total = new(capacity);
    private readonly List<double> _bridge = new(capacity);
    private readonly List<double> _pna = new(capacity);

    public void Add(long t0, Stamps s)
    {
        _total.Add(Ms(t0, s.AtEnd));
        if (s.AtSink != 0)
        {
            _bridge.Add(Ms(t0, s.AtSink));
            _pna.Add(Ms(s.AtSink, s.AtEnd));
        }
    }

    public void Report()
    {
        if (_total.Count == 0)
        {
            return;
        }
        Console.WriteLine($"  {what}: {Figures(_total)}");
        if (_bridge.Count > 0)
        {
            Console.WriteLine($"    server write -> bridge's sink: {Figures(_bridge)}");
            Console.WriteLine($"    sink -> PNA transport:         {Figures(_pna)}");
        }
    }

    private static double Ms(long from, long to) => (to - from) * 1000.0 / Stopwatch.Frequency;

    private static string Figures(List<double> samples)
    {
        var ms = samples.Order().ToArray();
        double P(double q) => ms[Math.Min(ms.Length - 1, (int)Math.Ceiling(q * ms.Length) - 1)];
        return string.Create(CultureInfo.InvariantCulture,
            $"n={ms.Length} p50={P(0.5):F3} ms p90={P(0.9):F3} ms p99={P(0.99):F3} ms p999={P(0.999):F3} ms max={ms[^1]:F3} ms");
    }
}

internal sealed class AllowAll : IAuthorizationPolicy
{
    public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AuthorizationDecision.Allow("bench"));
}
