using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>
/// A SIP or SIPS URI (RFC 3261 §19.1, §25.1), or any other absoluteURI kept opaque. User,
/// password, parameter and header values are held unescaped and escaped again on writing.
/// </summary>
public sealed class SipUri : IEquatable<SipUri>
{
    public SipUri(string scheme, string host)
    {
        Scheme = scheme.ToLowerInvariant();
        Host = host;
    }

    private SipUri(string scheme)
    {
        Scheme = scheme;
        Host = "";
    }

    /// <summary>"sip", "sips", or another scheme (lower case).</summary>
    public string Scheme { get; }
    public bool IsSip => Scheme is "sip" or "sips";
    public string? User { get; set; }
    public string? Password { get; set; }
    /// <summary>hostname, IPv4address or IPv6reference (with its brackets).</summary>
    public string Host { get; set; }
    public int? Port { get; set; }
    public SipParameters Parameters { get; } = new();
    public List<KeyValuePair<string, string>> Headers { get; } = [];
    /// <summary>For a non-SIP URI: everything after "scheme:".</summary>
    public string? Opaque { get; private set; }

    public string? Transport => Parameters["transport"];
    public bool LooseRouting => Parameters.Contains("lr");

    public static SipUri Parse(string s) => Parse(Encoding.UTF8.GetBytes(s));

    public static SipUri Parse(ReadOnlySpan<byte> s)
    {
        var colon = s.IndexOf((byte)':');
        if (colon <= 0) throw new SipParseException("URI has no scheme");
        var schemeBytes = s[..colon];
        // scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
        if (!SipGrammar.IsAlpha(schemeBytes[0])) throw new SipParseException("invalid URI scheme");
        foreach (var b in schemeBytes)
            if (!(SipGrammar.IsAlpha(b) || SipGrammar.IsDigit(b) || b is (byte)'+' or (byte)'-' or (byte)'.'))
                throw new SipParseException("invalid URI scheme");
        var scheme = Encoding.ASCII.GetString(schemeBytes).ToLowerInvariant();
        var rest = s[(colon + 1)..];
        if (scheme is not ("sip" or "sips"))
        {
            // absoluteURI: no whitespace, no controls, no characters that end a name-addr.
            if (rest.IsEmpty) throw new SipParseException("empty URI");
            foreach (var b in rest)
                if (b <= 0x20 || b >= 0x7F || b is (byte)'<' or (byte)'>' or (byte)'"')
                    throw new SipParseException("invalid character in URI");
            return new SipUri(scheme) { Opaque = Encoding.ASCII.GetString(rest) };
        }
        var uri = new SipUri(scheme);
        var at = rest.IndexOf((byte)'@');
        if (at >= 0)
        {
            var userinfo = rest[..at];
            rest = rest[(at + 1)..];
            var pw = userinfo.IndexOf((byte)':');
            var user = pw >= 0 ? userinfo[..pw] : userinfo;
            if (user.IsEmpty) throw new SipParseException("empty user in URI");
            uri.User = Unescape(user, SipGrammar.IsUserChar, "user");
            if (pw >= 0) uri.Password = Unescape(userinfo[(pw + 1)..], SipGrammar.IsPasswordChar, "password");
        }
        var r = new SipReader(rest);
        ParseHostPort(ref r, out var host, out var port);
        uri.Host = host;
        uri.Port = port;
        // uri-parameters = *( ";" uri-parameter ) — no whitespace inside a URI
        while (r.TryConsume((byte)';'))
        {
            var name = Unescape(r.ReadWhile(static b => SipGrammar.IsUriParamChar(b) || b == (byte)'%'), SipGrammar.IsUriParamChar, "parameter");
            if (name.Length == 0) throw new SipParseException("empty URI parameter name");
            string? value = null;
            if (r.TryConsume((byte)'='))
            {
                value = Unescape(r.ReadWhile(static b => SipGrammar.IsUriParamChar(b) || b == (byte)'%'), SipGrammar.IsUriParamChar, "parameter");
                if (value.Length == 0) throw new SipParseException($"empty value of URI parameter '{name}'");
            }
            uri.Parameters.Add(new SipParameter(name, value));
        }
        if (r.TryConsume((byte)'?'))
        {
            do
            {
                var name = Unescape(r.ReadWhile(static b => SipGrammar.IsUriHeaderChar(b) || b == (byte)'%'), SipGrammar.IsUriHeaderChar, "header");
                if (name.Length == 0) throw new SipParseException("empty URI header name");
                r.Expect((byte)'=', "'=' in URI header");
                var value = Unescape(r.ReadWhile(static b => SipGrammar.IsUriHeaderChar(b) || b == (byte)'%'), SipGrammar.IsUriHeaderChar, "header");
                uri.Headers.Add(new(name, value));
            }
            while (r.TryConsume((byte)'&'));
        }
        if (!r.End) throw new SipParseException($"unexpected character '{(char)r.Peek()}' in URI");
        return uri;
    }

    /// <summary>hostport = host [ ":" port ] (§25.1), also used for Via sent-by.</summary>
    internal static void ParseHostPortWithSpaces(ref SipReader r, out string host, out int? port) =>
        ParseHostPort(ref r, out host, out port, allowSpaces: true);

    internal static void ParseHostPort(ref SipReader r, out string host, out int? port, bool allowSpaces = false)
    {
        if (r.Peek() == '[')
        {
            var v6 = r.ReadWhile(static b => b != ']');
            r.Expect((byte)']', "']' closing an IPv6 reference");
            if (!IPAddress.TryParse(v6[1..], out var a) || a.AddressFamily != AddressFamily.InterNetworkV6 || v6[1..].IndexOf((byte)'%') >= 0)
                throw new SipParseException("invalid IPv6 reference");
            host = Encoding.ASCII.GetString(v6) + "]";
        }
        else
        {
            var h = r.ReadWhile(SipGrammar.IsHostChar);
            if (!IsValidHostname(h)) throw new SipParseException("invalid host");
            host = Encoding.ASCII.GetString(h);
        }
        port = null;
        if (allowSpaces ? r.TryConsumeSeparator((byte)':') : r.TryConsume((byte)':'))
        {
            var digits = r.ReadDigits("port");
            if (digits.Length > 5 || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var p) || p > 65535)
                throw new SipParseException("port out of range");
            port = p;
        }
    }

    /// <summary>hostname = *( domainlabel "." ) toplabel [ "." ] / IPv4address.</summary>
    private static bool IsValidHostname(ReadOnlySpan<byte> h)
    {
        if (h.IsEmpty) return false;
        if (h[^1] == '.') h = h[..^1];
        if (h.IsEmpty) return false;
        var allDigitsAndDots = true;
        foreach (var label in new SpanSplitter(h))
        {
            if (label.IsEmpty || label[0] == '-' || label[^1] == '-') return false;
            foreach (var b in label) if (!SipGrammar.IsDigit(b)) allDigitsAndDots = false;
        }
        if (allDigitsAndDots) return IPAddress.TryParse(h, out var a) && a.AddressFamily == AddressFamily.InterNetwork && h.Count((byte)'.') == 3;
        return true;
    }

    private ref struct SpanSplitter(ReadOnlySpan<byte> s)
    {
        private ReadOnlySpan<byte> _rest = s;
        private bool _done;
        public ReadOnlySpan<byte> Current { get; private set; }
        public readonly SpanSplitter GetEnumerator() => this;
        public bool MoveNext()
        {
            if (_done) return false;
            var i = _rest.IndexOf((byte)'.');
            if (i < 0)
            {
                Current = _rest;
                _done = true;
                return true;
            }
            Current = _rest[..i];
            _rest = _rest[(i + 1)..];
            return true;
        }
    }

    /// <summary>Undoes escaped = "%" HEXDIG HEXDIG after checking every other character is allowed.</summary>
    private static string Unescape(ReadOnlySpan<byte> s, Func<byte, bool> allowed, string what)
    {
        var hasEscape = false;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                if (i + 2 >= s.Length || !IsHex(s[i + 1]) || !IsHex(s[i + 2])) throw new SipParseException($"invalid escape in URI {what}");
                hasEscape = true;
                i += 2;
            }
            else if (!allowed(s[i]))
            {
                throw new SipParseException($"invalid character '{(char)s[i]}' in URI {what}");
            }
        }
        if (!hasEscape) return Encoding.ASCII.GetString(s);
        var buf = new byte[s.Length];
        var n = 0;
        for (var i = 0; i < s.Length; i++)
        {
            if (s[i] == '%')
            {
                buf[n++] = (byte)(HexValue(s[i + 1]) << 4 | HexValue(s[i + 2]));
                i += 2;
            }
            else
            {
                buf[n++] = s[i];
            }
        }
        // Escaped octets are UTF-8 (RFC 3261 §19.1.2); keep anything else as Latin-1 so no byte is lost.
        var bytes = buf.AsSpan(0, n);
        return System.Text.Unicode.Utf8.IsValid(bytes) ? Encoding.UTF8.GetString(bytes) : Encoding.Latin1.GetString(bytes);
    }

    private static bool IsHex(byte b) => SipGrammar.IsDigit(b) || (uint)((b | 0x20) - 'a') <= 'f' - 'a';
    private static int HexValue(byte b) => SipGrammar.IsDigit(b) ? b - '0' : (b | 0x20) - 'a' + 10;

    private static void AppendEscaped(StringBuilder sb, string value, Func<byte, bool> allowed)
    {
        Span<byte> tmp = stackalloc byte[4];
        foreach (var rune in value.EnumerateRunes())
        {
            var n = rune.EncodeToUtf8(tmp);
            for (var i = 0; i < n; i++)
            {
                var b = tmp[i];
                if (b < 0x80 && allowed(b)) sb.Append((char)b);
                else sb.Append('%').Append(b.ToString("X2", CultureInfo.InvariantCulture));
            }
        }
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }

    internal void WriteTo(StringBuilder sb)
    {
        sb.Append(Scheme).Append(':');
        if (!IsSip)
        {
            sb.Append(Opaque);
            return;
        }
        if (User is not null)
        {
            AppendEscaped(sb, User, static b => SipGrammar.IsUserChar(b) && b is not ((byte)';' or (byte)'?' or (byte)'/'));
            if (Password is not null)
            {
                sb.Append(':');
                AppendEscaped(sb, Password, SipGrammar.IsPasswordChar);
            }
            sb.Append('@');
        }
        sb.Append(Host);
        if (Port is { } port) sb.Append(':').Append(port.ToString(CultureInfo.InvariantCulture));
        foreach (var p in Parameters.Items)
        {
            sb.Append(';');
            AppendEscaped(sb, p.Name, SipGrammar.IsUriParamChar);
            if (p.Value is null) continue;
            sb.Append('=');
            AppendEscaped(sb, p.Value, SipGrammar.IsUriParamChar);
        }
        for (var i = 0; i < Headers.Count; i++)
        {
            sb.Append(i == 0 ? '?' : '&');
            AppendEscaped(sb, Headers[i].Key, SipGrammar.IsUriHeaderChar);
            sb.Append('=');
            AppendEscaped(sb, Headers[i].Value, SipGrammar.IsUriHeaderChar);
        }
    }

    /// <summary>Component equality (close to §19.1.4: scheme and host case-insensitive, user and password case-sensitive).</summary>
    public bool Equals(SipUri? other) =>
        other is not null
        && Scheme == other.Scheme
        && Opaque == other.Opaque
        && User == other.User
        && Password == other.Password
        && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase)
        && Port == other.Port
        && Parameters.Equals(other.Parameters)
        && Headers.SequenceEqual(other.Headers);

    public override bool Equals(object? obj) => Equals(obj as SipUri);
    public override int GetHashCode() => HashCode.Combine(Scheme, Host.ToUpperInvariant(), User, Port);
}
