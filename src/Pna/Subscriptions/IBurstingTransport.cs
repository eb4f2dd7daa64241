namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// A transport that sends more cheaply in bursts (the SIP notifier's UDP NOTIFYs leave with one
/// <c>sendmmsg</c> per burst instead of one <c>sendto</c> each). The dispatcher calls
/// <see cref="BeginBurst"/> before its first delivery to the transport in one event batch or
/// control item, and <see cref="EndBurst"/> after the last: deliveries in between may be held back
/// and leave by <see cref="EndBurst"/> at the latest. Both are called by the dispatcher, never at
/// the same time as <see cref="INotificationTransport.Deliver"/>; a delivery outside a burst is sent
/// as usual.
/// </summary>
public interface IBurstingTransport
{
    void BeginBurst();

    void EndBurst();
}
