using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Integration.Tests.Cna.Sip;

/// <summary>
/// A raw SIP user agent made of src/Sip (UDP transport, transaction layer, <see cref="SipSubscriber"/>)
/// that holds any number of subscriptions to a CNA, each answering the CNA's digest challenge.
/// </summary>
public sealed class RawSubscriberUa : IAsyncDisposable
{
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateUnbounded<SipReceivedMessage>();
    private readonly SipUdpTransport _transport;
    private readonly SipTransactionLayer _transactions = new(new SipTimerSettings { T1 = TimeSpan.FromMilliseconds(100) });
    private readonly SipSubscriber _subscriber;
    private readonly Task _loop;

    public RawSubscriberUa()
    {
        _transport = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _inbox.Writer);
        _subscriber = new SipSubscriber(_transactions);
        _loop = Task.Run(async () =>
        {
            await foreach (var m in _inbox.Reader.ReadAllAsync())
            {
                if (m.Message is SipResponse)
                {
                    _transactions.Dispatch(m);
                }
                else if (_transactions.Dispatch(m) is { } tx && !_subscriber.HandleNotify(tx))
                {
                    await tx.SendResponseAsync(SipResponse.CreateFor(tx.Request, 405));
                }
            }
        });
    }

    /// <summary>Subscribes <paramref name="user"/>@example.net to <paramref name="resource"/> through the CNA.</summary>
    public Watch Subscribe(IPEndPoint cna, string user, string password, string resource = "sip:juliet@example.com", string package = "message-summary", string? filter = null)
    {
        var watch = new Watch();
        watch.Subscription = _subscriber.Subscribe(new SipSubscriptionOptions
        {
            RequestUri = SipUri.Parse(resource),
            From = SipNameAddress.Parse($"<sip:{user}@example.net>"),
            Event = package,
            Accept = package == MessageSummary.EventPackage ? MessageSummary.MediaType : MailEventNotifyBody.MediaType,
            ContentType = filter is null ? null : MailEventFilterBody.MediaType,
            Body = filter is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(filter),
            Expires = 600,
            Transport = _transport,
            Destination = cna,
            Credentials = new DigestClient(user, password),
            OnNotify = (_, n) => watch.Notifies.Enqueue(n),
            OnEnded = (_, e) => watch.End = e,
        });
        return watch;
    }

    public async ValueTask DisposeAsync()
    {
        await _transport.DisposeAsync();
        _inbox.Writer.TryComplete();
        await _loop;
    }

    /// <summary>One subscription's NOTIFYs, in order.</summary>
    public sealed class Watch
    {
        public SipSubscription Subscription { get; set; } = null!;
        public ConcurrentQueue<SipNotification> Notifies { get; } = new();
        public SipSubscriptionEnd? End { get; set; }

        public SipNotification? Last => Notifies.LastOrDefault();

        /// <summary>The latest message-summary body, parsed; null before one arrived.</summary>
        public MessageSummary? Summary =>
            Last is { Body.IsEmpty: false } n && MessageSummary.TryParse(Encoding.UTF8.GetString(n.Body.Span), out var s, out _) ? s : null;

        public string LastText => Last is { } n ? Encoding.UTF8.GetString(n.Body.Span) : "";
    }
}
