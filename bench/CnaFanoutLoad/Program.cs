using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Aggregators.Cna.Hosting;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.DependencyInjection;

// Load on the CNA's SIP fan-out: a PNA (in process) for example.com, the CNA for example.net in a
// child process (so its CPU is measured alone), N local message-summary subscribers to one
// mailbox in this process (src/Sip UAs answering every NOTIFY). Events are ingested at a steady
// rate; the PNA sends NOTIFYs to the CNA's one upstream subscription, the CNA fans each out.
// Prints local NOTIFYs/s, CNA CPU µs per local NOTIFY, and the time from a PNA restart to every
// local subscriber holding the post-restart counts.
// Usage: CnaFanoutLoad [--subs 500] [--rate 200] [--duration 10] [--heartbeat 2]
//        (the child runs as: CnaFanoutLoad --cna <sip-port> <http-port> <pna-port> <users-file> <heartbeat>)

if (args.Length > 0 && args[0] == "--cna")
{
    var cna = CnaApplication.Build(
    [
        $"--urls=http://127.0.0.1:{args[2]}",
        "--Logging:LogLevel:Default=Warning",
        "--Cna:Sip:Enabled=true",
        $"--Cna:Sip:Udp:0=127.0.0.1:{args[1]}",
        "--Cna:Sip:Domains:0=example.net",
        $"--Cna:Sip:UsersFile={args[4]}",
        "--Cna:Sip:DigestAlgorithms:0=MD5",
        $"--Cna:Sip:HeartbeatSeconds={args[5]}",
        "--Cna:Sip:TimerT1Milliseconds=100",
        "--Cna:Sip:RetryBaseDelaySeconds=0.2",
        "--Cna:Sip:RetryMaxDelaySeconds=1",
        $"--Cna:Sip:Routes:example.com:Target=127.0.0.1:{args[3]}",
        "--Cna:Sip:Routes:example.com:Authentication=TrustedPeer",
        "--Cna:Sip:Routes:example.com:PeerUsername=cna",
        "--Cna:Sip:Routes:example.com:PeerPassword=peer-secret",
    ]);
    await cna.StartAsync();
    Console.WriteLine("READY");
    await Console.In.ReadLineAsync(); // the parent closes stdin to stop it
    await cna.StopAsync();
    return 0;
}

var subs = Arg("--subs", 500);
var rate = Arg("--rate", 200);
var duration = TimeSpan.FromSeconds(Arg("--duration", 10));
var heartbeat = Arg("--heartbeat", 2);
var dir = Path.Combine(Path.GetTempPath(), "cnafanoutload-" + Guid.NewGuid().ToString("N")[..8]);
Directory.CreateDirectory(dir);
var pnaPort = FreeUdpPort();
var cnaPort = FreeUdpPort();
var cnaHttp = FreeTcpPort();
File.WriteAllText(Path.Combine(dir, "pna-users"), "juliet:secret\n");
var usersFile = Path.Combine(dir, "cna-users");
File.WriteAllLines(usersFile, Enumerable.Range(0, subs).Select(i => $"user u{i} password=pw"));
string[] pnaArgs =
[
    "--urls=http://127.0.0.1:0",
    $"--Pna:DataDirectory={Path.Combine(dir, "pna")}",
    "--Logging:LogLevel:Default=Warning",
    "--Pna:Ingest:Sources:0:Name=bench",
    "--Pna:Ingest:Sources:0:Token=bench-token-0123456789abcdef",
    "--Pna:Sip:Enabled=true",
    $"--Pna:Sip:Udp:0=127.0.0.1:{pnaPort}",
    "--Pna:Sip:Domains:0=example.com",
    "--Pna:Sip:Authentication:Realm=example.com",
    $"--Pna:Sip:Authentication:CredentialsFile={Path.Combine(dir, "pna-users")}",
    "--Pna:Sip:MinExpiresSeconds=1",
    "--Pna:Heartbeats:Min=00:00:01",
    "--Pna:Sip:TrustedPeers:0:Username=cna",
    "--Pna:Sip:TrustedPeers:0:Password=peer-secret",
    "--Pna:Sip:TrustedPeers:0:Domains:0=example.net",
    "--Pna:Authorization:Grants:0:Subscriber=sip:cna@example.net",
    "--Pna:Authorization:Grants:0:Account=juliet@example.com",
];
var pna = PnaApplication.Build(pnaArgs);
await pna.StartAsync();
uint messages = 0;
await Ingest(pna);

var childInfo = Aggregators.Bench.SelfProcess.StartInfo("--cna", cnaPort.ToString(CultureInfo.InvariantCulture), cnaHttp.ToString(CultureInfo.InvariantCulture), pnaPort.ToString(CultureInfo.InvariantCulture), usersFile, heartbeat.ToString(CultureInfo.InvariantCulture));
childInfo.RedirectStandardInput = true;
childInfo.RedirectStandardOutput = true;
using var child = Process.Start(childInfo)!;
if (await child.StandardOutput.ReadLineAsync() != "READY")
{
    Console.Error.WriteLine("the CNA did not start");
    return 1;
}
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{cnaHttp}") };
var cnaEndPoint = new IPEndPoint(IPAddress.Loopback, cnaPort);
await using var local = new Local(subs, cnaEndPoint);
if (!await WaitAsync(() => local.AllAt(messages), TimeSpan.FromSeconds(60)))
{
    Console.Error.WriteLine($"only {local.CountAt(messages)} of {subs} local subscribers got the initial counts");
    return 1;
}
Console.WriteLine($"CnaFanoutLoad: {subs} local subscribers of one mailbox, {rate} events/s for {duration.TotalSeconds:0} s, heartbeat {heartbeat} s");
Console.WriteLine($"upstream             {await Metric("cna_sip_upstream_subscriptions")} subscription(s) at the CNA, {await Metric("cna_sip_local_subscriptions")} local");

// Measured window: steady ingest, then wait until every local subscriber has the last counts.
var cpu0 = ChildCpu();
var sent0 = await Metric("cna_sip_notifies_sent_total");
var received0 = local.Received;
var clock = Stopwatch.StartNew();
long injected = 0;
while (clock.Elapsed < duration)
{
    var due = (long)(clock.Elapsed.TotalSeconds * rate);
    if (injected < due)
    {
        await Ingest(pna);
        injected++;
    }
    else
    {
        await Task.Delay(1);
    }
}
var converged = await WaitAsync(() => local.AllAt(messages), TimeSpan.FromSeconds(60));
var elapsed = clock.Elapsed;
var cpu = ChildCpu() - cpu0;
var sent = await Metric("cna_sip_notifies_sent_total") - sent0;
var received = local.Received - received0;
Console.WriteLine($"events ingested      {injected} ({injected / duration.TotalSeconds:0}/s); all subscribers at the last counts: {converged} after {elapsed.TotalSeconds:0.0} s");
Console.WriteLine($"local NOTIFYs        {sent} sent by the CNA, {received} received ({sent / elapsed.TotalSeconds:0}/s)");
Console.WriteLine($"CNA CPU per NOTIFY   {cpu.TotalMicroseconds / Math.Max(1, sent):0.0} µs (CNA process CPU {cpu.TotalSeconds:0.00} s, upstream NOTIFYs and refreshes included)");

// PNA restart: stop, wait until the CNA has noticed (stale), start again, one new event; time until every local subscriber has it.
await pna.StopAsync();
await pna.DisposeAsync();
var staleSeen = await WaitAsync(async () => await Metric("cna_sip_upstream_stale") >= 1, TimeSpan.FromSeconds(heartbeat * 4 + 10));
var restart = Stopwatch.StartNew();
pna = PnaApplication.Build(pnaArgs);
await pna.StartAsync();
await Ingest(pna);
var fresh = await WaitAsync(() => local.AllAt(messages), TimeSpan.FromSeconds(120));
Console.WriteLine($"PNA restart          stale seen at the CNA: {staleSeen}; all {subs} local subscribers at the post-restart counts {(fresh ? "after " + restart.Elapsed.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture) + " s" : "NOT within 120 s")} (from the PNA's start; T1 100 ms, retry 0.2-1 s)");
Console.WriteLine($"re-subscriptions     {await Metric("cna_sip_upstream_resubscribes_total")}");

child.StandardInput.Close();
await child.WaitForExitAsync();
await pna.StopAsync();
try
{
    Directory.Delete(dir, recursive: true);
}
catch (IOException)
{
}
return 0;

TimeSpan ChildCpu()
{
    child.Refresh();
    return child.TotalProcessorTime;
}

async Task<double> Metric(string name)
{
    var text = await http.GetStringAsync(new Uri("/metrics", UriKind.Relative));
    var line = text.Split('\n').First(l => l.StartsWith(name + " ", StringComparison.Ordinal));
    return double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
}

async Task Ingest(Microsoft.AspNetCore.Builder.WebApplication app)
{
    messages++;
    var e = new MailEvent
    {
        Type = MailEventType.MessageNew,
        Account = AccountId.Parse("juliet@example.com"),
        Mailbox = MailboxPath.Inbox,
        Id = Guid.NewGuid().ToString("N"),
        Totals = new MailboxTotals(messages, messages, messages + 1, 7),
        Uidset = messages.ToString(CultureInfo.InvariantCulture),
    };
    await app.Services.GetRequiredService<IEventIngest>().SubmitAsync([e], "bench", CancellationToken.None);
}

static async Task<bool> WaitAsync(Func<ValueTask<bool>> condition, TimeSpan timeout)
{
    var deadline = DateTime.UtcNow + timeout;
    while (!await condition())
    {
        if (DateTime.UtcNow > deadline)
        {
            return false;
        }
        await Task.Delay(10);
    }
    return true;
}

int Arg(string name, int fallback)
{
    var i = Array.IndexOf(args, name);
    return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
}

static int FreeUdpPort()
{
    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)s.LocalEndPoint!).Port;
}

static int FreeTcpPort()
{
    using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
    s.Bind(new IPEndPoint(IPAddress.Loopback, 0));
    return ((IPEndPoint)s.LocalEndPoint!).Port;
}

/// <summary>The local subscribers: src/Sip UAs on a few UDP sockets, each subscription's latest "new" count kept.</summary>
internal sealed class Local : IAsyncDisposable
{
    private const int PerSocket = 100;
    private readonly List<(SipUdpTransport Transport, Channel<SipReceivedMessage> Inbox, Task Loop)> _sockets = [];
    private readonly long[] _latest;
    private long _received;

    public Local(int count, IPEndPoint cna)
    {
        _latest = new long[count];
        SipSubscriber? subscriber = null;
        SipUdpTransport? transport = null;
        for (var i = 0; i < count; i++)
        {
            if (i % PerSocket == 0)
            {
                var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
                transport = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, inbox.Writer);
                var transactions = new SipTransactionLayer(new SipTimerSettings { T1 = TimeSpan.FromMilliseconds(100) });
                var s = new SipSubscriber(transactions);
                subscriber = s;
                var loop = Task.Run(async () =>
                {
                    await foreach (var m in inbox.Reader.ReadAllAsync())
                    {
                        if (transactions.Dispatch(m) is { } tx)
                        {
                            s.HandleNotify(tx);
                        }
                    }
                });
                _sockets.Add((transport, inbox, loop));
            }
            var index = i;
            subscriber!.Subscribe(new SipSubscriptionOptions
            {
                RequestUri = SipUri.Parse("sip:juliet@example.com"),
                From = SipNameAddress.Parse($"<sip:u{i}@example.net>"),
                Event = MessageSummary.EventPackage,
                Accept = MessageSummary.MediaType,
                Expires = 3600,
                Transport = transport!,
                Destination = cna,
                Credentials = new DigestClient($"u{i}", "pw"),
                OnNotify = (s, n) =>
                {
                    Interlocked.Increment(ref _received);
                    if (MessageSummary.TryParse(Encoding.UTF8.GetString(n.Body.Span), out var summary, out _) && summary!.Lines.Count > 0)
                    {
                        Volatile.Write(ref _latest[index], summary.Lines[0].New);
                    }
                },
            });
        }
    }

    public long Received => Interlocked.Read(ref _received);

    public int CountAt(uint messages) => _latest.Count(v => v == messages);

    public ValueTask<bool> AllAt(uint messages)
    {
        for (var i = 0; i < _latest.Length; i++)
        {
            if (Volatile.Read(ref _latest[i]) != messages)
            {
                return ValueTask.FromResult(false);
            }
        }
        return ValueTask.FromResult(true);
    }


    public async ValueTask DisposeAsync()
    {
        foreach (var (transport, inbox, loop) in _sockets)
        {
            await transport.DisposeAsync();
            inbox.Writer.TryComplete();
            await loop;
        }
    }
}
