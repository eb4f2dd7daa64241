using Aggregators.EventModel;

namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// One subscriber's interest in an account or mailbox, owned by the transport that delivers it
/// (SIP dialog, XMPP pubsub subscription, ...). The registry indexes it; the transport keeps its
/// own protocol state in <see cref="TransportState"/> so a restart can resume it.
/// </summary>
public sealed class Subscription
{
    public Subscription(long id, string subscriber, SubscriptionFilter filter, INotificationTransport transport)
    {
        ArgumentNullException.ThrowIfNull(subscriber);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(transport);
        Id = id;
        Subscriber = subscriber;
        Filter = filter;
        Transport = transport;
    }

    /// <summary>Store-assigned identity, stable across restarts.</summary>
    public long Id { get; }

    /// <summary>The subscriber's identity as a URI (<c>sip:romeo@example.net</c>, <c>xmpp:romeo@example.net</c>).</summary>
    public string Subscriber { get; }

    public SubscriptionFilter Filter { get; }

    public INotificationTransport Transport { get; }

    /// <summary>Opaque transport state persisted with the subscription (e.g. a SIP dialog as JSON).</summary>
    public string? TransportState { get; set; }

    /// <summary>When the subscription ends unless refreshed; null for no expiry.</summary>
    public DateTimeOffset? Expires { get; set; }

    /// <summary>Sequence number of the last notification handed to the transport.</summary>
    public long Sequence;

    /// <summary>
    /// When the last notification was handed to the transport, as a
    /// <see cref="TimeProvider.GetTimestamp"/> value of the PNA's <see cref="TimeProvider"/>
    /// (0 = never). The dispatcher sets it (with <see cref="Volatile.Write(ref long, long)"/>) on
    /// every notification, heartbeats included; the heartbeat scheduler reads it to re-arm, so a
    /// subscription that is notified often is never heartbeated.
    /// </summary>
    public long LastNotifiedTicks;

    /// <summary>The heartbeat scheduler's timer for this subscription; owned by it.</summary>
    internal object? HeartbeatSlot;

    public override string ToString() => $"#{Id} {Subscriber} -> {Filter} via {Transport.Name}";
}
