namespace Aggregators.ImapBridge.Imap;

/// <summary>STATUS data items to ask for (RFC 3501 §6.3.10, RFC 7162 §3.1.2, RFC 8438).</summary>
[Flags]
public enum ImapStatusItem
{
    None = 0,
    Messages = 1,
    Recent = 2,
    UidNext = 4,
    UidValidity = 8,
    Unseen = 16,
    HighestModSeq = 32,
    Size = 64,

    /// <summary>What a watcher needs: MESSAGES UNSEEN UIDNEXT UIDVALIDITY HIGHESTMODSEQ.</summary>
    Default = Messages | UidNext | UidValidity | Unseen | HighestModSeq,
}

/// <summary>FETCH data items to ask for (RFC 3501 §6.4.5, RFC 7162 §3.1.4).</summary>
[Flags]
public enum ImapFetchItem
{
    None = 0,
    Uid = 1,
    Flags = 2,
    Envelope = 4,
    Rfc822Size = 8,
    InternalDate = 16,
    ModSeq = 32,
    Default = Uid | Flags | Envelope | Rfc822Size,
}

/// <summary>LIST return options (RFC 5258 §3.2, RFC 6154 §5, RFC 5819); each is sent only when offered.</summary>
public sealed record ImapListOptions
{
    /// <summary>RETURN (SUBSCRIBED): \Subscribed on subscribed mailboxes (LIST-EXTENDED).</summary>
    public bool Subscribed { get; init; }

    /// <summary>RETURN (CHILDREN): \HasChildren / \HasNoChildren (LIST-EXTENDED or CHILDREN).</summary>
    public bool Children { get; init; }

    /// <summary>RETURN (SPECIAL-USE): \Sent, \Drafts, ... (SPECIAL-USE).</summary>
    public bool SpecialUse { get; init; }

    /// <summary>RETURN (STATUS (...)) with LIST-STATUS; without it the client issues STATUS per selectable mailbox.</summary>
    public ImapStatusItem Status { get; init; }
}

/// <summary>What LIST found: the mailboxes and, when asked for, their status.</summary>
public sealed record ImapListResult(
    IReadOnlyList<ImapListResponse> Mailboxes,
    IReadOnlyDictionary<string, ImapStatusItems> Status);

/// <summary>State of the mailbox SELECT/EXAMINE opened (RFC 3501 §6.3.1, RFC 7162 §3.1.2.1).</summary>
public sealed record ImapMailboxState
{
    public required string Mailbox { get; init; }
    public bool ReadOnly { get; init; }
    public uint Exists { get; init; }
    public uint Recent { get; init; }
    public uint? UidValidity { get; init; }
    public uint? UidNext { get; init; }

    /// <summary>Sequence number of the first unseen message ([UNSEEN n]), not a count.</summary>
    public uint? FirstUnseen { get; init; }

    public IReadOnlyList<string> Flags { get; init; } = [];
    public IReadOnlyList<string>? PermanentFlags { get; init; }
    public ulong? HighestModSeq { get; init; }

    /// <summary>[NOMODSEQ]: the mailbox has no mod-sequences (RFC 7162 §3.1.2.2).</summary>
    public bool NoModSeq { get; init; }
}

/// <summary>Mailbox filters of a NOTIFY event group (RFC 5465 §6).</summary>
public enum ImapNotifyFilter
{
    Selected,
    SelectedDelayed,
    Inboxes,
    Personal,
    Subscribed,
    Subtree,
    Mailboxes,
}

/// <summary>NOTIFY event names (RFC 5465 §5).</summary>
public static class ImapNotifyEvent
{
    public const string MessageNew = "MessageNew";
    public const string MessageExpunge = "MessageExpunge";
    public const string FlagChange = "FlagChange";
    public const string AnnotationChange = "AnnotationChange";
    public const string MailboxName = "MailboxName";
    public const string SubscriptionChange = "SubscriptionChange";
    public const string MailboxMetadataChange = "MailboxMetadataChange";
    public const string ServerMetadataChange = "ServerMetadataChange";
}

/// <summary>
/// One event group of NOTIFY SET (RFC 5465 §3.1): a mailbox filter and the events wanted there
/// (empty means NONE). MessageNew may ask for FETCH attributes, only with the selected filters.
/// </summary>
public sealed record ImapNotifyEventGroup(ImapNotifyFilter Filter, IReadOnlyList<string> Events)
{
    /// <summary>The mailboxes of the Subtree and Mailboxes filters.</summary>
    public IReadOnlyList<string> Mailboxes { get; init; } = [];

    /// <summary>FETCH attributes sent with MessageNew (e.g. "UID", "FLAGS"); selected filters only.</summary>
    public IReadOnlyList<string> MessageNewFetchAttributes { get; init; } = [];

    public static ImapNotifyEventGroup Selected(params string[] events) => new(ImapNotifyFilter.Selected, events);

    public static ImapNotifyEventGroup Personal(params string[] events) => new(ImapNotifyFilter.Personal, events);

    public static ImapNotifyEventGroup Inboxes(params string[] events) => new(ImapNotifyFilter.Inboxes, events);

    public static ImapNotifyEventGroup Subscribed(params string[] events) => new(ImapNotifyFilter.Subscribed, events);

    public static ImapNotifyEventGroup ForMailboxes(IReadOnlyList<string> mailboxes, params string[] events) =>
        new(ImapNotifyFilter.Mailboxes, events) { Mailboxes = mailboxes };

    public static ImapNotifyEventGroup ForSubtree(IReadOnlyList<string> mailboxes, params string[] events) =>
        new(ImapNotifyFilter.Subtree, events) { Mailboxes = mailboxes };
}

/// <summary>The connection's protocol state (RFC 3501 §3).</summary>
public enum ImapConnectionState
{
    NotAuthenticated,
    Authenticated,
    Selected,
    Closed,
}
