using System.Buffers;
using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Xml;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>
/// The PNA's XMPP fan-out cost per notification: one MessageNew event built and serialised for
/// N subscribers into a fake connection (a buffer the bytes are copied into, as the stream
/// writer's batch does). "XElement" is the stanza tree + StanzaSerializer (the first version);
/// "bytes" is NotificationEncoder (the event's part encoded once, per-subscriber parts spliced).
/// Figures are per notification (OperationsPerInvoke = N), allocations included.
/// Run: dotnet run -c Release --project bench/Benchmarks -- --filter '*XmppFanout*' --job short
/// </summary>
[MemoryDiagnoser]
public class XmppFanoutBenchmarks
{
    private const int MaxSubscribers = 200;

    private readonly ArrayBufferWriter<byte> _connection = new(1 << 20);
    private readonly NotificationEncoder _encoder = new();
    private Subscription[] _subscriptions = null!;
    private XmppSubscriptionTarget[] _targets = null!;
    private MailEvent _event = null!;
    private long _sequence;

    [Params(10, 50, 200)]
    public int Subscribers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var account = AccountId.Parse("juliet@example.com");
        var inbox = MailboxPath.Parse("INBOX");
        var transport = new NullTransport();
        _subscriptions = [.. Enumerable.Range(0, MaxSubscribers).Select(i =>
            new Subscription(1000 + i, $"xmpp:u{i}@example.net", new SubscriptionFilter { Account = account, Mailbox = inbox }, transport))];
        _targets = [.. Enumerable.Range(0, MaxSubscribers).Select(i =>
            new XmppSubscriptionTarget(Jid.Parse($"u{i}@example.net"), Jid.Parse("juliet@events.example.com"), "mail_events/INBOX"))];
        _event = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = account,
            Mailbox = inbox,
            Totals = new MailboxTotals(1234, 17, 4567, 1700000000),
            Id = "e12345",
            Timestamp = DateTimeOffset.Parse("2026-11-21T21:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            Uidset = "4566",
        };
    }

    [Benchmark(Baseline = true, Description = "XElement + serialiser, per notification", OperationsPerInvoke = MaxSubscribers)]
    public int XElementTree()
    {
        // A new event each time: nothing is shared between invocations.
        var e = _event with { };
        _connection.ResetWrittenCount();
        var seq = ++_sequence;
        for (var r = 0; r < MaxSubscribers / Subscribers; r++)
        {
            for (var i = 0; i < Subscribers; i++)
            {
                var n = new Notification(_subscriptions[i], NotificationKind.Event, e, e.Mailbox, e.Totals, seq);
                var message = XmppPubsubTransport.BuildNotification(n, _targets[i]);
                _connection.Write(StanzaSerializer.ToBytes(message.Element, XmppNamespaces.ComponentAccept));
            }
            e = _event with { };
        }
        return _connection.WrittenCount;
    }

    [Benchmark(Description = "bytes (NotificationEncoder), per notification", OperationsPerInvoke = MaxSubscribers)]
    public int Bytes()
    {
        var e = _event with { };
        _connection.ResetWrittenCount();
        var seq = ++_sequence;
        for (var r = 0; r < MaxSubscribers / Subscribers; r++)
        {
            for (var i = 0; i < Subscribers; i++)
            {
                var n = new Notification(_subscriptions[i], NotificationKind.Event, e, e.Mailbox, e.Totals, seq);
                _connection.Write(_encoder.Encode(n, _targets[i], seq));
            }
            e = _event with { };
        }
        return _connection.WrittenCount;
    }

    private sealed class NullTransport : INotificationTransport
    {
        public string Name => "xmpp";

        public void Deliver(in Notification notification)
        {
        }
    }
}
