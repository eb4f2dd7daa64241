namespace Aggregators.EventModel;

/// <summary>
/// One RFC 5423 event, as produced by the IMAP bridge or a mail server hook and as delivered to
/// subscribers. Parameter names follow RFC 5423 §4; <see cref="Account"/>, <see cref="Mailbox"/>,
/// <see cref="OldMailbox"/>, <see cref="Totals"/>, <see cref="Spam"/>, <see cref="Id"/>,
/// <see cref="From"/> and <see cref="Subject"/> are this project's additions (docs/events.md).
/// Vendor parameters (<c>vnd.*</c>, RFC 5423 §4) are kept verbatim in <see cref="Vendor"/>.
/// JSON: <see cref="Json.MailEventJson"/> (docs/events.md), also through System.Text.Json.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(Json.MailEventJsonConverter))]
public sealed record MailEvent
{
    /// <summary>The event type (RFC 5423 "event").</summary>
    public required MailEventType Type { get; init; }

    /// <summary>The account the event is about.</summary>
    public required AccountId Account { get; init; }

    /// <summary>
    /// The mailbox the event is about; <see cref="MailboxPath.Root"/> for account-level events
    /// (quota, login, logout). For MailboxRename, the new name.
    /// </summary>
    public MailboxPath Mailbox { get; init; } = MailboxPath.Root;

    /// <summary>For MailboxRename: the old name.</summary>
    public MailboxPath? OldMailbox { get; init; }

    /// <summary>The mailbox's totals after the event (our addition).</summary>
    public MailboxTotals? Totals { get; init; }

    /// <summary>True when the message is in the \Junk special-use mailbox or carries $Junk.</summary>
    public bool Spam { get; init; }

    /// <summary>
    /// Producer-assigned identity, unique per source; a repeat of an id already seen from the
    /// same source is recognised as a duplicate (at-least-once delivery from the bridge).
    /// </summary>
    public string? Id { get; init; }

    // --- RFC 5423 §4 parameters -------------------------------------------------------------

    public DateTimeOffset? Timestamp { get; init; }
    public string? Service { get; init; }
    public string? ServerDomain { get; init; }
    public string? ServerFqdn { get; init; }
    public int? ServerPort { get; init; }
    public string? ClientIp { get; init; }
    public int? ClientPort { get; init; }
    public string? User { get; init; }
    public string? Admin { get; init; }
    public int? Pid { get; init; }
    public string? Process { get; init; }

    /// <summary>RFC 5423 "uri": an IMAP URL (RFC 5092) naming the message or mailbox.</summary>
    public string? Uri { get; init; }

    /// <summary>RFC 5423 "mailboxID": an IMAP URL (RFC 5092) for the mailbox.</summary>
    public string? MailboxId { get; init; }

    /// <summary>RFC 5423 "oldMailboxID": for MailboxRename, the URL of the old name.</summary>
    public string? OldMailboxId { get; init; }

    public uint? Uidnext { get; init; }
    public uint? UidValidity { get; init; }

    /// <summary>RFC 5423 "uidset": an IMAP sequence set of UIDs (RFC 3501 §9 sequence-set).</summary>
    public string? Uidset { get; init; }

    public uint? Messages { get; init; }
    public ulong? Modseq { get; init; }
    public uint? MaxMessages { get; init; }
    public ulong? MessageSize { get; init; }
    public ulong? DiskQuota { get; init; }
    public ulong? DiskUsed { get; init; }

    /// <summary>RFC 5423 "flagNames": the flags and keywords set or cleared.</summary>
    public IReadOnlyList<string>? FlagNames { get; init; }

    /// <summary>RFC 5423 "tags".</summary>
    public IReadOnlyList<string>? Tags { get; init; }

    public string? Envelope { get; init; }
    public string? BodyStructure { get; init; }
    public string? MessageContent { get; init; }

    /// <summary>Envelope summary, only when the producer is configured to include it.</summary>
    public string? From { get; init; }
    public string? Subject { get; init; }

    /// <summary>Vendor parameters (names start with <c>vnd.</c>), value kept as raw JSON text.</summary>
    public IReadOnlyList<VendorParameter>? Vendor { get; init; }
}

/// <summary>A vendor parameter (RFC 5423 §4: names begin with "vnd."), its value as raw JSON.</summary>
public sealed record VendorParameter(string Name, string RawJson);
