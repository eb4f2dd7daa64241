using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Operations;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>Where the transport's stanzas go: the component, or a test's recorder.</summary>
internal interface IStanzaSink
{
    /// <summary>Never blocks: false when the stanza could not be queued.</summary>
    bool TrySend(Stanza stanza);

    ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken);

    /// <summary>A stanza already serialised (the notification fan-out); never blocks, false when not queued.</summary>
    bool TrySendSerialized(ReadOnlySpan<byte> utf8Stanza);
}

/// <summary>
/// The PNA's XMPP transport ("xmpp"): an XEP-0114 component that is an XEP-0060 publish-subscribe
/// service per account (<c>juliet@events.example.com</c> for <c>juliet@example.com</c>), with
/// nodes <c>mail_events</c> and <c>mail_events/&lt;mailbox&gt;</c> (see docs/xmpp.md). Requests are
/// handled in XmppPubsubTransport.Requests.cs; this part runs the component, delivers
/// notifications and handles notifications that bounce.
/// </summary>
public sealed partial class XmppPubsubTransport : INotificationTransport, IHostedService, IAsyncDisposable, IReadinessCheck
{
    public const string TransportName = "xmpp";

    private readonly XmppPubsubOptions _options;
    private readonly IServiceProvider _services;
    private readonly MailboxStateStore _state;
    private readonly IAuthorizationPolicy _authorization;
    private readonly ILogger<XmppPubsubTransport> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _bounced;
    private readonly ConcurrentDictionary<long, XmppSubscriptionTarget> _targets = new();
    private readonly ConcurrentDictionary<long, SequenceWindow> _windows = new();
    private readonly Lock _indexLock = new();
    private readonly Dictionary<(Jid Subscriber, Jid Service, string Node), long> _byKey = [];
    private XmppComponent? _component;
    private readonly NotificationEncoder _encoder;
    private string? _holdingInitialFor;
    private byte[]? _heldInitial;

    public XmppPubsubTransport(
        IOptions<XmppPubsubOptions> options,
        IServiceProvider services,
        MailboxStateStore state,
        IAuthorizationPolicy authorization,
        PnaMetrics metrics,
        ILoggerFactory loggerFactory)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _services = services;
        _state = state;
        _authorization = authorization;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<XmppPubsubTransport>();
        Domain = Jid.Parse(_options.ComponentDomain);
        _encoder = new NotificationEncoder(_options.NormalNotifications);
        _dropped = metrics.Meter.CreateCounter<long>("pna.xmpp.notifications.dropped", "{notification}",
            "XMPP notifications not sent because the component was down or its queue full");
        _bounced = metrics.Meter.CreateCounter<long>("pna.xmpp.notifications.bounced", "{notification}",
            "XMPP notifications returned with a stanza error, by action taken");
        metrics.Meter.CreateObservableGauge("pna.xmpp.component.connected", () => State == ComponentState.Connected ? 1L : 0L,
            "{connection}", "1 while the XMPP component is connected to its server");
    }

    public string Name => TransportName;

    /// <summary>The component domain (the pubsub service's own address).</summary>
    public Jid Domain { get; }

    /// <summary>The component's state (Idle before start).</summary>
    public ComponentState State { get; private set; } = ComponentState.Idle;

    /// <summary>Why the component is in <see cref="State"/>.</summary>
    public string StateReason { get; private set; } = "not started";

    string IReadinessCheck.Name => TransportName;

    /// <summary>/readyz: not ready while the component is not connected (notifications would be dropped).</summary>
    string? IReadinessCheck.NotReadyReason =>
        State == ComponentState.Connected ? null : $"XMPP component {State} ({StateReason})";

    /// <summary>Raised on every component state change.</summary>
    public event EventHandler<ComponentStateChangedEventArgs>? StateChanged;

    /// <summary>The stanza sink; the component once started (tests set their own).</summary>
    internal IStanzaSink? Sink { get; set; }

    private SubscriptionManager Manager => _services.GetRequiredService<SubscriptionManager>();

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // Runs after PnaLifecycle (registered after it): the restored subscriptions are live.
        foreach (var s in Manager.Snapshot())
        {
            if (ReferenceEquals(s.Transport, this))
            {
                TargetOf(s);
            }
        }
        if (Sink is not null)
        {
            return Task.CompletedTask;
        }
        var component = new XmppComponent(_options.ToComponentOptions(), HandleStanzaAsync, _loggerFactory.CreateLogger<XmppComponent>());
        component.StateChanged += OnStateChanged;
        _component = component;
        Sink = new ComponentSink(component);
        component.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_component is { } c)
        {
            await c.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        // The container may dispose it once per registration (transport, hosted service).
        if (Interlocked.Exchange(ref _component, null) is { } c)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void OnStateChanged(object? sender, ComponentStateChangedEventArgs e)
    {
        State = e.State;
        StateReason = e.Reason;
        if (e.State is ComponentState.Disconnected or ComponentState.Stopped)
        {
            LogComponentDown(e.State, e.Reason, e.RetryDelay?.TotalSeconds);
        }
        else
        {
            LogComponentState(e.State, e.Reason);
        }
        StateChanged?.Invoke(this, e);
    }

    /// <summary>
    /// Builds the XEP-0060 §4.3 event notification and queues it without waiting. Dropped (and
    /// counted) when the component is down or its queue is full: the next notification or
    /// heartbeat carries the totals again.
    /// </summary>
    public void Deliver(in Notification notification)
    {
        var subscription = notification.Subscription;
        var target = TargetOf(subscription);
        if (target is null)
        {
            LogNoTarget(subscription.Id);
            return;
        }
        // Before any state write below replaces TransportState (the reference the subscribe handler holds).
        var held = notification.Kind == NotificationKind.Initial && subscription.TransportState is { } state
            && ReferenceEquals(state, Volatile.Read(ref _holdingInitialFor));
        lock (_encoder)
        {
            var window = _windows.GetOrAdd(subscription.Id, static (_, a) => SequenceWindow.Resume(
                XmppSubscriptionTarget.ReservedSequenceOf(a.Subscription.TransportState),
                reservation => a.Manager.UpdateTransportState(a.Subscription.Id, a.Target.ToState(reservation))),
                (Subscription: subscription, Manager, Target: target));
            // A number goes out only once a stored reservation covers it: a restart resumes above
            // it. The next block is stored ahead, off this thread (SequenceWindow).
            if (!window.TryNext(notification.Sequence, out var sequence))
            {
                return; // ended meanwhile
            }
            var stanza = _encoder.Encode(notification, target, sequence);
            if (held)
            {
                // XEP-0060 §6.1.7: the last item follows the subscribe result; the request handler sends it.
                _heldInitial = stanza.ToArray();
                return;
            }
            if (Sink?.TrySendSerialized(stanza) != true)
            {
                _dropped.Add(1);
            }
        }
    }

    /// <summary>
    /// The notification as an XElement tree: what <see cref="NotificationEncoder"/> writes as bytes
    /// (the reference its tests and benchmark compare with).
    /// </summary>
    internal static Message BuildNotification(in Notification n, XmppSubscriptionTarget target, MessageType type = MessageType.Headline)
    {
        var e = n.Event;
        var mailbox = e?.Mailbox ?? n.Mailbox;
        var payload = new XmppMailEventPayload
        {
            Kind = n.Kind switch
            {
                NotificationKind.Event => XmppPayloadKind.Event,
                NotificationKind.Initial => XmppPayloadKind.Initial,
                _ => XmppPayloadKind.Heartbeat,
            },
            Sequence = n.Sequence,
            Account = n.Subscription.Filter.Account,
            Mailbox = mailbox,
            EventType = e?.Type,
            OldMailbox = e?.OldMailbox,
            Totals = n.Totals,
            Timestamp = e?.Timestamp,
            EventId = e?.Id,
            Uidset = e?.Uidset,
        };
        var seq = n.Sequence.ToString(CultureInfo.InvariantCulture);
        var subId = n.Subscription.Id.ToString(CultureInfo.InvariantCulture);
        XNamespace ev = PubsubNamespaces.Event;
        var message = new Message(type, target.Subscriber, target.Service, NotificationId(n.Subscription.Id, n.Sequence));
        message.Element.Add(
            new XElement(ev + "event",
                new XElement(ev + "items", new XAttribute("node", PubsubNodes.NodeOf(mailbox)),
                    new XElement(ev + "item", new XAttribute("id", seq), XmppMailEventCodec.Write(payload)))),
            // XEP-0060 §12.18: which subscription this is for; XEP-0248 §5: the subscribed collection.
            new XElement(XName.Get("headers", "http://jabber.org/protocol/shim"),
                new XElement(XName.Get("header", "http://jabber.org/protocol/shim"), new XAttribute("name", "SubID"), subId),
                new XElement(XName.Get("header", "http://jabber.org/protocol/shim"), new XAttribute("name", "Collection"), target.Node)));
        return message;
    }

    internal static string NotificationId(long subscriptionId, long sequence) =>
        string.Create(CultureInfo.InvariantCulture, $"n-{subscriptionId}-{sequence}");

    private XmppSubscriptionTarget? TargetOf(Subscription subscription)
    {
        if (_targets.TryGetValue(subscription.Id, out var target))
        {
            return target;
        }
        if (!XmppSubscriptionTarget.TryFromState(subscription.TransportState, out target))
        {
            return null;
        }
        // A restored subscription joins the index; one that ended meanwhile (a notification
        // still in flight after an unsubscribe) must not come back into it.
        if (Manager.Get(subscription.Id) is not null)
        {
            Index(subscription.Id, target);
        }
        return target;
    }

    private void Index(long id, XmppSubscriptionTarget target)
    {
        lock (_indexLock)
        {
            _targets[id] = target;
            _byKey[(target.Subscriber, target.Service, target.Node)] = id;
        }
    }

    private void Unindex(long id)
    {
        lock (_indexLock)
        {
            _windows.TryRemove(id, out _);
            if (_targets.TryRemove(id, out var target))
            {
                _byKey.Remove((target.Subscriber, target.Service, target.Node));
            }
        }
    }

    private long? Find(Jid subscriber, Jid service, string node)
    {
        lock (_indexLock)
        {
            return _byKey.TryGetValue((subscriber, service, node), out var id) ? id : null;
        }
    }

    /// <summary>The subscriptions of <paramref name="owner"/> (any resource) at <paramref name="service"/>.</summary>
    private List<(long Id, XmppSubscriptionTarget Target)> SubscriptionsOf(Jid owner, Jid service)
    {
        lock (_indexLock)
        {
            return [.. _targets.Where(p => p.Value.Subscriber.Bare == owner.Bare && p.Value.Service == service)
                .OrderBy(p => p.Key).Select(p => (p.Key, p.Value))];
        }
    }

    /// <summary>
    /// A notification came back as a stanza error (XEP-0060 §7.2 / RFC 6120 §8.3). Types cancel and
    /// auth (service-unavailable, item-not-found, forbidden, ...: the subscriber does not exist or
    /// refuses us) end the subscription, as XEP-0060 §12 ("Handling Notification-Related Errors")
    /// allows; type wait/modify (recipient-unavailable, resource-constraint, ...) keep it: transient.
    /// </summary>
    private void HandleBounce(Message message)
    {
        if (message.Id is not { } id || !TryParseNotificationId(id, out var subscriptionId)
            || !_targets.TryGetValue(subscriptionId, out var target) || message.From is not { } from
            || from.Bare != target.Subscriber.Bare)
        {
            return;
        }
        var error = message.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition);
        if (error.Type is StanzaErrorType.Cancel or StanzaErrorType.Auth)
        {
            _bounced.Add(1, new KeyValuePair<string, object?>("action", "unsubscribed"));
            Unindex(subscriptionId);
            Manager.Unsubscribe(subscriptionId, $"notification bounced with {error} (XEP-0060 §12: subscription removed)");
        }
        else
        {
            _bounced.Add(1, new KeyValuePair<string, object?>("action", "kept"));
            LogBounceKept(subscriptionId, error.ToString());
        }
    }

    private static bool TryParseNotificationId(string id, out long subscriptionId)
    {
        subscriptionId = 0;
        if (!id.StartsWith("n-", StringComparison.Ordinal))
        {
            return false;
        }
        var dash = id.IndexOf('-', 2);
        return dash > 2 && long.TryParse(id.AsSpan(2, dash - 2), NumberStyles.None, CultureInfo.InvariantCulture, out subscriptionId);
    }

    private sealed class ComponentSink(XmppComponent component) : IStanzaSink
    {
        public bool TrySend(Stanza stanza) => component.TrySend(stanza);

        public ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken) => component.SendAsync(stanza, cancellationToken);

        public bool TrySendSerialized(ReadOnlySpan<byte> utf8Stanza) => component.TrySendSerialized(utf8Stanza);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "XMPP component {State}: {Reason}")]
    private partial void LogComponentState(ComponentState state, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "XMPP component {State}: {Reason} (retry in {RetrySeconds} s)")]
    private partial void LogComponentDown(ComponentState state, string reason, double? retrySeconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "XMPP subscription #{Id} has no readable transport state; notification not sent")]
    private partial void LogNoTarget(long id);

    [LoggerMessage(Level = LogLevel.Information, Message = "XMPP notification for subscription #{Id} bounced with {Error}; kept (transient error)")]
    private partial void LogBounceKept(long id, string error);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send an XMPP reply: {Reason}")]
    private partial void LogReplyFailed(string reason);
}
