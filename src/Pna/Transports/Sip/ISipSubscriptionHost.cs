using Aggregators.EventModel;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>What the SIP notifier needs from the PNA: the subscription life cycle and the current totals.</summary>
public interface ISipSubscriptionHost
{
    ValueTask<SubscribeResult> SubscribeAsync(string subscriber, SubscriptionFilter filter, INotificationTransport transport, string transportState, DateTimeOffset expires, CancellationToken cancellationToken);

    bool Refresh(long id, DateTimeOffset expires);

    bool UpdateTransportState(long id, string state);

    bool Unsubscribe(long id, string reason);

    /// <summary>Has the PNA ever had state for this account?</summary>
    bool IsKnownAccount(AccountId account);

    MailboxTotals? CurrentTotals(AccountId account, MailboxPath mailbox);

    /// <summary>Live subscriptions (restored ones included), to take back the notifier's own after a restart.</summary>
    IReadOnlyList<Subscription> Snapshot();

    /// <summary>The heartbeat interval the subscription really gets (Pna:Heartbeats:Min..Max); without a scheduler, as asked.</summary>
    TimeSpan? GrantedHeartbeat(SubscriptionFilter filter) => filter?.Heartbeat;
}

/// <summary>The real host: the <see cref="SubscriptionManager"/> and the <see cref="MailboxStateStore"/>.</summary>
internal sealed class PnaSubscriptionHost(SubscriptionManager manager, MailboxStateStore state) : ISipSubscriptionHost
{
    public ValueTask<SubscribeResult> SubscribeAsync(string subscriber, SubscriptionFilter filter, INotificationTransport transport, string transportState, DateTimeOffset expires, CancellationToken cancellationToken) =>
        manager.SubscribeAsync(subscriber, filter, transport, transportState, expires, cancellationToken);

    public bool Refresh(long id, DateTimeOffset expires) => manager.Refresh(id, expires);

    public TimeSpan? GrantedHeartbeat(SubscriptionFilter filter) => manager.GrantedHeartbeat(filter);

    public bool UpdateTransportState(long id, string state) => manager.UpdateTransportState(id, state);

    public bool Unsubscribe(long id, string reason) => manager.Unsubscribe(id, reason);

    public bool IsKnownAccount(AccountId account) => state.GetAccount(account).Count > 0;

    public MailboxTotals? CurrentTotals(AccountId account, MailboxPath mailbox) => state.Get(account, mailbox)?.Totals;

    public IReadOnlyList<Subscription> Snapshot() => manager.Snapshot();
}
