namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// A transport that owns subscriptions and delivers notifications for them (the SIP notifier,
/// the XMPP pubsub service, test sinks). The PNA's dispatcher calls <see cref="Deliver"/> on its
/// own thread: it must not block. A transport queues (and may coalesce, keeping the latest
/// state) and applies its own back-pressure.
/// </summary>
public interface INotificationTransport
{
    /// <summary>Stable name, persisted with each subscription ("sip", "xmpp", ...).</summary>
    string Name { get; }

    /// <summary>Hand one notification to the transport. Never blocks, never throws for delivery failures.</summary>
    void Deliver(in Notification notification);
}
