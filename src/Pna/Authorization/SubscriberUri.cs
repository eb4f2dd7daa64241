using System.Globalization;
using System.Text;

namespace Aggregators.Pna.Authorization;

/// <summary>
/// A subscriber's identity reduced to what authorization compares: scheme, user and host.
/// Parsed strictly from <c>sip:</c>/<c>sips:</c> URIs (RFC 3261 §19.1; port, parameters and
/// headers are dropped), <c>xmpp:</c> URIs (RFC 5122 §2; resource, query and fragment are
/// dropped) and bare JIDs (RFC 7622, taken as <c>xmpp</c>). Hosts are lower-cased (DNS names
/// are case-insensitive). A SIP user part is case-sensitive (RFC 3261 §19.1.4) and kept, with
/// %-escapes decoded; an XMPP localpart is case-mapped (RFC 7622 §3.3) to lower case.
/// </summary>
public sealed record SubscriberUri(string Scheme, string User, string Host)
{
    public const int MaxLength = 2048;

    /// <summary><c>user@host</c>.</summary>
    public string Address => User + "@" + Host;

    /// <summary>The URI form; characters that would change how it parses are %-escaped in the user part.</summary>
    public override string ToString() => Scheme + ":" + EscapeUser(User) + "@" + Host;

    private static string EscapeUser(string user)
    {
        if (user.AsSpan().IndexOfAny("%?#/") < 0)
        {
            return user;
        }
        var sb = new StringBuilder(user.Length + 8);
        foreach (var c in user)
        {
            sb.Append(c switch { '%' => "%25", '?' => "%3F", '#' => "%23", '/' => "%2F", _ => c.ToString() });
        }
        return sb.ToString();
    }

    public static SubscriberUri Parse(string text) =>
        TryParse(text, out var uri, out var error) ? uri : throw new FormatException(error);

    public static bool TryParse(string? text, out SubscriberUri uri, out string? error)
    {
        uri = null!;
        if (string.IsNullOrEmpty(text))
        {
            error = "subscriber is empty";
            return false;
        }
        if (text.Length > MaxLength)
        {
            error = $"subscriber is longer than {MaxLength} characters";
            return false;
        }
        foreach (var c in text)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c))
            {
                error = $"subscriber contains whitespace or a control character (U+{(int)c:X4})";
                return false;
            }
        }
        if (StartsWithScheme(text, "sip", out var rest))
        {
            return TryParseSip("sip", rest, out uri, out error);
        }
        if (StartsWithScheme(text, "sips", out rest))
        {
            return TryParseSip("sips", rest, out uri, out error);
        }
        if (StartsWithScheme(text, "xmpp", out rest))
        {
            return TryParseXmpp(rest, out uri, out error);
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (colon >= 0 && (slash < 0 || colon < slash))
        {
            error = $"unsupported URI scheme '{text[..colon]}' (expected sip:, sips:, xmpp: or a bare JID)";
            return false;
        }
        // A bare JID: localpart@domainpart[/resourcepart] (RFC 7622 §3).
        return TryParseXmpp(text, out uri, out error);
    }

    private static bool StartsWithScheme(string text, string scheme, out string rest)
    {
        // Schemes are case-insensitive (RFC 3986 §3.1).
        if (text.Length > scheme.Length && text[scheme.Length] == ':'
            && text.AsSpan(0, scheme.Length).Equals(scheme, StringComparison.OrdinalIgnoreCase))
        {
            rest = text[(scheme.Length + 1)..];
            return true;
        }
        rest = "";
        return false;
    }

    // RFC 3261 §25.1: SIP-URI = "sip:" [ userinfo ] hostport uri-parameters [ headers ]
    private static bool TryParseSip(string scheme, string rest, out SubscriberUri uri, out string? error)
    {
        uri = null!;
        // '@' is allowed neither in user, host, parameters nor headers: the first one ends userinfo.
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            error = $"{scheme}: URI has no user part (a subscriber is {scheme}:user@host)";
            return false;
        }
        if (rest.IndexOf('@', at + 1) >= 0)
        {
            error = $"{scheme}: URI contains more than one '@'";
            return false;
        }
        var userinfo = rest[..at];
        if (userinfo.Contains(':', StringComparison.Ordinal))
        {
            error = $"{scheme}: URI carries a password in its userinfo (RFC 3261 §19.1.1 advises against it); refused";
            return false;
        }
        if (!TryDecodeUser(userinfo, IsSipUserChar, scheme + ": URI user part", out var user, out error))
        {
            return false;
        }
        var hostport = rest[(at + 1)..];
        var end = hostport.IndexOfAny([';', '?']);
        var tail = end < 0 ? "" : hostport[end..];
        if (end >= 0)
        {
            hostport = hostport[..end];
        }
        if (!TrySplitPort(hostport, out var host, out error) || !TryNormaliseHost(host, out host, out error))
        {
            error = $"{scheme}: URI {error}";
            return false;
        }
        if (tail.Length == 1)
        {
            error = $"{scheme}: URI ends with an empty parameter or header section";
            return false;
        }
        uri = new SubscriberUri(scheme, user, host);
        error = null;
        return true;
    }

    // RFC 5122 §2.3: xmppiri = "xmpp" ":" hierxmpp [ "?" querycomp ] [ "#" fragment ]
    //                hierxmpp = authpath / pathxmpp;  pathxmpp = [ nodeid "@" ] hostpart [ "/" resid ]
    private static bool TryParseXmpp(string rest, out SubscriberUri uri, out string? error)
    {
        uri = null!;
        if (rest.StartsWith("//", StringComparison.Ordinal))
        {
            error = "xmpp: URIs with an authority component (xmpp://...) are not supported; use xmpp:user@host";
            return false;
        }
        var cut = rest.IndexOfAny(['?', '#']);
        if (cut >= 0)
        {
            rest = rest[..cut];
        }
        var slash = rest.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            if (slash == rest.Length - 1)
            {
                error = "JID has an empty resourcepart after '/' (RFC 7622 §3.4)";
                return false;
            }
            rest = rest[..slash];
        }
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at < 0)
        {
            error = "JID has no localpart (a subscriber is xmpp:user@host)";
            return false;
        }
        if (rest.IndexOf('@', at + 1) >= 0)
        {
            error = "JID contains more than one '@' before its resource";
            return false;
        }
        if (!TryDecodeUser(rest[..at], IsJidLocalChar, "JID localpart", out var local, out error))
        {
            return false;
        }
        // RFC 7622 §3.3: the localpart is case-mapped (UsernameCaseMapped profile).
        local = local.ToLowerInvariant();
        if (!TryPercentDecode(rest[(at + 1)..], out var domain) || !TryNormaliseHost(domain, out var host, out error))
        {
            error = $"JID domainpart {error ?? "has an invalid %-escape"}";
            return false;
        }
        uri = new SubscriberUri("xmpp", local, host);
        error = null;
        return true;
    }

    private static bool TryDecodeUser(string raw, Func<char, bool> allowed, string what, out string user, out string? error)
    {
        user = "";
        if (raw.Length == 0)
        {
            error = $"{what} is empty";
            return false;
        }
        if (!TryPercentDecode(raw, out user))
        {
            error = $"{what} has an invalid %-escape";
            return false;
        }
        foreach (var c in user)
        {
            if (!allowed(c))
            {
                error = $"{what} contains '{c}', which is not allowed there";
                return false;
            }
        }
        error = null;
        return true;
    }

    // RFC 3261 §25.1: user = 1*( unreserved / escaped / user-unreserved ), after decoding any
    // character but the structural ones and controls.
    private static bool IsSipUserChar(char c) => !char.IsControl(c) && c is not ('@' or ':' or ' ' or '<' or '>' or '"');

    // RFC 7622 §3.3.1: " & ' / : < > @ and spaces are forbidden in a localpart.
    private static bool IsJidLocalChar(char c) =>
        !char.IsControl(c) && !char.IsWhiteSpace(c) && c is not ('"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@');

    private static bool TrySplitPort(string hostport, out string host, out string? error)
    {
        host = hostport;
        error = null;
        var close = hostport.LastIndexOf(']');
        var colon = hostport.LastIndexOf(':');
        if (colon < 0 || colon < close)
        {
            return true;
        }
        var port = hostport[(colon + 1)..];
        if (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n is < 1 or > 65535)
        {
            error = $"has an invalid port '{port}'";
            return false;
        }
        host = hostport[..colon];
        return true;
    }

    /// <summary>Checks a host name, IPv4 address or bracketed IPv6 reference and lower-cases it.</summary>
    internal static bool TryNormaliseHost(string host, out string normalised, out string? error)
    {
        normalised = host;
        if (host.Length == 0)
        {
            error = "has an empty host";
            return false;
        }
        if (host[0] == '[')
        {
            if (host[^1] != ']' || !System.Net.IPAddress.TryParse(host.AsSpan(1, host.Length - 2), out var v6)
                || v6.AddressFamily != System.Net.Sockets.AddressFamily.InterNetworkV6)
            {
                error = $"has an invalid IPv6 reference '{host}'";
                return false;
            }
            normalised = host.ToLowerInvariant();
            error = null;
            return true;
        }
        if (host.Length > 253)
        {
            error = "has a host name longer than 253 characters";
            return false;
        }
        foreach (var label in host.Split('.'))
        {
            if (label.Length == 0 || label.Length > 63 || label[0] == '-' || label[^1] == '-')
            {
                error = $"has an invalid host name '{host}'";
                return false;
            }
            foreach (var c in label)
            {
                // Internationalised names arrive as U-labels in XMPP (RFC 7622 §3.2); allow letters beyond ASCII.
                if (!(char.IsAsciiLetterOrDigit(c) || c == '-' || (c > 0x7F && char.IsLetterOrDigit(c))))
                {
                    error = $"has an invalid host name '{host}'";
                    return false;
                }
            }
        }
        normalised = host.ToLowerInvariant();
        error = null;
        return true;
    }

    private static bool TryPercentDecode(string text, out string decoded)
    {
        decoded = text;
        if (!text.Contains('%', StringComparison.Ordinal))
        {
            return true;
        }
        var bytes = new List<byte>(text.Length);
        Span<byte> buffer = stackalloc byte[4];
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '%')
            {
                if (i + 2 >= text.Length || !byte.TryParse(text.AsSpan(i + 1, 2), NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out var b))
                {
                    return false;
                }
                bytes.Add(b);
                i += 2;
            }
            else
            {
                var n = Encoding.UTF8.GetBytes(text.AsSpan(i, char.IsHighSurrogate(c) && i + 1 < text.Length ? 2 : 1), buffer);
                for (var k = 0; k < n; k++)
                {
                    bytes.Add(buffer[k]);
                }
                if (n > 0 && char.IsHighSurrogate(c) && i + 1 < text.Length)
                {
                    i++;
                }
            }
        }
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString([.. bytes]);
            return true;
        }
        catch (DecoderFallbackException)
        {
            return false;
        }
    }
}
