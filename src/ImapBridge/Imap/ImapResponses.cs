using System.Globalization;

namespace Aggregators.ImapBridge.Imap;

/// <summary>Status of a tagged or untagged status response (RFC 3501 §7.1).</summary>
public enum ImapStatus
{
    Ok,
    No,
    Bad,
    Bye,
    PreAuth,
}

/// <summary>
/// A response code in brackets (RFC 3501 §7.1, RFC 9051 §7.1, RFC 5465 §5, RFC 7162 §3.1):
/// its name in upper case and its argument, parsed where the syntax is known.
/// </summary>
public sealed class ImapResponseCode
{
    public ImapResponseCode(string name, string? text = null, long? number = null, IReadOnlyList<string>? items = null)
    {
        Name = name;
        Text = text;
        Number = number;
        Items = items;
    }

    /// <summary>Code name in upper case: UIDVALIDITY, PERMANENTFLAGS, BADEVENT, ALERT, ...</summary>
    public string Name { get; }

    /// <summary>The raw argument text for codes without a known syntax (COPYUID, APPENDUID, ...).</summary>
    public string? Text { get; }

    /// <summary>Numeric argument of UIDVALIDITY, UIDNEXT, UNSEEN, HIGHESTMODSEQ.</summary>
    public long? Number { get; }

    /// <summary>List argument of PERMANENTFLAGS, CAPABILITY, BADCHARSET, BADEVENT.</summary>
    public IReadOnlyList<string>? Items { get; }

    public bool Is(string name) => string.Equals(Name, name, StringComparison.OrdinalIgnoreCase);

    public override string ToString()
    {
        if (Items is not null)
        {
            var list = string.Join(' ', Items);
            return Is("CAPABILITY") ? $"{Name} {list}" : $"{Name} ({list})";
        }
        if (Number is not null)
        {
            return $"{Name} {Number.Value.ToString(CultureInfo.InvariantCulture)}";
        }
        return Text is null ? Name : $"{Name} {Text}";
    }
}

/// <summary>Any server response (RFC 3501 §7).</summary>
public abstract record ImapResponse;

/// <summary>"+ text": the server waits for more of the command (RFC 3501 §7.5).</summary>
public sealed record ImapContinuationResponse(string Text) : ImapResponse;

/// <summary>The response that completes the command with this tag (RFC 3501 §7.1).</summary>
public sealed record ImapTaggedResponse(string Tag, ImapStatus Status, ImapResponseCode? Code, string Text) : ImapResponse;

/// <summary>Untagged response: base of everything starting with "* ".</summary>
public abstract record ImapUntaggedResponse : ImapResponse;

/// <summary>* OK/NO/BAD/BYE/PREAUTH [code] text (RFC 3501 §7.1).</summary>
public sealed record ImapUntaggedStatusResponse(ImapStatus Status, ImapResponseCode? Code, string Text) : ImapUntaggedResponse;

/// <summary>* CAPABILITY (RFC 3501 §7.2.1), capability names as sent.</summary>
public sealed record ImapCapabilityResponse(IReadOnlyList<string> Capabilities) : ImapUntaggedResponse;

/// <summary>* ENABLED (RFC 5161 §3.2).</summary>
public sealed record ImapEnabledResponse(IReadOnlyList<string> Capabilities) : ImapUntaggedResponse;

/// <summary>* FLAGS (RFC 3501 §7.2.6).</summary>
public sealed record ImapFlagsResponse(IReadOnlyList<string> Flags) : ImapUntaggedResponse;

/// <summary>
/// * LIST / * LSUB (RFC 3501 §7.2.2-3, RFC 5258 §6): attributes, hierarchy delimiter (null for NIL),
/// the mailbox name decoded from modified UTF-7 and extended data items such as CHILDINFO and OLDNAME.
/// </summary>
public sealed record ImapListResponse(
    bool IsLsub,
    IReadOnlyList<string> Attributes,
    char? Delimiter,
    string Mailbox,
    IReadOnlyList<KeyValuePair<string, ImapValue>> Extended) : ImapUntaggedResponse
{
    /// <summary>True when the attributes contain <paramref name="attribute"/> (e.g. "\NonExistent"), case-insensitively.</summary>
    public bool HasAttribute(string attribute)
    {
        foreach (var a in Attributes)
        {
            if (string.Equals(a, attribute, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The previous name of a renamed mailbox, from ("OLDNAME" ("old")) (RFC 5465 §5.4), decoded.</summary>
    public string? OldName
    {
        get
        {
            var v = FindExtended("OLDNAME");
            var raw = v?.Kind == ImapValueKind.List && v.Items!.Count > 0 ? v.Items[0].AsText() : v?.AsText();
            return raw is null ? null : ImapResponseParser.DecodeMailboxName(raw);
        }
    }

    /// <summary>The CHILDINFO extended data (RFC 5258 §4), e.g. ["SUBSCRIBED"], or null.</summary>
    public IReadOnlyList<string>? ChildInfo
    {
        get
        {
            var v = FindExtended("CHILDINFO");
            return v?.Items?.Select(i => i.AsText() ?? "").ToArray();
        }
    }

    private ImapValue? FindExtended(string tag)
    {
        foreach (var (k, v) in Extended)
        {
            if (string.Equals(k, tag, StringComparison.OrdinalIgnoreCase))
            {
                return v;
            }
        }
        return null;
    }
}

/// <summary>
/// Status data items of a mailbox (RFC 3501 §6.3.10, RFC 7162 §3.1.2, RFC 8438, RFC 9051 §6.3.11);
/// null means "not reported". NOTIFY pushes carry only what changed: use <see cref="Merge"/>.
/// </summary>
public sealed record ImapStatusItems
{
    public uint? Messages { get; init; }
    public uint? Recent { get; init; }
    public uint? UidNext { get; init; }
    public uint? UidValidity { get; init; }
    public uint? Unseen { get; init; }
    public ulong? HighestModSeq { get; init; }
    public long? Size { get; init; }
    public uint? Deleted { get; init; }

    /// <summary>These items overridden by every item <paramref name="newer"/> reports.</summary>
    public ImapStatusItems Merge(ImapStatusItems newer)
    {
        ArgumentNullException.ThrowIfNull(newer);
        return new ImapStatusItems
        {
            Messages = newer.Messages ?? Messages,
            Recent = newer.Recent ?? Recent,
            UidNext = newer.UidNext ?? UidNext,
            UidValidity = newer.UidValidity ?? UidValidity,
            Unseen = newer.Unseen ?? Unseen,
            HighestModSeq = newer.HighestModSeq ?? HighestModSeq,
            Size = newer.Size ?? Size,
            Deleted = newer.Deleted ?? Deleted,
        };
    }
}

/// <summary>* STATUS mailbox (items) (RFC 3501 §7.2.4); the name is decoded from modified UTF-7.</summary>
public sealed record ImapStatusResponse(string Mailbox, ImapStatusItems Items) : ImapUntaggedResponse;

/// <summary>* n EXISTS (RFC 3501 §7.3.1).</summary>
public sealed record ImapExistsResponse(uint Count) : ImapUntaggedResponse;

/// <summary>* n RECENT (RFC 3501 §7.3.2).</summary>
public sealed record ImapRecentResponse(uint Count) : ImapUntaggedResponse;

/// <summary>* n EXPUNGE (RFC 3501 §7.4.1): the message with this sequence number is gone.</summary>
public sealed record ImapExpungeResponse(uint SequenceNumber) : ImapUntaggedResponse;

/// <summary>* VANISHED [(EARLIER)] uid-set (RFC 7162 §3.2.10).</summary>
public sealed record ImapVanishedResponse(bool Earlier, ImapSequenceSet Uids) : ImapUntaggedResponse;

/// <summary>* SEARCH n... [(MODSEQ n)] (RFC 3501 §7.2.5, RFC 7162 §3.1.5).</summary>
public sealed record ImapSearchResponse(IReadOnlyList<uint> Numbers, ulong? ModSeq) : ImapUntaggedResponse;

/// <summary>* ESEARCH [(TAG "t")] [UID] items (RFC 4731 §3.1, RFC 9051 §7.3.4).</summary>
public sealed record ImapESearchResponse(
    string? Tag, bool Uid, uint? Min, uint? Max, uint? Count, ImapSequenceSet? All, ulong? ModSeq) : ImapUntaggedResponse;

/// <summary>One address of an envelope (RFC 3501 §7.4.2); group markers have a null host.</summary>
public sealed record ImapAddress(string? Name, string? Route, string? Mailbox, string? Host)
{
    public override string ToString() => Host is null ? Mailbox ?? "" : $"{Mailbox}@{Host}";
}

/// <summary>ENVELOPE (RFC 3501 §7.4.2); header values are as sent (RFC 2047 words are not decoded).</summary>
public sealed record ImapEnvelope(
    string? Date,
    string? Subject,
    IReadOnlyList<ImapAddress> From,
    IReadOnlyList<ImapAddress> Sender,
    IReadOnlyList<ImapAddress> ReplyTo,
    IReadOnlyList<ImapAddress> To,
    IReadOnlyList<ImapAddress> Cc,
    IReadOnlyList<ImapAddress> Bcc,
    string? InReplyTo,
    string? MessageId);

/// <summary>
/// * n FETCH (...) (RFC 3501 §7.4.2, RFC 7162 §3.1.4): the items we model typed, and any other
/// item as a generic value in <see cref="Other"/>.
/// </summary>
public sealed record ImapFetchResponse(uint SequenceNumber) : ImapUntaggedResponse
{
    public uint? Uid { get; init; }
    public IReadOnlyList<string>? Flags { get; init; }
    public ImapEnvelope? Envelope { get; init; }
    public long? Rfc822Size { get; init; }
    public DateTimeOffset? InternalDate { get; init; }
    public ulong? ModSeq { get; init; }
    public IReadOnlyList<KeyValuePair<string, ImapValue>> Other { get; init; } = [];
}

/// <summary>One namespace (RFC 2342 §5): prefix and delimiter.</summary>
public sealed record ImapNamespace(string Prefix, char? Delimiter);

/// <summary>* NAMESPACE personal other shared (RFC 2342 §5).</summary>
public sealed record ImapNamespaceResponse(
    IReadOnlyList<ImapNamespace> Personal, IReadOnlyList<ImapNamespace> OtherUsers, IReadOnlyList<ImapNamespace> Shared) : ImapUntaggedResponse;

/// <summary>* ACL mailbox (identifier rights)* (RFC 4314 §3.6).</summary>
public sealed record ImapAclResponse(string Mailbox, IReadOnlyList<KeyValuePair<string, string>> Entries) : ImapUntaggedResponse;

/// <summary>* MYRIGHTS mailbox rights (RFC 4314 §3.8).</summary>
public sealed record ImapMyRightsResponse(string Mailbox, string Rights) : ImapUntaggedResponse;

/// <summary>* LISTRIGHTS mailbox identifier required optional... (RFC 4314 §3.7).</summary>
public sealed record ImapListRightsResponse(string Mailbox, string Identifier, string RequiredRights, IReadOnlyList<string> OptionalRights) : ImapUntaggedResponse;

/// <summary>An untagged response we have no model for: its name, leading number if any, and its data.</summary>
public sealed record ImapGenericUntaggedResponse(string Name, uint? Number, IReadOnlyList<ImapValue> Data) : ImapUntaggedResponse;
