using System.Buffers;
using System.Net;
using System.Net.Sockets;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Benchmarks;

/// <summary>
/// The notifier's per-NOTIFY path on one thread, without sockets: a state handed to
/// <see cref="SipNotifier.Deliver"/> → NOTIFY written to bytes from the dialog's parts into its
/// transaction slot (timers E/F on the shared queue) → handed to a fake datagram transport, then the
/// 200 OK bytes → <see cref="SipNotifier.TryReceiveResponse"/> (head read, slot match by branch) →
/// the transaction completes and the dialog is idle again. One operation = one NOTIFY and its 200;
/// the allocation column is the managed bytes per NOTIFY.
/// </summary>
[MemoryDiagnoser]
public class SipNotifyPathBenchmarks
{
    private readonly Udp _transport = new();
    private SipNotifier _notifier = null!;
    private Subscription _subscription = null!;
    private long _sequence = 1;
    private uint _messages = 10;

    [Params("message-summary", "mail-event")]
    public string Package { get; set; } = "message-summary";

    [GlobalSetup]
    public void Setup()
    {
        var options = new SipNotifierOptions { Enabled = true, RejectUnknownAccounts = false, Domains = { "example.com" } };
        options.Authentication.Enabled = false;
        var host = new Host();
        _notifier = new SipNotifier(options, host, SipCredentials.Empty, TimeProvider.System, NullLogger<SipNotifier>.Instance);
        _notifier.AddTransport(_transport);
        var subscribe = (SipRequest)SipMessageParser.Parse(
            "SUBSCRIBE sip:juliet@example.com SIP/2.0\r\n" +
            $"Via: SIP/2.0/UDP 127.0.0.1:5070;branch={SipTransactionKey.NewBranch()};rport\r\n" +
            "Max-Forwards: 70\r\n" +
            "From: <sip:juliet@example.com>;tag=ft1234\r\n" +
            "To: <sip:juliet@example.com>\r\n" +
            "Call-ID: bench-call-id@127.0.0.1\r\n" +
            "CSeq: 1 SUBSCRIBE\r\n" +
            "Contact: <sip:juliet@127.0.0.1:5070>\r\n" +
            $"Event: {Package}\r\n" +
            "Expires: 3600\r\n" +
            "Content-Length: 0\r\n\r\n");
        _notifier.Receive(new SipReceivedMessage(subscribe, _transport, new IPEndPoint(IPAddress.Loopback, 5070)));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while ((host.Subscription is null || _notifier.BusyDialogs > 0 || _transport.Pending200 is null) && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(1);
        }
        _subscription = host.Subscription ?? throw new InvalidOperationException("the SUBSCRIBE was not accepted");
        Answer(); // the initial NOTIFY
        if (_notifier.BusyDialogs != 0) throw new InvalidOperationException("the initial NOTIFY did not complete");
    }

    [Benchmark]
    public int NotifyAnd200()
    {
        _messages++;
        _notifier.Deliver(new Notification(_subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(_messages, 2, _messages + 1, 1), ++_sequence));
        return Answer();
    }

    private int Answer()
    {
        var n = _transport.Pending200 ?? throw new InvalidOperationException("no NOTIFY was sent");
        _transport.Pending200 = null;
        if (!_notifier.TryReceiveResponse(_transport.Response.AsSpan(0, n))) throw new InvalidOperationException("the 200 was not matched");
        return n;
    }

    /// <summary>UDP as far as the notifier sees it: writes each message as the real transport does and prepares the 200 a UA would send.</summary>
    private sealed class Udp : ISipDatagramTransport
    {
        private readonly ArrayBufferWriter<byte> _wire = new(2048);

        public byte[] Response { get; } = new byte[1024];
        public int? Pending200 { get; set; }
        public SipTransportProtocol Protocol => SipTransportProtocol.Udp;
        public bool IsReliable => false;
        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5060);

        public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
        {
            _wire.ResetWrittenCount();
            SipMessageWriter.Write(message, _wire);
            if (message is SipRequest)
            {
                Pending200 = Make200(_wire.WrittenSpan, Response);
            }
            return ValueTask.CompletedTask;
        }

        /// <summary>The notifier's UDP path: NOTIFYs arrive as bytes (the SUBSCRIBE's 200 through <see cref="SendAsync"/>).</summary>
        public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote) => Pending200 = Make200(datagram, Response);

        // 200 OK with the NOTIFY's Via, From, To, Call-ID and CSeq lines copied (RFC 3261 §8.2.6.2).
        private static int Make200(ReadOnlySpan<byte> request, Span<byte> output)
        {
            var n = 0;
            Append("SIP/2.0 200 OK\r\n"u8, output, ref n);
            var rest = request[(request.IndexOf("\r\n"u8) + 2)..];
            while (rest.Length > 2)
            {
                var eol = rest.IndexOf("\r\n"u8) + 2;
                var line = rest[..eol];
                if (line.StartsWith("Via:"u8) || line.StartsWith("From:"u8) || line.StartsWith("To:"u8) || line.StartsWith("Call-ID:"u8) || line.StartsWith("CSeq:"u8))
                {
                    Append(line, output, ref n);
                }
                rest = rest[eol..];
            }
            Append("Content-Length: 0\r\n\r\n"u8, output, ref n);
            return n;
        }

        private static void Append(ReadOnlySpan<byte> bytes, Span<byte> output, ref int n)
        {
            bytes.CopyTo(output[n..]);
            n += bytes.Length;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class Host : ISipSubscriptionHost
    {
        public Subscription? Subscription { get; private set; }

        public ValueTask<SubscribeResult> SubscribeAsync(string subscriber, SubscriptionFilter filter, INotificationTransport transport, string transportState, DateTimeOffset expires, CancellationToken cancellationToken)
        {
            var s = new Subscription(1, subscriber, filter, transport) { TransportState = transportState, Expires = expires };
            transport.Deliver(new Notification(s, NotificationKind.Initial, null, filter.Mailbox, new MailboxTotals(10, 2, 11, 1), 1));
            Subscription = s;
            return ValueTask.FromResult(new SubscribeResult(s, AuthorizationDecision.Allow("bench")));
        }

        public bool Refresh(long id, DateTimeOffset expires) => true;

        public bool UpdateTransportState(long id, string state) => true;

        public bool Unsubscribe(long id, string reason) => true;

        public bool IsKnownAccount(AccountId account) => true;

        public MailboxTotals? CurrentTotals(AccountId account, MailboxPath mailbox) => new MailboxTotals(10, 2, 11, 1);

        public IReadOnlyList<Subscription> Snapshot() => Subscription is { } s ? [s] : [];
    }
}
