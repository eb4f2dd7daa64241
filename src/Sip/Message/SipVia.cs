using System.Globalization;
using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>One via-parm (RFC 3261 §20.42, §25.1): sent-protocol, sent-by and via-params.</summary>
public sealed class SipVia : IEquatable<SipVia>
{
    /// <summary>The RFC 3261 branch magic cookie (§8.1.1.7).</summary>
    public const string MagicCookie = "z9hG4bK";

    public SipVia(string transport, string host, int? port = null)
    {
        Transport = transport.ToUpperInvariant();
        Host = host;
        Port = port;
    }

    public string ProtocolName { get; set; } = "SIP";
    public string ProtocolVersion { get; set; } = "2.0";
    /// <summary>UDP, TCP, TLS, SCTP or another token, upper case.</summary>
    public string Transport { get; set; }
    public string Host { get; set; }
    public int? Port { get; set; }
    public SipParameters Parameters { get; } = new();

    public string? Branch
    {
        get => Parameters["branch"];
        set => Set("branch", value);
    }

    public string? Received
    {
        get => Parameters["received"];
        set => Set("received", value);
    }

    /// <summary>True when rport is present (RFC 3581), with or without a value.</summary>
    public bool HasRport => Parameters.Contains("rport");

    public int? Rport =>
        int.TryParse(Parameters["rport"], NumberStyles.None, CultureInfo.InvariantCulture, out var p) ? p : null;

    private void Set(string name, string? value)
    {
        if (value is null) Parameters.Remove(name);
        else Parameters.Set(name, value);
    }

    public static SipVia Parse(string s) => Parse(Encoding.UTF8.GetBytes(s));

    public static SipVia Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var via = ParseFrom(ref r);
        r.SkipWhitespace();
        if (!r.End) throw r.Error($"unexpected character '{(char)r.Peek()}' in Via");
        return via;
    }

    internal static SipVia ParseFrom(ref SipReader r)
    {
        // sent-protocol = protocol-name SLASH protocol-version SLASH transport, SLASH = SWS "/" SWS
        var name = r.ReadTokenString("protocol name");
        if (!r.TryConsumeSeparator((byte)'/')) throw r.Error("expected '/' in sent-protocol");
        var version = r.ReadTokenString("protocol version");
        if (!r.TryConsumeSeparator((byte)'/')) throw r.Error("expected '/' in sent-protocol");
        var transport = r.ReadTokenString("transport");
        var start = r.Position;
        r.SkipWhitespace();
        if (r.Position == start) throw r.Error("expected whitespace before sent-by");
        SipUri.ParseHostPortWithSpaces(ref r, out var host, out var port);
        var via = new SipVia(transport, host, port) { ProtocolName = name.ToUpperInvariant(), ProtocolVersion = version };
        SipParameters.ParseGeneric(ref r, via.Parameters);
        if (via.Parameters["ttl"] is { } ttl && (!int.TryParse(ttl, NumberStyles.None, CultureInfo.InvariantCulture, out var t) || t > 255))
            throw r.Error("ttl out of range");
        return via;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }

    internal void WriteTo(StringBuilder sb)
    {
        sb.Append(ProtocolName).Append('/').Append(ProtocolVersion).Append('/').Append(Transport).Append(' ').Append(Host);
        if (Port is { } p) sb.Append(':').Append(p.ToString(CultureInfo.InvariantCulture));
        Parameters.WriteTo(sb);
    }

    public bool Equals(SipVia? other) =>
        other is not null && ProtocolName == other.ProtocolName && ProtocolVersion == other.ProtocolVersion
        && Transport == other.Transport && string.Equals(Host, other.Host, StringComparison.OrdinalIgnoreCase)
        && Port == other.Port && Parameters.Equals(other.Parameters);

    public override bool Equals(object? obj) => Equals(obj as SipVia);
    public override int GetHashCode() => HashCode.Combine(Transport, Host.ToUpperInvariant(), Port);
}
