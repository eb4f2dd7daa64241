using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.DependencyInjection;

// Load on the PNA's SIP notifier: an in-process PNA (temporary data directory, notifier on UDP
// loopback), N subscriptions made by real SUBSCRIBEs from a sink in a child process that answers
// every NOTIFY with 200 OK, events injected at a steady rate through IEventIngest. Prints
// NOTIFYs/s, PNA CPU µs per NOTIFY, out-of-order and stale-final counts, memory per subscription.
// Usage: SipNotifyLoad [--subs 2000] [--accounts 1|N] [--rate 20000] [--duration 10] [--warmup 15] [--alloc-types]
//        (the child runs as: SipNotifyLoad --sink <pna-port> <subs> <accounts>)

if (args.Length > 0 && args[0] == "--sink")
{
    return await Sink.RunAsync(int.Parse(args[1], CultureInfo.InvariantCulture), int.Parse(args[2], CultureInfo.InvariantCulture), int.Parse(args[3], CultureInfo.InvariantCulture));
}

var subs = Arg("--subs", 2000);
var accounts = Arg("--accounts", 1);
var rate = Arg("--rate", 20000);
var duration = TimeSpan.FromSeconds(Arg("--duration", 10));
var warmup = TimeSpan.FromSeconds(Arg("--warmup", 15));
var dir = Path.Combine(Path.GetTempPath(), "sipnotifyload-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
var messages = new uint[accounts];
long nextId = 0;
var cursor = 0;
IEventIngest? ingest = null;
SipNotifier? notifier = null;
try
{
    var app = PnaApplication.Build(
        [
            "--urls=http://127.0.0.1:0",
            $"--Pna:DataDirectory={dir}",
            "--Logging:LogLevel:Default=Warning",
            "--Logging:LogLevel:Aggregators.Pna.Subscriptions=" + (Environment.GetEnvironmentVariable("SIPLOAD_LOG") ?? "Warning"),
            "--Pna:Ingest:QueueCapacity=65536",
            "--Pna:Sip:Enabled=true",
            "--Pna:Sip:Udp:0=127.0.0.1:0",
            "--Pna:Sip:Domains:0=example.com",
            "--Pna:Sip:RejectUnknownAccounts=false",
            "--Pna:Sip:Authentication:Enabled=false",
        ],
        s => s.AddSingleton<IAuthorizationPolicy, AllowAll>());
    await app.StartAsync();
    notifier = app.Services.GetRequiredService<SipNotifier>();
    ingest = app.Services.GetRequiredService<IEventIngest>();
    var manager = app.Services.GetRequiredService<SubscriptionManager>();
    var port = app.Services.GetRequiredService<SipNotifierService>().Transports.Single(t => t.Protocol == SipTransportProtocol.Udp).LocalEndPoint.Port;

    // One event per account first, so every subscription starts from known totals.
    await Inject(Enumerable.Range(0, accounts).ToArray());

    var memoryBefore = GC.GetTotalMemory(forceFullCollection: true);
    var sinkInfo = Aggregators.Bench.SelfProcess.StartInfo("--sink", port.ToString(CultureInfo.InvariantCulture), subs.ToString(CultureInfo.InvariantCulture), accounts.ToString(CultureInfo.InvariantCulture));
    sinkInfo.RedirectStandardInput = true;
    sinkInfo.RedirectStandardOutput = true;
    using var sink = Process.Start(sinkInfo)!;
    var ready = await sink.StandardOutput.ReadLineAsync();
    if (ready != "READY" || manager.Count != subs)
    {
        await Task.Delay(2000);
        Console.Error.WriteLine($"sink not ready: '{ready}', {manager.Count} subscriptions, {notifier.DialogCount} dialogs (2 s later)");
        return 1;
    }
    var memoryAfter = GC.GetTotalMemory(forceFullCollection: true);
    Console.WriteLine($"SipNotifyLoad: {subs} subscriptions over {accounts} account(s), {rate} events/s for {duration.TotalSeconds:0} s after {warmup.TotalSeconds:0} s of warm-up");

    // Warm-up (not measured): the same load first, so JIT tiering and thread-pool growth are not
    // counted as the cost of a NOTIFY; then drained until idle.
    if (warmup > TimeSpan.Zero)
    {
        await RunLoad(warmup);
        await Drain();
    }

    // Measured window: steady injection.
    var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
    var kernel0 = Process.GetCurrentProcess().PrivilegedProcessorTime;
    var allocated0 = GC.GetTotalAllocatedBytes(precise: true);
    using var allocationSampler = args.Contains("--alloc-types") ? new AllocationSampler() : null;
    // Exceptions thrown in the window (first chance, caught or not): none belong on a hot path.
    var thrown = new System.Collections.Concurrent.ConcurrentDictionary<string, int>();
    var counting = true;
    AppDomain.CurrentDomain.FirstChanceException += (_, e) =>
    {
        if (Volatile.Read(ref counting)) thrown.AddOrUpdate($"{e.Exception.GetType().Name} in {e.Exception.TargetSite?.DeclaringType?.Name}.{e.Exception.TargetSite?.Name}", 1, (_, n) => n + 1);
    };
    var sent0 = notifier.NotifiesSent;
    var clock = Stopwatch.StartNew();
    var injected = await RunLoad(duration);
    var elapsed = clock.Elapsed;
    await Drain();
    Console.WriteLine($"drained              {notifier.BusyDialogs} dialogs still busy");
    var cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu0;
    var kernel = Process.GetCurrentProcess().PrivilegedProcessorTime - kernel0;
    var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocated0;
    var notifies = notifier.NotifiesSent - sent0;
    Volatile.Write(ref counting, false);

    // The final truth per account, for the sink's stale-final check.
    var state = app.Services.GetRequiredService<MailboxStateStore>();
    for (var a = 0; a < accounts; a++)
    {
        var t = state.Get(AccountId.Parse(Account(a)), MailboxPath.Inbox)!.Totals!.Value;
        await sink.StandardInput.WriteLineAsync($"FINAL {a} {t.Messages} {t.Unseen}");
    }
    await sink.StandardInput.WriteLineAsync("DONE");
    var report = await sink.StandardOutput.ReadLineAsync();
    await sink.WaitForExitAsync();

    Console.WriteLine($"events injected      {injected} in {elapsed.TotalSeconds:0.0} s ({injected / elapsed.TotalSeconds:0}/s)");
    Console.WriteLine($"NOTIFYs sent         {notifies} ({notifies / (elapsed.TotalSeconds + 1):0}/s incl. the drain)");
    Console.WriteLine($"PNA CPU per NOTIFY   {cpu.TotalMicroseconds / Math.Max(1, notifies):0.0} µs (process CPU {cpu.TotalSeconds:0.00} s, ingest and dispatch included; in the kernel {kernel.TotalMicroseconds / Math.Max(1, notifies):0.0} µs)");
    Console.WriteLine($"allocated per NOTIFY {allocated / (double)Math.Max(1, notifies):0} bytes (managed, whole process over the window and drain; load-independent)");
    // Per event too: with --subs 0 this is the PNA's cost of an event nobody subscribed to (ingest,
    // state, matching, persistence), the part of a 1000-account run's figure that is not SIP.
    Console.WriteLine($"PNA CPU per event    {cpu.TotalMicroseconds / Math.Max(1, injected):0.0} µs, allocated {allocated / (double)Math.Max(1, injected):0} bytes");
    if (subs > 0)
    {
        Console.WriteLine($"memory per sub       {(memoryAfter - memoryBefore) / (double)subs:0} bytes (managed heap delta)");
    }
    Console.WriteLine($"sink                 {report}");
    Console.WriteLine($"exceptions thrown    {thrown.Values.Sum()} in the window{string.Concat(thrown.OrderByDescending(kv => kv.Value).Take(5).Select(kv => $"; {kv.Value} {kv.Key}"))}");
    allocationSampler?.Print(notifies);
    await app.StopAsync();
    return 0;
}
finally
{
    try
    {
        Directory.Delete(dir, recursive: true);
    }
    catch (IOException)
    {
    }
}

// Steady injection at --rate for the given time (ticks of at least 1 ms, as events fall due); returns the events injected.
async Task<long> RunLoad(TimeSpan length)
{
    var clock = Stopwatch.StartNew();
    long injected = 0;
    var batch = new List<int>();
    while (clock.Elapsed < length)
    {
        var due = (long)(clock.Elapsed.TotalSeconds * rate);
        batch.Clear();
        while (injected < due && batch.Count < 5000)
        {
            batch.Add(cursor);
            cursor = (cursor + 1) % accounts;
            injected++;
        }
        if (batch.Count > 0)
        {
            await Inject([.. batch]);
        }
        else
        {
            // Until the next event is due (at least 1 ms): at low rates the PNA process is not woken
            // 1000 times a second for nothing (that idle cost would be counted per NOTIFY).
            var wait = rate > 0 ? TimeSpan.FromSeconds((injected + 1) / (double)rate) - clock.Elapsed : TimeSpan.FromMilliseconds(100);
            await Task.Delay(wait > TimeSpan.FromMilliseconds(1) ? wait : TimeSpan.FromMilliseconds(1));
        }
    }
    return injected;
}

// Until every event is dispatched and no dialog has a NOTIFY in flight or waiting
// (retransmissions can hold a transaction for seconds when the sink lags), bounded.
async Task Drain()
{
    var drainUntil = DateTime.UtcNow.AddSeconds(60);
    long last;
    do
    {
        last = notifier!.NotifiesSent;
        await Task.Delay(500);
    }
    while ((notifier.NotifiesSent != last || notifier.BusyDialogs > 0) && DateTime.UtcNow < drainUntil);
}

async Task Inject(int[] which)
{
    var events = new MailEvent[which.Length];
    for (var i = 0; i < which.Length; i++)
    {
        var a = which[i];
        var m = ++messages[a];
        events[i] = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = AccountId.Parse(Account(a)),
            Mailbox = MailboxPath.Inbox,
            Id = "e" + (++nextId).ToString(CultureInfo.InvariantCulture),
            Uidset = m.ToString(CultureInfo.InvariantCulture),
            Totals = new MailboxTotals(m, m, m + 1, 1),
        };
    }
    var r = await ingest!.SubmitAsync(events, "bench", CancellationToken.None);
    if (r.Status != IngestStatus.Accepted)
    {
        throw new InvalidOperationException("ingest: " + r.Status);
    }
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static string Account(int a) => $"user{a}@example.com";

internal sealed class AllowAll : IAuthorizationPolicy
{
    public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AuthorizationDecision.Allow("bench"));
}
