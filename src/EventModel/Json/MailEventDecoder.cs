using System.Buffers;
using System.Text;
using System.Text.Json;
using System.Text.Unicode;

namespace Aggregators.EventModel.Json;

/// <summary>
/// Reads one event object with <see cref="Utf8JsonReader"/>.
/// Why hand-written rather than a source-generated <c>JsonSerializer.Deserialize</c>: the wire
/// format needs things the serializer cannot say precisely or cheaply: errors naming the field
/// path and the reason in an admin's words (not a .NET type name), duplicate keys refused,
/// unknown keys refused except <c>vnd.*</c> kept as raw JSON, "flagNames" as a string or an
/// array, rules that depend on the event type ("mailbox" required or forbidden), IMAP URLs
/// normalised, and no intermediate DTO per event (one pass, no exceptions on the data path).
/// The source-generated <see cref="MailEventJsonContext"/> plugs this codec into System.Text.Json
/// for callers that serialize through a context (ASP.NET Core, other DTOs).
/// </summary>
internal static partial class MailEventDecoder
{
    public const int MaxEventBytes = 1 << 20;
    public const int MaxStringBytes = 64 * 1024;
    public const int MaxMessageContentBytes = 1 << 20;
    public const int MaxVendorDepth = 16;
    public const int MaxVendorParameters = 256;
    public const int MaxIdLength = 200;
    public const int MaxListItems = 1024;

    /// <summary>The reader's own nesting limit; deeper input is a syntax error.</summary>
    public const int ReaderMaxDepth = 64;

    public static readonly JsonReaderOptions ReaderOptions = new()
    {
        MaxDepth = ReaderMaxDepth,
        CommentHandling = JsonCommentHandling.Disallow,
        AllowTrailingCommas = false,
    };

    private enum Param : byte
    {
        Event, Account, Mailbox, OldMailbox, Totals, Spam, Id,
        Timestamp, Service, ServerDomain, ServerFqdn, ServerPort, ClientIp, ClientPort, User, Admin,
        Pid, Process, Uri, MailboxId, OldMailboxId, Uidnext, Uidvalidity, Uidset, Messages, Modseq,
        MaxMessages, MessageSize, DiskQuota, DiskUsed, FlagNames, Tags, Envelope, BodyStructure,
        MessageContent, From, Subject,
        Unknown = 255,
    }

    private static Param Lookup(ReadOnlySpan<char> name) => name switch
    {
        "event" => Param.Event,
        "account" => Param.Account,
        "mailbox" => Param.Mailbox,
        "oldMailbox" => Param.OldMailbox,
        "totals" => Param.Totals,
        "spam" => Param.Spam,
        "id" => Param.Id,
        "timestamp" => Param.Timestamp,
        "service" => Param.Service,
        "serverDomain" => Param.ServerDomain,
        "serverFQDN" => Param.ServerFqdn,
        "serverPort" => Param.ServerPort,
        "clientIP" => Param.ClientIp,
        "clientPort" => Param.ClientPort,
        "user" => Param.User,
        "admin" => Param.Admin,
        "pid" => Param.Pid,
        "process" => Param.Process,
        "uri" => Param.Uri,
        "mailboxID" => Param.MailboxId,
        "oldMailboxID" => Param.OldMailboxId,
        "uidnext" => Param.Uidnext,
        "uidvalidity" => Param.Uidvalidity,
        "uidset" => Param.Uidset,
        "messages" => Param.Messages,
        "modseq" => Param.Modseq,
        "maxMessages" => Param.MaxMessages,
        "messageSize" => Param.MessageSize,
        "diskQuota" => Param.DiskQuota,
        "diskUsed" => Param.DiskUsed,
        "flagNames" => Param.FlagNames,
        "tags" => Param.Tags,
        "envelope" => Param.Envelope,
        "bodyStructure" => Param.BodyStructure,
        "messageContent" => Param.MessageContent,
        "from" => Param.From,
        "subject" => Param.Subject,
        _ => Param.Unknown,
    };

    /// <summary>The parameter values seen so far, before the type-dependent checks.</summary>
    private struct Fields
    {
        public ulong Seen;
        public MailEventType Type;
        public string? Account;
        public AccountId AccountId;
        public MailboxPath? Mailbox;
        public MailboxPath? OldMailbox;
        public MailboxTotals? Totals;
        public bool Spam;
        public string? Id;
        public DateTimeOffset? Timestamp;
        public string? Service, ServerDomain, ServerFqdn, ClientIp, User, Admin, Process;
        public int? ServerPort, ClientPort, Pid;
        public ImapUrl? Uri, MailboxId, OldMailboxId;
        public uint? Uidnext, Uidvalidity, Messages, MaxMessages;
        public string? Uidset;
        public ulong? Modseq, MessageSize, DiskQuota, DiskUsed;
        public string[]? FlagNames;
        public string[]? Tags;
        public string? Envelope, BodyStructure, MessageContent, From, Subject;
        public List<VendorParameter>? Vendor;

        public readonly bool Has(Param p) => (Seen & (1UL << (int)p)) != 0;
    }

    /// <summary>
    /// Reads one event; the reader is on the value's first token. On return (success or a
    /// semantic error) the reader is on the value's last token, so a batch can go on with the next.
    /// Syntax errors throw <see cref="JsonException"/> from the reader: the caller decides whether
    /// they end the event (single) or the batch framing (array).
    /// </summary>
    public static bool TryRead(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, int index, out MailEvent? mailEvent, out EventError? error)
    {
        mailEvent = null;
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = new EventError(index, null, $"an event must be a JSON object, not {(reader.TokenType == JsonTokenType.Null ? "null" : Describe(reader.TokenType))}");
            SkipValue(ref reader);
            return false;
        }
        var depth = reader.CurrentDepth;
        var f = default(Fields);
        if (!TryReadMembers(ref reader, input, index, ref f, out error) || !TryBuild(ref f, index, out mailEvent, out error))
        {
            // Leave the reader on this object's EndObject so the batch can continue.
            while (!(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth) && reader.Read())
            {
            }
            mailEvent = null;
            return false;
        }
        return true;
    }

    private static bool TryReadMembers(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, int index, ref Fields f, out EventError? error)
    {
        Span<char> nameBuffer = stackalloc char[16];
        while (reader.Read())
        {
            if (reader.TokenType == JsonTokenType.EndObject)
            {
                error = null;
                return true;
            }
            // PropertyName
            var param = Param.Unknown;
            var raw = reader.ValueSpan;
            if (!reader.ValueIsEscaped && raw.Length <= nameBuffer.Length &&
                Ascii.ToUtf16(raw, nameBuffer, out var written) == OperationStatus.Done)
            {
                param = Lookup(nameBuffer[..written]);
            }
            string? vendorName = null;
            if (param == Param.Unknown)
            {
                if (!TryGetString(ref reader, out var name))
                {
                    error = new EventError(index, null, "a parameter name is not valid UTF-8");
                    return false;
                }
                param = Lookup(name);
                if (param == Param.Unknown)
                {
                    if (!IsVendorName(name))
                    {
                        error = UnknownParameter(index, name);
                        return false;
                    }
                    vendorName = name;
                }
            }
            reader.Read();
            if (vendorName is not null)
            {
                if (!TryReadVendor(ref reader, input, index, vendorName, ref f, out error))
                {
                    return false;
                }
                continue;
            }
            var bit = 1UL << (int)param;
            if ((f.Seen & bit) != 0)
            {
                var n = NameOf(param);
                error = new EventError(index, n, $"'{n}' appears more than once");
                return false;
            }
            f.Seen |= bit;
            if (!TryReadParam(ref reader, index, param, ref f, out error))
            {
                return false;
            }
        }
        // Only reachable on a non-final buffer; every caller passes complete input.
        error = new EventError(index, null, "the event object is not closed");
        return false;
    }

    private static bool TryReadParam(ref Utf8JsonReader reader, int index, Param param, ref Fields f, out EventError? error)
    {
        var name = NameOf(param);
        switch (param)
        {
            case Param.Event:
                return TryReadEventType(ref reader, index, ref f, out error);
            case Param.Account:
                if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Account, out error))
                {
                    return false;
                }
                if (!AccountId.TryParse(f.Account, out f.AccountId, out var accountError))
                {
                    error = new EventError(index, name, $"'{name}' is not a valid account: {accountError}");
                    return false;
                }
                return true;
            case Param.Mailbox:
            case Param.OldMailbox:
            {
                if (!TryReadMailbox(ref reader, index, name, out var path, out error))
                {
                    return false;
                }
                if (param == Param.Mailbox)
                {
                    f.Mailbox = path;
                }
                else
                {
                    f.OldMailbox = path;
                }
                return true;
            }
            case Param.Totals:
                return TryReadTotals(ref reader, index, ref f, out error);
            case Param.Spam:
                if (reader.TokenType is not (JsonTokenType.True or JsonTokenType.False))
                {
                    error = WrongType(index, name, "true or false", reader.TokenType);
                    return false;
                }
                f.Spam = reader.TokenType == JsonTokenType.True;
                error = null;
                return true;
            case Param.Id:
                if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Id, out error))
                {
                    return false;
                }
                error = CheckId(index, f.Id!);
                return error is null;
            case Param.Timestamp:
            {
                if (reader.TokenType != JsonTokenType.String)
                {
                    error = WrongType(index, name, "an RFC 3339 date-time string", reader.TokenType);
                    return false;
                }
                if (reader.ValueIsEscaped || !Rfc3339.TryParse(reader.ValueSpan, out var ts, out var why))
                {
                    TryGetString(ref reader, out var text);
                    Rfc3339.TryParse(Encoding.UTF8.GetBytes(text), out ts, out why);
                    if (why is not null)
                    {
                        error = new EventError(index, name, $"'{name}' value '{Clip(text)}' {why}");
                        return false;
                    }
                }
                f.Timestamp = ts;
                error = null;
                return true;
            }
            case Param.Service:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Service, out error);
            case Param.ServerDomain:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.ServerDomain, out error);
            case Param.ServerFqdn:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.ServerFqdn, out error);
            case Param.ServerPort:
                return TryReadPort(ref reader, index, name, out f.ServerPort, out error);
            case Param.ClientIp:
                if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.ClientIp, out error))
                {
                    return false;
                }
                error = CheckClientIp(index, f.ClientIp!);
                return error is null;
            case Param.ClientPort:
                return TryReadPort(ref reader, index, name, out f.ClientPort, out error);
            case Param.User:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.User, out error);
            case Param.Admin:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Admin, out error);
            case Param.Pid:
            {
                if (!TryReadUInt64(ref reader, index, name, int.MaxValue, out var pid, out error))
                {
                    return false;
                }
                f.Pid = (int)pid;
                return true;
            }
            case Param.Process:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Process, out error);
            case Param.Uri:
                return TryReadUrl(ref reader, index, name, out f.Uri, out error);
            case Param.MailboxId:
                return TryReadUrl(ref reader, index, name, out f.MailboxId, out error);
            case Param.OldMailboxId:
                return TryReadUrl(ref reader, index, name, out f.OldMailboxId, out error);
            case Param.Uidnext:
                return TryReadUInt32(ref reader, index, name, out f.Uidnext, out error);
            case Param.Uidvalidity:
                return TryReadUInt32(ref reader, index, name, out f.Uidvalidity, out error);
            case Param.Uidset:
                if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Uidset, out error))
                {
                    return false;
                }
                error = CheckUidset(index, f.Uidset!);
                return error is null;
            case Param.Messages:
                return TryReadUInt32(ref reader, index, name, out f.Messages, out error);
            case Param.Modseq:
                return TryReadUInt64(ref reader, index, name, out f.Modseq, out error);
            case Param.MaxMessages:
                return TryReadUInt32(ref reader, index, name, out f.MaxMessages, out error);
            case Param.MessageSize:
                return TryReadUInt64(ref reader, index, name, out f.MessageSize, out error);
            case Param.DiskQuota:
                return TryReadUInt64(ref reader, index, name, out f.DiskQuota, out error);
            case Param.DiskUsed:
                return TryReadUInt64(ref reader, index, name, out f.DiskUsed, out error);
            case Param.FlagNames:
                return TryReadFlagNames(ref reader, index, ref f, out error);
            case Param.Tags:
                return TryReadStringArray(ref reader, index, name, out f.Tags, out error);
            case Param.Envelope:
                return TryReadString(ref reader, index, name, StringKind.Text, MaxStringBytes, out f.Envelope, out error);
            case Param.BodyStructure:
                return TryReadString(ref reader, index, name, StringKind.Text, MaxStringBytes, out f.BodyStructure, out error);
            case Param.MessageContent:
                return TryReadString(ref reader, index, name, StringKind.Text, MaxMessageContentBytes, out f.MessageContent, out error);
            case Param.From:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.From, out error);
            case Param.Subject:
                return TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out f.Subject, out error);
            default:
                throw new InvalidOperationException("unreachable");
        }
    }

    private static bool TryReadEventType(ref Utf8JsonReader reader, int index, ref Fields f, out EventError? error)
    {
        const string name = "event";
        if (reader.TokenType != JsonTokenType.String)
        {
            error = WrongType(index, name, "a string", reader.TokenType);
            return false;
        }
        Span<char> buffer = stackalloc char[24];
        var raw = reader.ValueSpan;
        if (!reader.ValueIsEscaped && raw.Length <= buffer.Length &&
            Ascii.ToUtf16(raw, buffer, out var written) == OperationStatus.Done &&
            MailEventTypes.TryParse(buffer[..written], out f.Type))
        {
            error = null;
            return true;
        }
        TryGetString(ref reader, out var text);
        if (MailEventTypes.TryParse(text, out f.Type))
        {
            error = null;
            return true;
        }
        error = new EventError(index, name, $"'{Clip(text)}' is not an RFC 5423 event type (one of {string.Join(", ", MailEventTypes.All.Select(t => t.ToRfcName()))})");
        return false;
    }

    // The rules that depend on the event type, checked once all members are read.
    private static bool TryBuild(ref Fields f, int index, out MailEvent? mailEvent, out EventError? error)
    {
        mailEvent = null;
        if (!f.Has(Param.Event))
        {
            error = new EventError(index, "event", "'event' is required: the RFC 5423 event name, such as \"MessageNew\"");
            return false;
        }
        var type = f.Type;
        var typeName = type.ToRfcName();

        // "account" is ours; an RFC 5423 producer that sends only "user" names the account with it.
        var account = f.AccountId;
        if (f.Account is null)
        {
            if (f.User is null)
            {
                error = new EventError(index, "account", "'account' is required (or 'user', from which it is taken when 'account' is absent)");
                return false;
            }
            if (!AccountId.TryParse(f.User, out account, out var accountError))
            {
                error = new EventError(index, "user", $"'user' is not a valid account (and no 'account' was given): {accountError}");
                return false;
            }
        }

        var mailbox = MailboxPath.Root;
        MailboxPath? oldMailbox = null;
        if (type.IsMailboxEvent())
        {
            if (f.Mailbox is { } m)
            {
                if (m.IsRoot)
                {
                    error = new EventError(index, "mailbox", $"'mailbox' must name a mailbox for {typeName} events, not be empty");
                    return false;
                }
                mailbox = m;
            }
            else if (!TryMailboxFromUrl(f.MailboxId ?? f.Uri, f.MailboxId is null ? "uri" : "mailboxID", index, typeName, "mailbox", out mailbox, out error))
            {
                return false;
            }
        }
        else
        {
            if (f.Mailbox is not null)
            {
                error = new EventError(index, "mailbox", $"'mailbox' is not allowed on {typeName} events: they are about the whole account");
                return false;
            }
        }

        if (type == MailEventType.MailboxRename)
        {
            if (f.OldMailbox is { } old)
            {
                if (old.IsRoot)
                {
                    error = new EventError(index, "oldMailbox", "'oldMailbox' must name the mailbox's old name, not be empty");
                    return false;
                }
                oldMailbox = old;
            }
            else if (!TryMailboxFromUrl(f.OldMailboxId, "oldMailboxID", index, typeName, "oldMailbox", out var derived, out error))
            {
                return false;
            }
            else
            {
                oldMailbox = derived;
            }
        }
        else if (f.Has(Param.OldMailbox) || f.Has(Param.OldMailboxId))
        {
            var n = f.Has(Param.OldMailbox) ? "oldMailbox" : "oldMailboxID";
            error = new EventError(index, n, $"'{n}' is only allowed on MailboxRename events, not on {typeName}");
            return false;
        }

        if (type is MailEventType.FlagsSet or MailEventType.FlagsClear && f.FlagNames is null)
        {
            error = new EventError(index, "flagNames", $"'flagNames' is required for {typeName} events (RFC 5423 §4.2)");
            return false;
        }

        mailEvent = new MailEvent
        {
            Type = type,
            Account = account,
            Mailbox = mailbox,
            OldMailbox = oldMailbox,
            Totals = f.Totals,
            Spam = f.Spam,
            Id = f.Id,
            Timestamp = f.Timestamp,
            Service = f.Service,
            ServerDomain = f.ServerDomain,
            ServerFqdn = f.ServerFqdn,
            ServerPort = f.ServerPort,
            ClientIp = f.ClientIp,
            ClientPort = f.ClientPort,
            User = f.User,
            Admin = f.Admin,
            Pid = f.Pid,
            Process = f.Process,
            Uri = f.Uri?.ToString(),
            MailboxId = f.MailboxId?.ToString(),
            OldMailboxId = f.OldMailboxId?.ToString(),
            Uidnext = f.Uidnext,
            UidValidity = f.Uidvalidity,
            Uidset = f.Uidset,
            Messages = f.Messages,
            Modseq = f.Modseq,
            MaxMessages = f.MaxMessages,
            MessageSize = f.MessageSize,
            DiskQuota = f.DiskQuota,
            DiskUsed = f.DiskUsed,
            FlagNames = f.FlagNames,
            Tags = f.Tags,
            Envelope = f.Envelope,
            BodyStructure = f.BodyStructure,
            MessageContent = f.MessageContent,
            From = f.From,
            Subject = f.Subject,
            Vendor = f.Vendor,
        };
        error = null;
        return true;
    }

    // RFC 5423 "mailboxID"/"uri" are IMAP URLs; their mailbox name is taken with '/' as the
    // hierarchy separator (docs/events.md): the URL does not say the server's separator.
    private static bool TryMailboxFromUrl(ImapUrl? url, string urlField, int index, string typeName, string field, out MailboxPath path, out EventError? error)
    {
        path = MailboxPath.Root;
        if (url?.Mailbox is null)
        {
            var why = url is null
                ? $"'{field}' is required for {typeName} events (or an IMAP URL naming the mailbox in '{(field == "mailbox" ? "mailboxID" : "oldMailboxID")}')"
                : $"'{field}' is required for {typeName} events; '{urlField}' names no mailbox to take it from";
            error = new EventError(index, field, why);
            return false;
        }
        if (!MailboxPath.TryFromImap(url.Mailbox, MailboxPath.Separator, out path, out var pathError))
        {
            error = new EventError(index, urlField, $"'{urlField}' names a mailbox that is not usable: {pathError}");
            return false;
        }
        error = null;
        return true;
    }

    private static bool TryReadMailbox(ref Utf8JsonReader reader, int index, string name, out MailboxPath? path, out EventError? error)
    {
        path = null;
        if (reader.TokenType == JsonTokenType.String && !reader.ValueIsEscaped && reader.ValueSpan.SequenceEqual("INBOX"u8))
        {
            path = MailboxPath.Inbox; // the common case, without allocating
            error = null;
            return true;
        }
        if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out var text, out error))
        {
            return false;
        }
        if (!MailboxPath.TryParse(text, out var parsed, out var pathError))
        {
            error = new EventError(index, name, $"'{name}' is not a valid mailbox path: {pathError}");
            return false;
        }
        path = parsed;
        return true;
    }

    private static bool TryReadUrl(ref Utf8JsonReader reader, int index, string name, out ImapUrl? url, out EventError? error)
    {
        url = null;
        if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out var text, out error))
        {
            return false;
        }
        if (!ImapUrl.TryParse(text, out url, out var urlError))
        {
            error = new EventError(index, name, $"'{name}' is not a valid IMAP URL (RFC 5092): {urlError}");
            return false;
        }
        return true;
    }

    private static bool TryReadTotals(ref Utf8JsonReader reader, int index, ref Fields f, out EventError? error)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            error = WrongType(index, "totals", "an object with messages, unseen, uidnext and uidvalidity", reader.TokenType);
            return false;
        }
        Span<uint> values = stackalloc uint[4];
        var seen = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndObject)
        {
            var key = reader.ValueSpan;
            var slot = reader.ValueIsEscaped ? -1
                : key.SequenceEqual("messages"u8) ? 0
                : key.SequenceEqual("unseen"u8) ? 1
                : key.SequenceEqual("uidnext"u8) ? 2
                : key.SequenceEqual("uidvalidity"u8) ? 3
                : -1;
            if (slot < 0 && reader.ValueIsEscaped)
            {
                slot = reader.ValueTextEquals("messages"u8) ? 0
                    : reader.ValueTextEquals("unseen"u8) ? 1
                    : reader.ValueTextEquals("uidnext"u8) ? 2
                    : reader.ValueTextEquals("uidvalidity"u8) ? 3
                    : -1;
            }
            if (slot < 0)
            {
                TryGetString(ref reader, out var unknown);
                error = new EventError(index, "totals." + Clip(unknown),
                    $"'totals' has an unknown member '{Clip(unknown)}'; it holds exactly messages, unseen, uidnext and uidvalidity");
                return false;
            }
            var field = TotalsNames[slot];
            if ((seen & (1 << slot)) != 0)
            {
                error = new EventError(index, field, $"'{field}' appears more than once");
                return false;
            }
            seen |= 1 << slot;
            reader.Read();
            if (!TryReadUInt32(ref reader, index, field, out var v, out error))
            {
                return false;
            }
            values[slot] = v!.Value;
        }
        if (seen != 0b1111)
        {
            var missing = TotalsNames[System.Numerics.BitOperations.TrailingZeroCount(~seen & 0b1111)];
            error = new EventError(index, missing, $"'{missing}' is required: 'totals' must have all of messages, unseen, uidnext and uidvalidity");
            return false;
        }
        // unseen > messages is accepted: a server's counts can race (docs/events.md).
        f.Totals = new MailboxTotals(values[0], values[1], values[2], values[3]);
        error = null;
        return true;
    }

    private static readonly string[] TotalsNames = ["totals.messages", "totals.unseen", "totals.uidnext", "totals.uidvalidity"];

    private static bool TryReadFlagNames(ref Utf8JsonReader reader, int index, ref Fields f, out EventError? error)
    {
        const string name = "flagNames";
        string[] flags;
        if (reader.TokenType == JsonTokenType.String)
        {
            // Cyrus sends one string of space-separated flags.
            if (!TryReadString(ref reader, index, name, StringKind.Line, MaxStringBytes, out var text, out error))
            {
                return false;
            }
            flags = text!.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            error = CheckFlagWords(index, flags);
            if (error is not null)
            {
                return false;
            }
        }
        else if (reader.TokenType == JsonTokenType.StartArray)
        {
            if (!TryReadStringArray(ref reader, index, name, out flags!, out error))
            {
                return false;
            }
            for (var i = 0; i < flags.Length; i++)
            {
                if (!ImapSyntax.IsFlag(flags[i]))
                {
                    var item = $"{name}[{i}]";
                    error = new EventError(index, item, $"'{item}' value '{Clip(flags[i])}' is not an IMAP flag or keyword (RFC 3501 §9 flag)");
                    return false;
                }
                if (IsRecent(flags[i]))
                {
                    var item = $"{name}[{i}]";
                    error = new EventError(index, item, $"'{item}' must not be \\Recent (RFC 5423 §4.2)");
                    return false;
                }
            }
        }
        else
        {
            error = WrongType(index, name, "a string of space-separated flags or an array of flags", reader.TokenType);
            return false;
        }
        if (flags.Length == 0)
        {
            error = new EventError(index, name, $"'{name}' names no flag");
            return false;
        }
        f.FlagNames = flags;
        error = null;
        return true;
    }

    // Flags are case-insensitive (RFC 3501 §2.3.2).
    private static bool IsRecent(string flag) => flag.Equals("\\Recent", StringComparison.OrdinalIgnoreCase);

    private static bool TryReadStringArray(ref Utf8JsonReader reader, int index, string name, out string[]? items, out EventError? error)
    {
        items = null;
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            error = WrongType(index, name, "an array of strings", reader.TokenType);
            return false;
        }
        var list = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var item = $"{name}[{list.Count}]";
            if (list.Count == MaxListItems)
            {
                error = new EventError(index, name, $"'{name}' has more than {MaxListItems} items");
                return false;
            }
            if (!TryReadString(ref reader, index, item, StringKind.Line, MaxStringBytes, out var s, out error))
            {
                return false;
            }
            if (s!.Length == 0)
            {
                error = new EventError(index, item, $"'{item}' is empty");
                return false;
            }
            list.Add(s);
        }
        items = [.. list];
        error = null;
        return true;
    }

    private static bool TryReadVendor(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, int index, string name, ref Fields f, out EventError? error)
    {
        f.Vendor ??= [];
        error = CheckVendorSlot(index, name, f.Vendor);
        if (error is not null)
        {
            return false;
        }
        if (!TryReadVendorValue(ref reader, input, index, name, out var raw, out error))
        {
            return false;
        }
        f.Vendor.Add(new VendorParameter(name, raw!));
        return true;
    }

    /// <summary>A vendor parameter's value as raw JSON text; the reader is on its first token and ends on its last.</summary>
    private static bool TryReadVendorValue(ref Utf8JsonReader reader, ReadOnlySpan<byte> input, int index, string name, out string? value, out EventError? error)
    {
        value = null;
        var start = (int)reader.TokenStartIndex;
        var baseDepth = reader.CurrentDepth;
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            // Walk the value to bound its depth (reader.Skip() would not tell us).
            while (reader.Read() && reader.CurrentDepth > baseDepth)
            {
                if (reader.CurrentDepth - baseDepth >= MaxVendorDepth)
                {
                    error = new EventError(index, Clip(name), $"'{Clip(name)}' is nested deeper than {MaxVendorDepth} levels");
                    return false;
                }
            }
        }
        var end = (int)reader.BytesConsumed;
        var raw = input[start..end];
        if (!Utf8.IsValid(raw))
        {
            error = new EventError(index, Clip(name), $"'{Clip(name)}' is not valid UTF-8");
            return false;
        }
        if (raw.Length > MaxStringBytes && reader.TokenType == JsonTokenType.String)
        {
            error = new EventError(index, Clip(name), $"'{Clip(name)}' is longer than {MaxStringBytes / 1024} KiB");
            return false;
        }
        value = Encoding.UTF8.GetString(raw);
        error = null;
        return true;
    }

    // RFC 5423 §6: vendor parameters are named "vnd." followed by the vendor's own name.
    private static bool IsVendorName(string name) => name.StartsWith("vnd.", StringComparison.Ordinal) && name.Length > 4;

    private static EventError UnknownParameter(int index, string name) =>
        new(index, Clip(name), $"unknown parameter '{Clip(name)}'; vendor parameters must start with 'vnd.' (RFC 5423 §6)");

    /// <summary>Room for one more vendor parameter named <paramref name="name"/>: not a repeat, not one too many.</summary>
    private static EventError? CheckVendorSlot(int index, string name, List<VendorParameter> existing)
    {
        foreach (var p in existing)
        {
            if (p.Name == name)
            {
                return new EventError(index, Clip(name), $"'{Clip(name)}' appears more than once");
            }
        }
        return existing.Count == MaxVendorParameters
            ? new EventError(index, Clip(name), $"an event may carry at most {MaxVendorParameters} vendor parameters")
            : null;
    }

    private enum StringKind
    {
        /// <summary>One line of text: no control characters except TAB.</summary>
        Line,

        /// <summary>Any text (message content, IMAP ENVELOPE/BODYSTRUCTURE may span lines).</summary>
        Text,
    }

    private static bool TryReadString(ref Utf8JsonReader reader, int index, string name, StringKind kind, int maxBytes, out string? value, out EventError? error)
    {
        value = null;
        if (reader.TokenType != JsonTokenType.String)
        {
            error = WrongType(index, name, "a string", reader.TokenType);
            return false;
        }
        var raw = reader.ValueSpan;
        if (!TryGetString(ref reader, out var s))
        {
            // GetString validates while transcoding; find out which way it failed only now.
            error = !reader.ValueIsEscaped && !Utf8.IsValid(raw)
                ? new EventError(index, name, $"'{name}' is not valid UTF-8")
                : new EventError(index, name, $"'{name}' is not valid Unicode text (a lone surrogate escape or invalid UTF-8)");
            return false;
        }
        var bytes = reader.ValueIsEscaped ? Encoding.UTF8.GetByteCount(s) : raw.Length;
        error = CheckText(index, name, s, bytes, kind, maxBytes);
        if (error is not null)
        {
            return false;
        }
        value = s;
        return true;
    }

    /// <summary>The rules for a string's content once it is text: size in UTF-8 bytes, control characters.</summary>
    private static EventError? CheckText(int index, string name, string s, int utf8Bytes, StringKind kind, int maxBytes)
    {
        if (utf8Bytes > maxBytes)
        {
            return new EventError(index, name, $"'{name}' is longer than {maxBytes / 1024} KiB");
        }
        if (kind == StringKind.Line)
        {
            var at = s.AsSpan().IndexOfAny(LineForbidden);
            if (at >= 0)
            {
                return new EventError(index, name, $"'{name}' contains a control character (U+{(int)s[at]:X4})");
            }
        }
        else if (s.Contains('\0', StringComparison.Ordinal))
        {
            return new EventError(index, name, $"'{name}' contains a NUL character");
        }
        return null;
    }

    // "id": printable ASCII without spaces, so it can go in logs and headers as is.
    private static EventError? CheckId(int index, string id)
    {
        const string name = "id";
        if (id.Length is 0 or > MaxIdLength)
        {
            return new EventError(index, name, $"'{name}' must be 1 to {MaxIdLength} characters long, not {id.Length}");
        }
        foreach (var c in id)
        {
            if (c is < '!' or > '~')
            {
                return new EventError(index, name, $"'{name}' may contain only printable ASCII characters without spaces (found U+{(int)c:X4})");
            }
        }
        return null;
    }

    private static EventError? CheckClientIp(int index, string clientIp)
    {
        const string name = "clientIP";
        return !clientIp.AsSpan().ContainsAny('.', ':') || !System.Net.IPAddress.TryParse(clientIp, out _)
            ? new EventError(index, name, $"'{name}' value '{Clip(clientIp)}' is not an IPv4 or IPv6 address")
            : null;
    }

    private static EventError? CheckUidset(int index, string uidset)
    {
        const string name = "uidset";
        return ImapSyntax.IsSequenceSet(uidset, out var setError) ? null : new EventError(index, name, $"'{name}' {setError}");
    }

    /// <summary>The flags of "flagNames" in its string form (space-separated, as Cyrus sends it and the encoder writes it).</summary>
    private static EventError? CheckFlagWords(int index, IReadOnlyList<string> flags)
    {
        const string name = "flagNames";
        if (flags.Count > MaxListItems)
        {
            return new EventError(index, name, $"'{name}' has more than {MaxListItems} flags");
        }
        foreach (var flag in flags)
        {
            if (!ImapSyntax.IsFlag(flag))
            {
                return new EventError(index, name, $"'{name}' contains '{Clip(flag)}', which is not an IMAP flag or keyword (RFC 3501 §9 flag)");
            }
            if (IsRecent(flag))
            {
                return new EventError(index, name, $"'{name}' must not include \\Recent (RFC 5423 §4.2)");
            }
        }
        return null;
    }

    /// <summary>char.IsControl minus TAB: C0, DEL and C1.</summary>
    private static readonly SearchValues<char> LineForbidden = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Where(c => c != '\t').Select(c => (char)c), .. Enumerable.Range(0x7F, 0x21).Select(c => (char)c)]);

    private static bool TryGetString(ref Utf8JsonReader reader, out string value)
    {
        try
        {
            value = reader.GetString() ?? "";
            return true;
        }
        catch (InvalidOperationException)
        {
            // Invalid UTF-8 or a lone surrogate escape: keep a readable rendering for messages.
            value = Encoding.UTF8.GetString(reader.ValueSpan);
            return false;
        }
    }

    private static bool TryReadUInt32(ref Utf8JsonReader reader, int index, string name, out uint? value, out EventError? error)
    {
        value = null;
        if (!TryReadUInt64(ref reader, index, name, uint.MaxValue, out var v, out error))
        {
            return false;
        }
        value = (uint)v;
        return true;
    }

    private static bool TryReadUInt64(ref Utf8JsonReader reader, int index, string name, out ulong? value, out EventError? error)
    {
        value = null;
        if (!TryReadUInt64(ref reader, index, name, ulong.MaxValue, out var v, out error))
        {
            return false;
        }
        value = v;
        return true;
    }

    private static bool TryReadPort(ref Utf8JsonReader reader, int index, string name, out int? value, out EventError? error)
    {
        value = null;
        if (!TryReadUInt64(ref reader, index, name, 65535, out var v, out error))
        {
            return false;
        }
        value = (int)v;
        return true;
    }

    /// <summary>A JSON integer from 0 to <paramref name="max"/>: no strings, fractions or exponents.</summary>
    private static bool TryReadUInt64(ref Utf8JsonReader reader, int index, string name, ulong max, out ulong value, out EventError? error)
    {
        value = 0;
        if (reader.TokenType != JsonTokenType.Number)
        {
            error = WrongType(index, name, $"a whole number from 0 to {max}", reader.TokenType);
            return false;
        }
        if (reader.TryGetUInt64(out value) && value <= max)
        {
            error = null;
            return true; // the common case: a plain integer in range
        }
        var raw = reader.ValueSpan;
        if (raw.IndexOfAny((byte)'.', (byte)'e', (byte)'E') >= 0)
        {
            error = new EventError(index, name, $"'{name}' must be a whole number from 0 to {max}, written without a fraction or exponent (got {Clip(Encoding.UTF8.GetString(raw))})");
            return false;
        }
        if (raw[0] == '-')
        {
            error = Negative(index, name, max, Encoding.UTF8.GetString(raw));
            return false;
        }
        if (!reader.TryGetUInt64(out value) || value > max)
        {
            error = TooLarge(index, name, max, Encoding.UTF8.GetString(raw));
            return false;
        }
        error = null;
        return true;
    }

    private static EventError Negative(int index, string name, ulong max, string number) =>
        new(index, name, $"'{name}' must be a whole number from 0 to {max}, not negative (got {Clip(number)})");

    private static EventError TooLarge(int index, string name, ulong max, string number) =>
        new(index, name, $"'{name}' is too large: it must be a whole number from 0 to {max} (got {Clip(number)})");

    private static EventError WrongType(int index, string name, string expected, JsonTokenType got) =>
        new(index, name, $"'{name}' must be {expected}, not {Describe(got)}");

    internal static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "true/false",
        JsonTokenType.Null => "null (leave the parameter out instead)",
        _ => t.ToString(),
    };

    /// <summary>Skips the current value, whatever it is (reader ends on its last token).</summary>
    internal static void SkipValue(ref Utf8JsonReader reader)
    {
        if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
        {
            var depth = reader.CurrentDepth;
            while (reader.Read() && reader.CurrentDepth > depth)
            {
            }
        }
    }

    /// <summary>Keeps hostile names and values from bloating error messages.</summary>
    internal static string Clip(string? s) =>
        s is null ? "" : s.Length <= 64 ? s : string.Concat(s.AsSpan(0, 64), "…");

    private static string NameOf(Param p) => ParamNames[(int)p];

    private static readonly string[] ParamNames =
    [
        "event", "account", "mailbox", "oldMailbox", "totals", "spam", "id",
        "timestamp", "service", "serverDomain", "serverFQDN", "serverPort", "clientIP", "clientPort", "user", "admin",
        "pid", "process", "uri", "mailboxID", "oldMailboxID", "uidnext", "uidvalidity", "uidset", "messages", "modseq",
        "maxMessages", "messageSize", "diskQuota", "diskUsed", "flagNames", "tags", "envelope", "bodyStructure",
        "messageContent", "from", "subject",
    ];
}
