using System.Buffers;
using System.Globalization;
using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Turns one complete response (as delimited by <see cref="ImapResponseFramer"/>) into a typed
/// <see cref="ImapResponse"/> following RFC 3501 §7 and §9 (and RFC 9051, 2342, 4314, 4731, 5161,
/// 5258, 5465, 5819, 7162 for their responses). Pure: no I/O and no state between calls.
/// </summary>
public static class ImapResponseParser
{
    /// <summary>Parses a response held in a sequence (copied once if it spans segments).</summary>
    public static ImapResponse Parse(in ReadOnlySequence<byte> response, ImapLimits limits)
    {
        if (response.IsSingleSegment)
        {
            return Parse(response.FirstSpan, limits);
        }
        var length = checked((int)response.Length);
        var rented = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            response.CopyTo(rented);
            return Parse(rented.AsSpan(0, length), limits);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    /// <summary>Parses one response, CRLF included.</summary>
    /// <exception cref="ImapProtocolException">the response breaks the formal syntax or a limit.</exception>
    public static ImapResponse Parse(ReadOnlySpan<byte> response, ImapLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var t = new ImapTokenizer(response, limits);
        ImapResponse result;
        if (t.TryConsume((byte)'+'))
        {
            // continue-req = "+" SP (resp-text / base64) CRLF; a bare "+" is common and harmless.
            t.TryConsume((byte)' ');
            result = new ImapContinuationResponse(t.Text());
        }
        else if (t.TryConsume((byte)'*'))
        {
            t.Space();
            result = Untagged(ref t);
        }
        else
        {
            result = Tagged(ref t);
        }
        t.End();
        return result;
    }

    /// <summary>"INBOX" in any case is INBOX (RFC 3501 §5.1); other names are modified UTF-7 (§5.1.3).</summary>
    public static string DecodeMailboxName(string wire)
    {
        ArgumentNullException.ThrowIfNull(wire);
        if (string.Equals(wire, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return "INBOX";
        }
        return ModifiedUtf7.TryDecode(wire, out var decoded, out var error)
            ? decoded
            : throw new ImapProtocolException($"mailbox name from the server: {error}");
    }

    private static ImapTaggedResponse Tagged(ref ImapTokenizer t)
    {
        // tag = 1*<any ASTRING-CHAR except "+">
        var tagSpan = t.AStringAtom();
        if (tagSpan.Contains((byte)'+'))
        {
            throw t.Error("'+' in tag");
        }
        var tag = Encoding.ASCII.GetString(tagSpan);
        t.Space();
        var status = t.Atom();
        var s = Ascii.EqualsIgnoreCase(status, "OK"u8) ? ImapStatus.Ok
            : Ascii.EqualsIgnoreCase(status, "NO"u8) ? ImapStatus.No
            : Ascii.EqualsIgnoreCase(status, "BAD"u8) ? ImapStatus.Bad
            : throw t.Error("expected OK, NO or BAD in a tagged response");
        var (code, text) = RespText(ref t);
        return new ImapTaggedResponse(tag, s, code, text);
    }

    /// <summary>resp-text = ["[" resp-text-code "]" SP] text (RFC 3501 §9; RFC 9051 allows empty text).</summary>
    private static (ImapResponseCode? Code, string Text) RespText(ref ImapTokenizer t)
    {
        if (t.AtEnd)
        {
            return (null, "");
        }
        t.Space();
        ImapResponseCode? code = null;
        if (t.TryConsume((byte)'['))
        {
            code = ResponseCode(ref t);
            t.Expect((byte)']', "']' closing the response code");
            if (!t.AtEnd)
            {
                t.Space();
            }
        }
        return (code, t.Text());
    }

    private static ImapResponseCode ResponseCode(ref ImapTokenizer t)
    {
        var name = t.AtomString().ToUpperInvariant();
        switch (name)
        {
            case "UIDVALIDITY":
            case "UIDNEXT":
            case "UNSEEN":
                t.Space();
                return new ImapResponseCode(name, number: t.NzNumber());
            case "HIGHESTMODSEQ":
                t.Space();
                return new ImapResponseCode(name, number: t.Number64());
            case "PERMANENTFLAGS":
                t.Space();
                return new ImapResponseCode(name, items: t.FlagList());
            case "CAPABILITY":
                {
                    var caps = new List<string>();
                    while (t.TryConsume((byte)' '))
                    {
                        caps.Add(t.AtomString());
                    }
                    return new ImapResponseCode(name, items: caps);
                }
            case "BADCHARSET":
            case "BADEVENT":
                {
                    // "BADCHARSET" [SP "(" astring *(SP astring) ")"]; "BADEVENT" SP "(" event-name... ")" (RFC 5465 §8).
                    var items = new List<string>();
                    if (t.TryConsume((byte)' '))
                    {
                        t.Open();
                        while (!t.TryConsume((byte)')'))
                        {
                            if (items.Count > 0)
                            {
                                t.Space();
                            }
                            items.Add(t.AString());
                        }
                        t.Close0();
                    }
                    return new ImapResponseCode(name, items: items);
                }
        }
        // Other codes: atom [SP 1*<any TEXT-CHAR except "]">].
        if (!t.TryConsume((byte)' '))
        {
            return new ImapResponseCode(name);
        }
        return new ImapResponseCode(name, text: t.CodeText());
    }

    private static ImapUntaggedResponse Untagged(ref ImapTokenizer t)
    {
        if (t.PeekDigit())
        {
            var number = t.Number();
            t.Space();
            var kind = t.Atom();
            if (Ascii.EqualsIgnoreCase(kind, "EXISTS"u8))
            {
                return new ImapExistsResponse(number);
            }
            if (Ascii.EqualsIgnoreCase(kind, "RECENT"u8))
            {
                return new ImapRecentResponse(number);
            }
            if (number == 0)
            {
                throw t.Error("message sequence number 0");
            }
            if (Ascii.EqualsIgnoreCase(kind, "EXPUNGE"u8))
            {
                return new ImapExpungeResponse(number);
            }
            if (Ascii.EqualsIgnoreCase(kind, "FETCH"u8))
            {
                t.Space();
                return Fetch(ref t, number);
            }
            return new ImapGenericUntaggedResponse(Encoding.ASCII.GetString(kind).ToUpperInvariant(), number, Rest(ref t));
        }
        var name = t.Atom();
        if (name.Length is 2 or 3 or 7)
        {
            ImapStatus? status = Ascii.EqualsIgnoreCase(name, "OK"u8) ? ImapStatus.Ok
                : Ascii.EqualsIgnoreCase(name, "NO"u8) ? ImapStatus.No
                : Ascii.EqualsIgnoreCase(name, "BAD"u8) ? ImapStatus.Bad
                : Ascii.EqualsIgnoreCase(name, "BYE"u8) ? ImapStatus.Bye
                : Ascii.EqualsIgnoreCase(name, "PREAUTH"u8) ? ImapStatus.PreAuth
                : null;
            if (status is { } st)
            {
                var (code, text) = RespText(ref t);
                return new ImapUntaggedStatusResponse(st, code, text);
            }
        }
        var upper = Encoding.ASCII.GetString(name).ToUpperInvariant();
        switch (upper)
        {
            case "CAPABILITY":
            case "ENABLED":
                {
                    var caps = new List<string>();
                    while (t.TryConsume((byte)' '))
                    {
                        caps.Add(t.AtomString());
                    }
                    return upper == "ENABLED" ? new ImapEnabledResponse(caps) : new ImapCapabilityResponse(caps);
                }
            case "FLAGS":
                t.Space();
                return new ImapFlagsResponse(t.FlagList());
            case "LIST":
            case "LSUB":
                t.Space();
                return List(ref t, upper == "LSUB");
            case "STATUS":
                t.Space();
                return Status(ref t);
            case "SEARCH":
                return Search(ref t);
            case "ESEARCH":
                return ESearch(ref t);
            case "VANISHED":
                return Vanished(ref t);
            case "NAMESPACE":
                {
                    t.Space();
                    var personal = Namespaces(ref t);
                    t.Space();
                    var other = Namespaces(ref t);
                    t.Space();
                    var shared = Namespaces(ref t);
                    return new ImapNamespaceResponse(personal, other, shared);
                }
            case "ACL":
                {
                    t.Space();
                    var mailbox = Mailbox(ref t);
                    var entries = new List<KeyValuePair<string, string>>();
                    while (t.TryConsume((byte)' '))
                    {
                        var id = t.AString();
                        t.Space();
                        entries.Add(new(id, t.AString()));
                    }
                    return new ImapAclResponse(mailbox, entries);
                }
            case "MYRIGHTS":
                {
                    t.Space();
                    var mailbox = Mailbox(ref t);
                    t.Space();
                    return new ImapMyRightsResponse(mailbox, t.AString());
                }
            case "LISTRIGHTS":
                {
                    t.Space();
                    var mailbox = Mailbox(ref t);
                    t.Space();
                    var id = t.AString();
                    t.Space();
                    var required = t.AString();
                    var optional = new List<string>();
                    while (t.TryConsume((byte)' '))
                    {
                        optional.Add(t.AString());
                    }
                    return new ImapListRightsResponse(mailbox, id, required, optional);
                }
        }
        return new ImapGenericUntaggedResponse(upper, null, Rest(ref t));
    }

    private static List<ImapValue> Rest(ref ImapTokenizer t)
    {
        var values = new List<ImapValue>();
        while (t.TryConsume((byte)' '))
        {
            if (t.AtEnd)
            {
                break;
            }
            values.Add(t.Value());
        }
        return values;
    }

    /// <summary>mailbox = "INBOX" / astring, decoded (RFC 3501 §9).</summary>
    private static string Mailbox(ref ImapTokenizer t)
    {
        var at = t.Position;
        var wire = t.AString();
        if (string.Equals(wire, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return "INBOX";
        }
        if (!ModifiedUtf7.TryDecode(wire, out var decoded, out var error))
        {
            throw new ImapProtocolException($"mailbox name: {error}", at, wire);
        }
        return decoded;
    }

    /// <summary>(QUOTED-CHAR / NIL): a hierarchy delimiter.</summary>
    private static char? Delimiter(ref ImapTokenizer t)
    {
        if (t.TryNil())
        {
            return null;
        }
        var q = t.Quoted();
        if (q.Length != 1)
        {
            throw t.Error("hierarchy delimiter must be one character");
        }
        return q[0];
    }

    /// <summary>mailbox-list = "(" [mbx-list-flags] ")" SP (DQUOTE QUOTED-CHAR DQUOTE / nil) SP mailbox [SP mbox-list-extended] (RFC 5258 §9).</summary>
    private static ImapListResponse List(ref ImapTokenizer t, bool lsub)
    {
        var attributes = t.FlagList();
        t.Space();
        var delimiter = Delimiter(ref t);
        t.Space();
        var mailbox = Mailbox(ref t);
        IReadOnlyList<KeyValuePair<string, ImapValue>> extended = [];
        if (t.TryConsume((byte)' '))
        {
            var items = new List<KeyValuePair<string, ImapValue>>();
            t.Open();
            while (!t.TryConsume((byte)')'))
            {
                if (items.Count > 0)
                {
                    t.Space();
                }
                var tag = t.AString();
                t.Space();
                items.Add(new(tag, t.Value()));
            }
            t.Close0();
            extended = items;
        }
        return new ImapListResponse(lsub, attributes, delimiter, mailbox, extended);
    }

    /// <summary>"STATUS" SP mailbox SP "(" [status-att-list] ")" (RFC 3501 §9, RFC 9051 §9).</summary>
    private static ImapStatusResponse Status(ref ImapTokenizer t)
    {
        var mailbox = Mailbox(ref t);
        t.Space();
        return new ImapStatusResponse(mailbox, StatusItems(ref t));
    }

    private static ImapStatusItems StatusItems(ref ImapTokenizer t)
    {
        var items = new ImapStatusItems();
        t.Open();
        var first = true;
        while (!t.TryConsume((byte)')'))
        {
            if (!first)
            {
                t.Space();
            }
            first = false;
            var name = Encoding.ASCII.GetString(t.Atom()).ToUpperInvariant();
            t.Space();
            items = name switch
            {
                "MESSAGES" => items with { Messages = t.Number() },
                "RECENT" => items with { Recent = t.Number() },
                "UIDNEXT" => items with { UidNext = t.NzNumber() },
                "UIDVALIDITY" => items with { UidValidity = t.NzNumber() },
                "UNSEEN" => items with { Unseen = t.Number() },
                "HIGHESTMODSEQ" => items with { HighestModSeq = (ulong)t.Number64() },
                "SIZE" => items with { Size = t.Number64() },
                "DELETED" => items with { Deleted = t.Number() },
                _ => SkipStatusItem(ref t, items),
            };
        }
        t.Close0();
        return items;
    }

    private static ImapStatusItems SkipStatusItem(ref ImapTokenizer t, ImapStatusItems items)
    {
        t.SkipValue();
        return items;
    }

    /// <summary>"SEARCH" *(SP nz-number) [SP "(" "MODSEQ" SP mod-sequence-value ")"].</summary>
    private static ImapSearchResponse Search(ref ImapTokenizer t)
    {
        var numbers = new List<uint>();
        ulong? modseq = null;
        while (t.TryConsume((byte)' '))
        {
            if (t.Peek() == '(')
            {
                t.Open();
                var name = t.Atom();
                if (!Ascii.EqualsIgnoreCase(name, "MODSEQ"u8))
                {
                    throw t.Error("expected MODSEQ in SEARCH");
                }
                t.Space();
                modseq = (ulong)t.Number64();
                t.Close();
                break;
            }
            if (t.AtEnd)
            {
                break;
            }
            numbers.Add(t.NzNumber());
        }
        return new ImapSearchResponse(numbers, modseq);
    }

    /// <summary>"ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data) (RFC 4731 §3.1).</summary>
    private static ImapESearchResponse ESearch(ref ImapTokenizer t)
    {
        string? tag = null;
        var uid = false;
        uint? min = null, max = null, count = null;
        ImapSequenceSet? all = null;
        ulong? modseq = null;
        if (t.Peek() == ' ' && t.PeekAt(1) == '(')
        {
            t.Space();
            t.Open();
            var word = t.Atom();
            if (!Ascii.EqualsIgnoreCase(word, "TAG"u8))
            {
                throw t.Error("expected TAG in the ESEARCH correlator");
            }
            t.Space();
            tag = t.String();
            t.Close();
        }
        while (t.TryConsume((byte)' '))
        {
            var name = Encoding.ASCII.GetString(t.Atom()).ToUpperInvariant();
            if (name == "UID")
            {
                uid = true;
                continue;
            }
            t.Space();
            switch (name)
            {
                case "MIN": min = t.NzNumber(); break;
                case "MAX": max = t.NzNumber(); break;
                case "COUNT": count = t.Number(); break;
                case "MODSEQ": modseq = (ulong)t.Number64(); break;
                case "ALL": all = SequenceSet(ref t); break;
                default: t.SkipValue(); break;
            }
        }
        return new ImapESearchResponse(tag, uid, min, max, count, all, modseq);
    }

    /// <summary>"VANISHED" [SP "(EARLIER)"] SP known-uids (RFC 7162 §3.2.10).</summary>
    private static ImapVanishedResponse Vanished(ref ImapTokenizer t)
    {
        t.Space();
        var earlier = false;
        if (t.Peek() == '(')
        {
            t.Open();
            if (!Ascii.EqualsIgnoreCase(t.Atom(), "EARLIER"u8))
            {
                throw t.Error("expected EARLIER");
            }
            t.Close();
            t.Space();
            earlier = true;
        }
        return new ImapVanishedResponse(earlier, SequenceSet(ref t));
    }

    private static ImapSequenceSet SequenceSet(ref ImapTokenizer t)
    {
        var at = t.Position;
        var text = Encoding.ASCII.GetString(t.Atom());
        try
        {
            return ImapSequenceSet.Parse(text);
        }
        catch (FormatException e)
        {
            throw new ImapProtocolException(e.Message, at, text);
        }
    }

    /// <summary>Namespace = nil / "(" 1*Namespace-Descr ")" (RFC 2342 §5); extensions are skipped.</summary>
    private static List<ImapNamespace> Namespaces(ref ImapTokenizer t)
    {
        var list = new List<ImapNamespace>();
        if (t.TryNil())
        {
            return list;
        }
        t.Open();
        while (!t.TryConsume((byte)')'))
        {
            t.Open();
            var prefix = t.String();
            t.Space();
            var delimiter = Delimiter(ref t);
            while (t.TryConsume((byte)' '))
            {
                t.SkipValue();
            }
            t.Close();
            list.Add(new ImapNamespace(prefix, delimiter));
        }
        t.Close0();
        return list;
    }

    /// <summary>msg-att = "(" (msg-att-dynamic / msg-att-static) *(SP ...) ")" (RFC 3501 §9, RFC 7162 §7).</summary>
    private static ImapFetchResponse Fetch(ref ImapTokenizer t, uint sequenceNumber)
    {
        uint? uid = null;
        List<string>? flags = null;
        ImapEnvelope? envelope = null;
        long? size = null;
        DateTimeOffset? internalDate = null;
        ulong? modseq = null;
        List<KeyValuePair<string, ImapValue>>? other = null;
        t.Open();
        var first = true;
        while (!t.TryConsume((byte)')'))
        {
            if (!first)
            {
                t.Space();
            }
            first = false;
            // Known items are matched on the bytes: no string per item name on the hot path.
            var start = t.Position;
            var atom = t.Atom();
            if (t.Peek() != ' ')
            {
                // BODY[...] and other names with a section: read the whole name below.
                atom = default;
            }
            else
            {
                t.Space();
            }
            if (atom.IsEmpty)
            {
                t.Rewind(start);
                var name = FetchItemName(ref t);
                t.Space();
                (other ??= []).Add(new(name, t.Value()));
            }
            else if (Ascii.EqualsIgnoreCase(atom, "UID"u8))
            {
                uid = t.NzNumber();
            }
            else if (Ascii.EqualsIgnoreCase(atom, "FLAGS"u8))
            {
                flags = t.FlagList();
            }
            else if (Ascii.EqualsIgnoreCase(atom, "RFC822.SIZE"u8))
            {
                size = t.Number64();
            }
            else if (Ascii.EqualsIgnoreCase(atom, "ENVELOPE"u8))
            {
                envelope = Envelope(ref t);
            }
            else if (Ascii.EqualsIgnoreCase(atom, "INTERNALDATE"u8))
            {
                internalDate = DateTime(ref t);
            }
            else if (Ascii.EqualsIgnoreCase(atom, "MODSEQ"u8))
            {
                t.Open();
                modseq = (ulong)t.Number64();
                t.Close();
            }
            else
            {
                t.Rewind(start);
                var name = FetchItemName(ref t);
                t.Space();
                (other ??= []).Add(new(name, t.Value()));
            }
        }
        t.Close0();
        return new ImapFetchResponse(sequenceNumber)
        {
            Uid = uid,
            Flags = flags,
            Envelope = envelope,
            Rfc822Size = size,
            InternalDate = internalDate,
            ModSeq = modseq,
            Other = (IReadOnlyList<KeyValuePair<string, ImapValue>>?)other ?? [],
        };
    }

    /// <summary>A FETCH item name, including a "[section]" (which may hold spaces) and "&lt;origin&gt;".</summary>
    private static string FetchItemName(ref ImapTokenizer t)
    {
        var start = t.Position;
        var atom = Encoding.ASCII.GetString(t.Atom()).ToUpperInvariant();
        var open = atom.IndexOf('[', StringComparison.Ordinal);
        if (open < 0)
        {
            return atom;
        }
        var sb = new StringBuilder(atom);
        // section = "[" [section-spec] "]": the spec may hold SP and a parenthesised header list.
        while (t.Peek() != ']')
        {
            var b = t.Peek();
            if (b is 0 or (byte)'\r' or (byte)'\n' || t.Position - start > 1024)
            {
                throw t.Error("unterminated section in a FETCH item name");
            }
            sb.Append((char)b);
            t.TryConsume(b);
        }
        t.TryConsume((byte)']');
        sb.Append(']');
        if (t.Peek() == '<')
        {
            t.TryConsume((byte)'<');
            sb.Append('<').Append(t.Number()).Append('>');
            t.Expect((byte)'>', "'>'");
        }
        return sb.ToString();
    }

    /// <summary>envelope = "(" env-date SP env-subject SP env-from SP env-sender SP env-reply-to SP env-to SP env-cc SP env-bcc SP env-in-reply-to SP env-message-id ")".</summary>
    private static ImapEnvelope Envelope(ref ImapTokenizer t)
    {
        t.Open();
        var date = t.NString();
        t.Space();
        var subject = t.NString();
        t.Space();
        var from = Addresses(ref t);
        t.Space();
        var sender = Addresses(ref t);
        t.Space();
        var replyTo = Addresses(ref t);
        t.Space();
        var to = Addresses(ref t);
        t.Space();
        var cc = Addresses(ref t);
        t.Space();
        var bcc = Addresses(ref t);
        t.Space();
        var inReplyTo = t.NString();
        t.Space();
        var messageId = t.NString();
        t.Close();
        return new ImapEnvelope(date, subject, from, sender, replyTo, to, cc, bcc, inReplyTo, messageId);
    }

    /// <summary>"(" 1*address ")" / nil, address = "(" addr-name SP addr-adl SP addr-mailbox SP addr-host ")".</summary>
    private static IReadOnlyList<ImapAddress> Addresses(ref ImapTokenizer t)
    {
        if (t.TryNil())
        {
            return [];
        }
        var list = new List<ImapAddress>();
        t.Open();
        while (!t.TryConsume((byte)')'))
        {
            // Some servers separate addresses with SP although the grammar does not.
            t.TryConsume((byte)' ');
            t.Open();
            var name = t.NString();
            t.Space();
            var adl = t.NString();
            t.Space();
            var mailbox = t.NString();
            t.Space();
            var host = t.NString();
            t.Close();
            list.Add(new ImapAddress(name, adl, mailbox, host));
        }
        t.Close0();
        return list;
    }

    private static readonly string[] s_months = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];

    /// <summary>date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP zone DQUOTE.</summary>
    private static DateTimeOffset DateTime(ref ImapTokenizer t)
    {
        var at = t.Position;
        var s = t.Quoted();
        // "dd-Mmm-yyyy hh:mm:ss +hhmm", day may be space-padded.
        if (s.Length == 26 && s[2] == '-' && s[6] == '-' && s[11] == ' ' && s[14] == ':' && s[17] == ':' && s[20] == ' '
            && s[21] is '+' or '-'
            && int.TryParse(s.AsSpan(0, 2).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var day)
            && Array.IndexOf(s_months, s.Substring(3, 3).ToUpperInvariant()) is var month and >= 0
            && int.TryParse(s.AsSpan(7, 4), NumberStyles.None, CultureInfo.InvariantCulture, out var year)
            && int.TryParse(s.AsSpan(12, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var hour)
            && int.TryParse(s.AsSpan(15, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var minute)
            && int.TryParse(s.AsSpan(18, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var second)
            && int.TryParse(s.AsSpan(22, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var zh)
            && int.TryParse(s.AsSpan(24, 2), NumberStyles.None, CultureInfo.InvariantCulture, out var zm))
        {
            try
            {
                var offset = new TimeSpan(zh, zm, 0);
                return new DateTimeOffset(year, month + 1, day, hour, minute, second, s[21] == '-' ? -offset : offset);
            }
            catch (ArgumentOutOfRangeException)
            {
                // falls through to the error below
            }
        }
        throw new ImapProtocolException($"invalid INTERNALDATE \"{s}\"", at, s);
    }
}
