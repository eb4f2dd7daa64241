using Aggregators.Pna.Subscriptions;
using Aggregators.Sip.Subscriptions;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>Ending a dialog because the PNA withdrew the subscriber's authorization.</summary>
public sealed partial class SipNotifier : IRevocableTransport
{
    /// <summary>RFC 6665 §4.1.3: "terminated due to change in authorization policy"; the subscriber should not re-subscribe.</summary>
    internal const string RejectedReason = "rejected";

    /// <summary>
    /// A final NOTIFY with <c>Subscription-State: terminated;reason=rejected</c> and a body without
    /// mailbox state (no pending or later state goes out), then the PNA subscription ends when it
    /// is answered (or times out).
    /// </summary>
    public void Revoke(Subscription subscription, string reason)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        if (!_byId.TryGetValue(subscription.Id, out var dialog))
        {
            _host.Unsubscribe(subscription.Id, "SIP rejected: " + reason);
            return;
        }
        NotifyStep<Notification?> step;
        lock (dialog.Gate)
        {
            if (!dialog.Queue.Closing)
            {
                dialog.ExpiryTimer?.Dispose();
            }
            step = dialog.Queue.Revoke(RejectedReason); // no state in the final NOTIFY, even one queued already
        }
        Send(dialog, step);
    }
}
