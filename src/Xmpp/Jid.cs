using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;

namespace Aggregators.Xmpp;

/// <summary>
/// An XMPP address (RFC 7622): <c>[localpart@]domainpart[/resourcepart]</c>, normalised on
/// construction so that two equal addresses compare equal.
/// </summary>
/// <remarks>
/// This is a strict subset of the PRECIS profiles of RFC 7622 §3.3/§3.4: every part is
/// Unicode-normalised (NFC), the localpart and domainpart are case-mapped to lower case, the
/// characters RFC 7622 §3.3.1 forbids in a localpart are refused, and control and whitespace
/// characters are refused everywhere but inside a resourcepart (spaces are allowed there,
/// OpaqueString class). Each part is 1..1023 bytes of UTF-8 (RFC 7622 §3.2-3.4).
/// </remarks>
public sealed class Jid : IEquatable<Jid>
{
    /// <summary>RFC 7622 §3.2/§3.3/§3.4: each part is at most 1023 octets of UTF-8.</summary>
    public const int MaxPartBytes = 1023;

    private readonly string _text;

    private Jid(string? local, string domain, string? resource)
    {
        Local = local;
        Domain = domain;
        Resource = resource;
        _text = (local is null ? "" : local + "@") + domain + (resource is null ? "" : "/" + resource);
    }

    /// <summary>The localpart (account), or null.</summary>
    public string? Local { get; }

    /// <summary>The domainpart, always present.</summary>
    public string Domain { get; }

    /// <summary>The resourcepart, or null.</summary>
    public string? Resource { get; }

    /// <summary>True when there is no resourcepart (RFC 7622 §1.4 "bare JID").</summary>
    public bool IsBare => Resource is null;

    /// <summary>This address without its resourcepart.</summary>
    public Jid Bare => Resource is null ? this : new Jid(Local, Domain, null);

    /// <summary>Parses and normalises; throws <see cref="JidFormatException"/> naming the faulty part.</summary>
    public static Jid Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        return TryParseCore(text, out var jid, out var error) ? jid : throw new JidFormatException(text, error);
    }

    /// <summary>Parses and normalises, or returns false.</summary>
    public static bool TryParse(string? text, [NotNullWhen(true)] out Jid? jid)
    {
        jid = null;
        return text is not null && TryParseCore(text, out jid, out _);
    }

    /// <summary>Builds an address from its parts (each validated and normalised).</summary>
    public static Jid Create(string? local, string domain, string? resource = null)
    {
        ArgumentNullException.ThrowIfNull(domain);
        var text = (local is null ? "" : local + "@") + domain;
        var error = ValidateParts(local, domain, resource, out var l, out var d, out var r);
        return error is null ? new Jid(l, d!, r) : throw new JidFormatException(text + (resource is null ? "" : "/" + resource), error);
    }

    /// <summary>This address with another resourcepart.</summary>
    public Jid WithResource(string resource) => Create(Local, Domain, resource);

    private static bool TryParseCore(string text, [NotNullWhen(true)] out Jid? jid, out string error)
    {
        jid = null;
        // RFC 7622 §3.1: the resourcepart starts at the first '/', the localpart ends at the
        // first '@' before it.
        string? resource = null;
        var rest = text;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            resource = text[(slash + 1)..];
            rest = text[..slash];
            if (resource.Length == 0)
            {
                error = "empty resourcepart after '/'";
                return false;
            }
        }
        string? local = null;
        var at = rest.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            local = rest[..at];
            rest = rest[(at + 1)..];
            if (local.Length == 0)
            {
                error = "empty localpart before '@'";
                return false;
            }
        }
        var e = ValidateParts(local, rest, resource, out var l, out var d, out var r);
        if (e is not null)
        {
            error = e;
            return false;
        }
        jid = new Jid(l, d!, r);
        error = "";
        return true;
    }

    private static string? ValidateParts(string? local, string domain, string? resource, out string? l, out string? d, out string? r)
    {
        l = d = r = null;
        if (local is not null)
        {
            l = Normalise(local, lowerCase: true);
            if (CheckPart(l, "localpart") is { } e)
            {
                return e;
            }
            foreach (var c in l)
            {
                // RFC 7622 §3.3.1: these are disallowed in a localpart.
                if (c is '"' or '&' or '\'' or '/' or ':' or '<' or '>' or '@' || char.IsWhiteSpace(c) || char.IsControl(c))
                {
                    return $"character U+{(int)c:X4} is not allowed in a localpart";
                }
            }
        }
        // RFC 7622 §3.2: a trailing dot is stripped before any other processing.
        d = Normalise(domain.EndsWith('.') ? domain[..^1] : domain, lowerCase: true);
        if (CheckPart(d, "domainpart") is { } de)
        {
            return de;
        }
        if (CheckDomain(d) is { } dd)
        {
            return dd;
        }
        if (resource is not null)
        {
            r = Normalise(resource, lowerCase: false);
            if (CheckPart(r, "resourcepart") is { } re)
            {
                return re;
            }
            foreach (var c in r)
            {
                if (char.IsControl(c))
                {
                    return $"control character U+{(int)c:X4} is not allowed in a resourcepart";
                }
            }
        }
        return null;
    }

    private static string Normalise(string part, bool lowerCase)
    {
        var s = part.IsNormalized(NormalizationForm.FormC) ? part : part.Normalize(NormalizationForm.FormC);
        return lowerCase ? s.ToLowerInvariant() : s;
    }

    private static string? CheckPart(string part, string name)
    {
        if (part.Length == 0)
        {
            return $"empty {name}";
        }
        int bytes;
        try
        {
            bytes = StrictUtf8.GetByteCount(part);
        }
        catch (EncoderFallbackException)
        {
            return $"{name} contains an unpaired surrogate";
        }
        return bytes > MaxPartBytes ? $"{name} is {bytes} bytes long, more than {MaxPartBytes}" : null;
    }

    private static string? CheckDomain(string domain)
    {
        if (domain[0] == '[')
        {
            // RFC 7622 §3.2: an IPv6 address literal in brackets.
            return domain[^1] == ']' && System.Net.IPAddress.TryParse(domain[1..^1], out var ip)
                && ip.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6
                ? null : "invalid IPv6 literal in domainpart";
        }
        foreach (var label in domain.Split('.'))
        {
            if (label.Length == 0)
            {
                return "empty label in domainpart";
            }
            if (label.Length > 63)
            {
                return "a domainpart label is longer than 63 characters";
            }
            if (label[0] == '-' || label[^1] == '-')
            {
                return "a domainpart label starts or ends with '-'";
            }
            foreach (var c in label)
            {
                var ok = c < 0x80 ? char.IsAsciiLetterOrDigit(c) || c == '-' || c == '_'
                    : char.IsLetterOrDigit(c) || CharUnicodeInfo.GetUnicodeCategory(c) is UnicodeCategory.NonSpacingMark
                        or UnicodeCategory.SpacingCombiningMark or UnicodeCategory.Surrogate;
                if (!ok)
                {
                    return $"character U+{(int)c:X4} is not allowed in a domainpart";
                }
            }
        }
        return null;
    }

    private static readonly UTF8Encoding StrictUtf8 = new(false, throwOnInvalidBytes: true);

    public bool Equals(Jid? other) => other is not null && string.Equals(_text, other._text, StringComparison.Ordinal);

    public override bool Equals(object? obj) => obj is Jid j && Equals(j);

    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(_text);

    public override string ToString() => _text;

    public static bool operator ==(Jid? a, Jid? b) => a is null ? b is null : a.Equals(b);

    public static bool operator !=(Jid? a, Jid? b) => !(a == b);
}

/// <summary>A string is not a valid XMPP address (RFC 7622); maps to the stanza error jid-malformed.</summary>
public sealed class JidFormatException : FormatException
{
    public JidFormatException(string text, string reason)
        : base($"invalid JID '{Truncate(text)}': {reason}")
    {
        Reason = reason;
    }

    public JidFormatException() { Reason = ""; }

    public JidFormatException(string message) : base(message) { Reason = message; }

    public JidFormatException(string message, Exception inner) : base(message, inner) { Reason = message; }

    /// <summary>What is wrong, without the address.</summary>
    public string Reason { get; }

    private static string Truncate(string s) => s.Length <= 80 ? s : s[..80] + "...";
}
