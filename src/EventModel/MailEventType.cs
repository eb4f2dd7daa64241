namespace Aggregators.EventModel;

/// <summary>
/// The RFC 5423 event types (§4.1 to §4.4). The numeric value is the bit position in an
/// <see cref="EventTypeSet"/>; never reorder, only append.
/// </summary>
public enum MailEventType : byte
{
    // §4.1 Message addition and deletion (the quota events are in §4.1 too)
    MessageAppend = 0,
    MessageExpire = 1,
    MessageExpunge = 2,
    MessageNew = 3,

    // §4.1 Quota
    QuotaExceed = 4,
    QuotaWithin = 5,
    QuotaChange = 6,

    // §4.2 Message flags
    MessageRead = 7,
    MessageTrash = 8,
    FlagsSet = 9,
    FlagsClear = 10,

    // §4.3 Access accounting
    Login = 11,
    Logout = 12,

    // §4.4 Mailbox management
    MailboxCreate = 13,
    MailboxDelete = 14,
    MailboxRename = 15,
    MailboxSubscribe = 16,
    MailboxUnSubscribe = 17,
}

/// <summary>Facts about event types that the rest of the system needs.</summary>
public static class MailEventTypes
{
    /// <summary>Number of defined event types.</summary>
    public const int Count = 18;

    private static readonly string[] Names =
    [
        "MessageAppend", "MessageExpire", "MessageExpunge", "MessageNew",
        "QuotaExceed", "QuotaWithin", "QuotaChange",
        "MessageRead", "MessageTrash", "FlagsSet", "FlagsClear",
        "Login", "Logout",
        "MailboxCreate", "MailboxDelete", "MailboxRename", "MailboxSubscribe", "MailboxUnSubscribe",
    ];

    /// <summary>All event types in their RFC order.</summary>
    public static IReadOnlyList<MailEventType> All { get; } =
        Enumerable.Range(0, Count).Select(i => (MailEventType)i).ToArray();

    /// <summary>The RFC 5423 spelling of the type (e.g. <c>MailboxUnSubscribe</c>).</summary>
    public static string ToRfcName(this MailEventType type) =>
        (uint)type < Count ? Names[(int)type] : throw new ArgumentOutOfRangeException(nameof(type));

    /// <summary>
    /// Parses an RFC 5423 event name. Exact spelling is required, with one documented leniency:
    /// Dovecot's push_notification spells <c>MailboxUnSubscribe</c> as <c>MailboxUnsubscribe</c>.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<char> name, out MailEventType type)
    {
        for (var i = 0; i < Names.Length; i++)
        {
            if (name.SequenceEqual(Names[i]))
            {
                type = (MailEventType)i;
                return true;
            }
        }
        if (name.SequenceEqual("MailboxUnsubscribe"))
        {
            type = MailEventType.MailboxUnSubscribe;
            return true;
        }
        type = default;
        return false;
    }

    /// <summary>
    /// True for events about one mailbox (they carry a mailbox and, from our producers, its totals);
    /// false for account-level events (quota, login/logout).
    /// </summary>
    public static bool IsMailboxEvent(this MailEventType type) => type switch
    {
        MailEventType.QuotaExceed or MailEventType.QuotaWithin or MailEventType.QuotaChange
            or MailEventType.Login or MailEventType.Logout => false,
        _ => true,
    };
}
