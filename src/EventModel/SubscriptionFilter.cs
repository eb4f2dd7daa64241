namespace Aggregators.EventModel;

/// <summary>How far below its mailbox a subscription reaches.</summary>
public enum SubscriptionDepth : byte
{
    /// <summary>Only the named mailbox (or, at the account root, only account-level events).</summary>
    One = 0,

    /// <summary>The named mailbox and every mailbox below it (at the root: the whole account).</summary>
    Subtree = 1,
}

/// <summary>
/// What a subscriber asked for: a resource (an account, optionally one mailbox), a depth, a set
/// of event types, and an optional heartbeat interval.
/// </summary>
public sealed record SubscriptionFilter
{
    public required AccountId Account { get; init; }

    /// <summary><see cref="MailboxPath.Root"/> for the whole account.</summary>
    public MailboxPath Mailbox { get; init; } = MailboxPath.Root;

    public SubscriptionDepth Depth { get; init; } = SubscriptionDepth.One;

    public EventTypeSet Events { get; init; } = EventTypeSet.All;

    /// <summary>Repeat current totals this often when nothing else was sent; null for none.</summary>
    public TimeSpan? Heartbeat { get; init; }

    /// <summary>
    /// Does an event of <paramref name="type"/> about <paramref name="mailbox"/> fall under this
    /// filter? The reference semantics the matcher must agree with:
    /// a mailbox event matches a subscription on the same mailbox, or on an ancestor with subtree
    /// depth (the root with subtree depth is the whole account); an account-level event (root
    /// mailbox) matches only subscriptions on the root.
    /// </summary>
    public bool Matches(MailEventType type, MailboxPath mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        if (!Events.Contains(type))
        {
            return false;
        }
        if (Mailbox.Equals(mailbox))
        {
            return true;
        }
        return Depth == SubscriptionDepth.Subtree && Mailbox.IsAncestorOrSelfOf(mailbox);
    }

    /// <summary>
    /// Does <paramref name="mailEvent"/> fall under this filter? A MailboxRename matches when
    /// either its old or its new name does, so subscribers of the old name learn of the rename.
    /// </summary>
    public bool Matches(MailEvent mailEvent)
    {
        ArgumentNullException.ThrowIfNull(mailEvent);
        if (!mailEvent.Account.Equals(Account))
        {
            return false;
        }
        return Matches(mailEvent.Type, mailEvent.Mailbox)
            || (mailEvent.OldMailbox is { } old && Matches(mailEvent.Type, old));
    }

    public override string ToString() =>
        $"{Account}/{Mailbox} depth={(Depth == SubscriptionDepth.One ? "1" : "all")} events={Events}" +
        (Heartbeat is { } hb ? $" heartbeat={hb.TotalSeconds}s" : "");
}
