using Aggregators.EventModel;

namespace Aggregators.Pna.Subscriptions;

/// <summary>Why a notification is sent.</summary>
public enum NotificationKind : byte
{
    /// <summary>An event matched the subscription.</summary>
    Event,

    /// <summary>The current state, sent right after subscribing (RFC 6665 §4.2.1 immediate NOTIFY).</summary>
    Initial,

    /// <summary>The current totals, repeated because nothing else was sent for the heartbeat interval.</summary>
    Heartbeat,
}

/// <summary>
/// One notification for one subscription. <see cref="Totals"/> are the mailbox's totals after the
/// event (or now, for Initial and Heartbeat), so every notification carries the truth.
/// </summary>
/// <param name="Subscription">Who it is for.</param>
/// <param name="Kind">Why it is sent.</param>
/// <param name="Event">The event, for <see cref="NotificationKind.Event"/>; null otherwise.</param>
/// <param name="Mailbox">The mailbox the totals describe.</param>
/// <param name="Totals">That mailbox's totals, when known.</param>
/// <param name="Sequence">Per-subscription sequence number, increasing by one per notification.</param>
public readonly record struct Notification(
    Subscription Subscription,
    NotificationKind Kind,
    MailEvent? Event,
    MailboxPath Mailbox,
    MailboxTotals? Totals,
    long Sequence);
