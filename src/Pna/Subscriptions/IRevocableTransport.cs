namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// A transport that can end one of its subscriptions because the subscriber lost the right to
/// it (a revoked IMAP ACL right): it tells the subscriber in its protocol's words and then ends
/// the subscription at the PNA (<see cref="SubscriptionManager.Unsubscribe"/>). A transport
/// without it is ended by the PNA alone, without telling the subscriber.
/// </summary>
public interface IRevocableTransport
{
    /// <summary>
    /// Ends <paramref name="subscription"/>: no further notification carries mailbox state.
    /// SIP: a final NOTIFY with <c>Subscription-State: terminated;reason=rejected</c> (RFC 6665 §4.1.3:
    /// "the subscription has been terminated due to change in authorization policy"). XMPP: a
    /// subscription-state notification with <c>subscription='none'</c> (XEP-0060 §4.2). Never blocks.
    /// </summary>
    void Revoke(Subscription subscription, string reason);
}
