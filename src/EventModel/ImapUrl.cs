using System.Globalization;
using System.Text;

namespace Aggregators.EventModel;

/// <summary>
/// An IMAP URL (RFC 5092) as carried in RFC 5423's "uri", "mailboxID" and "oldMailboxID".
/// <see cref="TryParse"/> is lenient (any scheme case, any case of the ";UIDVALIDITY=" style
/// parameters, unescaped space and non-ASCII characters, no '/' after the server);
/// <see cref="ToString"/> is strict: <c>imap://</c>, upper-case parameter names and the
/// percent-encoding of RFC 5092 §9 (achar for user and auth type, bchar for mailbox, section and
/// search). Values hold decoded text; the mailbox name is UTF-8 (RFC 5092 §3.2), not modified UTF-7.
/// </summary>
public sealed record ImapUrl
{
    public const int MaxLength = 8192;

    /// <summary>The IMAP user name (enc-user, decoded), if the URL names one.</summary>
    public string? User { get; init; }

    /// <summary>The ";AUTH=" mechanism, "*" for any, decoded.</summary>
    public string? Auth { get; init; }

    /// <summary>Host name (lower case), IPv4 address, or IP literal in brackets.</summary>
    public required string Host { get; init; }

    public int? Port { get; init; }

    /// <summary>The mailbox name, percent-decoded UTF-8; null when the URL names only the server.</summary>
    public string? Mailbox { get; init; }

    public uint? UidValidity { get; init; }

    /// <summary>"/;UID=": a message in <see cref="Mailbox"/>.</summary>
    public uint? Uid { get; init; }

    /// <summary>"/;SECTION=": a body part of the message (decoded).</summary>
    public string? Section { get; init; }

    /// <summary>"/;PARTIAL=offset[.length]".</summary>
    public uint? PartialOffset { get; init; }

    public uint? PartialLength { get; init; }

    /// <summary>"?enc-search": a search program naming a message list (decoded).</summary>
    public string? Search { get; init; }

    public static ImapUrl Parse(string text) =>
        TryParse(text, out var url, out var error) ? url : throw new FormatException(error);

    /// <summary>Parses an IMAP URL leniently; on failure <paramref name="error"/> says what is wrong.</summary>
    public static bool TryParse(string? text, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImapUrl? url, out string? error)
    {
        url = null;
        if (string.IsNullOrEmpty(text))
        {
            error = "IMAP URL is empty";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"IMAP URL is longer than {MaxLength} characters";
            return false;
        }
        foreach (var c in text)
        {
            if (char.IsControl(c))
            {
                error = $"IMAP URL contains a control character (U+{(int)c:X4})";
                return false;
            }
        }
        if (!text.StartsWith("imap://", StringComparison.OrdinalIgnoreCase))
        {
            error = "IMAP URL must start with 'imap://' (RFC 5092 §6)";
            return false;
        }
        var rest = text.AsSpan(7);
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? [] : rest[(slash + 1)..];

        // iserver = [iuserinfo "@"] host [":" port]   (RFC 5092 §6)
        string? user = null, auth = null;
        var at = authority.LastIndexOf('@');
        if (at >= 0)
        {
            if (!TryParseUserInfo(authority[..at], out user, out auth, out error))
            {
                return false;
            }
            authority = authority[(at + 1)..];
        }
        if (!TryParseHostPort(authority, out var host, out var port, out error))
        {
            return false;
        }

        var result = new ImapUrl { User = user, Auth = auth, Host = host, Port = port };
        if (path.IsEmpty)
        {
            url = result;
            error = null;
            return true;
        }
        return TryParsePath(path, result, out url, out error);
    }

    private static bool TryParseUserInfo(ReadOnlySpan<char> userinfo, out string? user, out string? auth, out string? error)
    {
        user = null;
        auth = null;
        var semi = userinfo.IndexOf(';');
        var userPart = semi < 0 ? userinfo : userinfo[..semi];
        if (semi >= 0)
        {
            var param = userinfo[semi..];
            if (!param.StartsWith(";AUTH=", StringComparison.OrdinalIgnoreCase))
            {
                error = "IMAP URL user info has an unknown parameter (only ';AUTH=' is defined, RFC 5092 §6)";
                return false;
            }
            var mech = param[6..];
            if (mech.IsEmpty)
            {
                error = "IMAP URL has an empty ';AUTH=' mechanism";
                return false;
            }
            if (!TryPercentDecode(mech, "auth mechanism", out auth, out error))
            {
                return false;
            }
        }
        if (!userPart.IsEmpty)
        {
            if (!TryPercentDecode(userPart, "user name", out user, out error))
            {
                return false;
            }
        }
        else if (semi < 0)
        {
            error = "IMAP URL has an empty user name before '@'";
            return false;
        }
        error = null;
        return true;
    }

    private static bool TryParseHostPort(ReadOnlySpan<char> authority, out string host, out int? port, out string? error)
    {
        host = "";
        port = null;
        ReadOnlySpan<char> hostPart;
        ReadOnlySpan<char> portPart = [];
        var hasPort = false;
        if (authority.StartsWith('['))
        {
            var close = authority.IndexOf(']');
            if (close < 0)
            {
                error = "IMAP URL host has '[' without a closing ']'";
                return false;
            }
            hostPart = authority[..(close + 1)];
            var after = authority[(close + 1)..];
            if (!after.IsEmpty)
            {
                if (after[0] != ':')
                {
                    error = "IMAP URL has characters after the IP literal ']' that are not a ':port'";
                    return false;
                }
                hasPort = true;
                portPart = after[1..];
            }
            if (!System.Net.IPAddress.TryParse(hostPart[1..^1], out _))
            {
                error = $"IMAP URL host '{hostPart}' is not a valid IP literal";
                return false;
            }
        }
        else
        {
            var colon = authority.IndexOf(':');
            hostPart = colon < 0 ? authority : authority[..colon];
            if (colon >= 0)
            {
                hasPort = true;
                portPart = authority[(colon + 1)..];
            }
            foreach (var c in hostPart)
            {
                if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' || c > 0x7F))
                {
                    error = $"IMAP URL host contains a character not allowed in a host name: '{c}'";
                    return false;
                }
            }
        }
        if (hostPart.IsEmpty)
        {
            error = "IMAP URL has no host";
            return false;
        }
        if (hasPort && !portPart.IsEmpty)
        {
            if (portPart.Length > 5 || !int.TryParse(portPart, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
            {
                error = $"IMAP URL port '{portPart}' is not a number from 0 to 65535";
                return false;
            }
            port = p;
        }
        host = hostPart.ToString().ToLowerInvariant();
        error = null;
        return true;
    }

    // ipath-query = ["/" [icommand]]; icommand = imailbox-ref ["?" enc-search]
    //   / imailbox-ref iuid [isection] [ipartial]; imailbox-ref = enc-mailbox [";UIDVALIDITY=" nz-number]
    private static bool TryParsePath(ReadOnlySpan<char> path, ImapUrl server, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out ImapUrl? url, out string? error)
    {
        url = null;
        // The mailbox runs up to the first ';' or '?': both must be percent-encoded inside it.
        var end = path.IndexOfAny(';', '?');
        var mailboxText = end < 0 ? path : path[..end];
        var rest = end < 0 ? [] : path[end..];
        if (rest.StartsWith(";UID=", StringComparison.OrdinalIgnoreCase) && mailboxText.EndsWith('/'))
        {
            mailboxText = mailboxText[..^1]; // the '/' of "/;UID="
        }
        if (mailboxText.IsEmpty)
        {
            if (!rest.IsEmpty)
            {
                error = "IMAP URL has parameters but no mailbox name";
                return false;
            }
            url = server;
            error = null;
            return true;
        }
        if (!TryPercentDecode(mailboxText, "mailbox name", out var mailbox, out error))
        {
            return false;
        }

        uint? uidValidity = null, uid = null, partialOffset = null, partialLength = null;
        string? section = null, search = null;
        if (rest.StartsWith(";UIDVALIDITY=", StringComparison.OrdinalIgnoreCase))
        {
            rest = rest[13..];
            var stop = rest.IndexOfAny('/', '?');
            if (!TryNzNumber(stop < 0 ? rest : rest[..stop], "UIDVALIDITY", out var v, out error))
            {
                return false;
            }
            uidValidity = v;
            rest = stop < 0 ? [] : rest[stop..];
        }
        if (rest.StartsWith('?'))
        {
            if (rest.Length == 1)
            {
                error = "IMAP URL has an empty search after '?'";
                return false;
            }
            if (!TryPercentDecode(rest[1..], "search", out search, out error))
            {
                return false;
            }
            rest = [];
        }
        else if (!rest.IsEmpty)
        {
            if (rest.StartsWith('/'))
            {
                rest = rest[1..];
            }
            if (!rest.StartsWith(";UID=", StringComparison.OrdinalIgnoreCase))
            {
                error = $"IMAP URL has unexpected text after the mailbox: '{Shorten(rest)}' (expected ';UIDVALIDITY=', '/;UID=' or '?search')";
                return false;
            }
            rest = rest[5..];
            var stop = rest.IndexOf('/');
            if (!TryNzNumber(stop < 0 ? rest : rest[..stop], "UID", out var u, out error))
            {
                return false;
            }
            uid = u;
            rest = stop < 0 ? [] : rest[stop..];
            if (rest.StartsWith("/;SECTION=", StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[10..];
                var partial = rest.IndexOf("/;PARTIAL=", StringComparison.OrdinalIgnoreCase);
                var sectionText = partial < 0 ? rest : rest[..partial];
                if (sectionText.IsEmpty)
                {
                    error = "IMAP URL has an empty ';SECTION='";
                    return false;
                }
                if (!TryPercentDecode(sectionText, "section", out section, out error))
                {
                    return false;
                }
                rest = partial < 0 ? [] : rest[partial..];
            }
            if (rest.StartsWith("/;PARTIAL=", StringComparison.OrdinalIgnoreCase))
            {
                rest = rest[10..];
                var dot = rest.IndexOf('.');
                var offsetText = dot < 0 ? rest : rest[..dot];
                if (!TryNumber(offsetText, "PARTIAL offset", out var offset, out error))
                {
                    return false;
                }
                partialOffset = offset;
                if (dot >= 0)
                {
                    if (!TryNzNumber(rest[(dot + 1)..], "PARTIAL length", out var length, out error))
                    {
                        return false;
                    }
                    partialLength = length;
                }
                rest = [];
            }
            if (!rest.IsEmpty)
            {
                error = rest.Contains(";URLAUTH=", StringComparison.OrdinalIgnoreCase) || rest.Contains(";EXPIRE=", StringComparison.OrdinalIgnoreCase)
                    ? "IMAP URLAUTH URLs (RFC 4467) are not accepted here"
                    : $"IMAP URL has unexpected text after the UID: '{Shorten(rest)}'";
                return false;
            }
        }

        url = server with
        {
            Mailbox = mailbox,
            UidValidity = uidValidity,
            Uid = uid,
            Section = section,
            PartialOffset = partialOffset,
            PartialLength = partialLength,
            Search = search,
        };
        error = null;
        return true;
    }

    private static string Shorten(ReadOnlySpan<char> s) => s.Length <= 40 ? s.ToString() : string.Concat(s[..40], "…");

    private static bool TryNumber(ReadOnlySpan<char> text, string what, out uint value, out string? error)
    {
        if (text.IsEmpty || text.Length > 10 || !uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            value = 0;
            error = $"IMAP URL {what} '{Shorten(text)}' is not a number from 0 to 4294967295";
            return false;
        }
        error = null;
        return true;
    }

    // nz-number = digit-nz *DIGIT (RFC 3501 §9), at most 4294967295
    private static bool TryNzNumber(ReadOnlySpan<char> text, string what, out uint value, out string? error)
    {
        if (!TryNumber(text, what, out value, out error) || value == 0 || text[0] == '0')
        {
            error = $"IMAP URL {what} '{Shorten(text)}' is not a number from 1 to 4294967295 without leading zeros";
            return false;
        }
        return true;
    }

    /// <summary>
    /// Decodes %XX escapes (UTF-8 bytes) and takes any other character as itself: unescaped
    /// space and non-ASCII are accepted (lenient). A '%' not followed by two hex digits is an error.
    /// </summary>
    private static bool TryPercentDecode(ReadOnlySpan<char> text, string what, out string? value, out string? error)
    {
        value = null;
        if (text.IndexOf('%') < 0)
        {
            value = text.ToString();
            error = null;
            return true;
        }
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !char.IsAsciiHexDigit(text[i + 1]) || !char.IsAsciiHexDigit(text[i + 2]))
                {
                    error = $"IMAP URL {what} has a '%' that is not followed by two hex digits";
                    return false;
                }
                bytes.Add((byte)(HexValue(text[i + 1]) << 4 | HexValue(text[i + 2])));
                i += 2;
                continue;
            }
            var n = char.IsHighSurrogate(c) && i + 1 < text.Length
                ? Encoding.UTF8.GetBytes(text.Slice(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(text.Slice(i, 1), utf8);
            for (var k = 0; k < n; k++)
            {
                bytes.Add(utf8[k]);
            }
        }
        var array = bytes.ToArray();
        if (!System.Text.Unicode.Utf8.IsValid(array))
        {
            error = $"IMAP URL {what} is not valid UTF-8 after %-decoding (RFC 5092 §3.2 requires UTF-8)";
            return false;
        }
        value = Encoding.UTF8.GetString(array);
        foreach (var ch in value)
        {
            if (char.IsControl(ch))
            {
                error = $"IMAP URL {what} contains an encoded control character (U+{(int)ch:X4})";
                value = null;
                return false;
            }
        }
        error = null;
        return true;
    }

    private static int HexValue(char c) => c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;

    /// <summary>The strict form: <c>imap://[user[;AUTH=x]@]host[:port]/[mailbox[;UIDVALIDITY=n][/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]]|[?search]]</c>.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder(64);
        sb.Append("imap://");
        if (User is not null || Auth is not null)
        {
            if (User is not null)
            {
                AppendEncoded(sb, User, bchar: false);
            }
            if (Auth is not null)
            {
                sb.Append(";AUTH=");
                if (Auth == "*")
                {
                    sb.Append('*');
                }
                else
                {
                    AppendEncoded(sb, Auth, bchar: false);
                }
            }
            sb.Append('@');
        }
        sb.Append(Host);
        if (Port is { } port)
        {
            sb.Append(':').Append(port.ToString(CultureInfo.InvariantCulture));
        }
        sb.Append('/');
        if (Mailbox is null)
        {
            return sb.ToString();
        }
        AppendEncoded(sb, Mailbox, bchar: true);
        if (UidValidity is { } uv)
        {
            sb.Append(";UIDVALIDITY=").Append(uv.ToString(CultureInfo.InvariantCulture));
        }
        if (Uid is { } uid)
        {
            sb.Append("/;UID=").Append(uid.ToString(CultureInfo.InvariantCulture));
            if (Section is not null)
            {
                sb.Append("/;SECTION=");
                AppendEncoded(sb, Section, bchar: true);
            }
            if (PartialOffset is { } po)
            {
                sb.Append("/;PARTIAL=").Append(po.ToString(CultureInfo.InvariantCulture));
                if (PartialLength is { } pl)
                {
                    sb.Append('.').Append(pl.ToString(CultureInfo.InvariantCulture));
                }
            }
        }
        else if (Search is not null)
        {
            sb.Append('?');
            AppendEncoded(sb, Search, bchar: true);
        }
        return sb.ToString();
    }

    // RFC 5092 §9: achar = uchar / "&" / "=" / "~"; bchar = achar / ":" / "@" / "/";
    // uchar = unreserved / pct-encoded / sub-delims-sh; sub-delims-sh = "!" / "$" / "'" / "(" / ")" / "*" / "+" / ","
    private static bool IsAchar(char c) =>
        char.IsAsciiLetterOrDigit(c) || c is '-' or '.' or '_' or '~' or '!' or '$' or '\'' or '(' or ')' or '*' or '+' or ',' or '&' or '=';

    private static void AppendEncoded(StringBuilder sb, string value, bool bchar)
    {
        Span<byte> utf8 = stackalloc byte[4];
        for (var i = 0; i < value.Length; i++)
        {
            var c = value[i];
            if (IsAchar(c) || (bchar && c is ':' or '@' or '/'))
            {
                sb.Append(c);
                continue;
            }
            var n = char.IsHighSurrogate(c) && i + 1 < value.Length && char.IsLowSurrogate(value[i + 1])
                ? Encoding.UTF8.GetBytes(value.AsSpan(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(value.AsSpan(i, 1), utf8);
            for (var k = 0; k < n; k++)
            {
                sb.Append('%').Append(utf8[k].ToString("X2", CultureInfo.InvariantCulture));
            }
        }
    }
}
