using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>
/// ( name-addr / addr-spec ) *( SEMI param ) of From, To, Contact, Route, Record-Route
/// (RFC 3261 §20.10, §25.1).
/// </summary>
public sealed class SipNameAddress : IEquatable<SipNameAddress>
{
    public SipNameAddress(SipUri uri, string? displayName = null)
    {
        Uri = uri;
        DisplayName = displayName;
    }

    public string? DisplayName { get; set; }
    public SipUri Uri { get; set; }
    public SipParameters Parameters { get; } = new();

    public string? Tag
    {
        get => Parameters["tag"];
        set
        {
            if (value is null) Parameters.Remove("tag");
            else Parameters.Set("tag", value);
        }
    }

    public static SipNameAddress Parse(string s) => Parse(Encoding.UTF8.GetBytes(s));

    public static SipNameAddress Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var result = ParseFrom(ref r);
        r.SkipWhitespace();
        if (!r.End) throw r.Error($"unexpected character '{(char)r.Peek()}' after address");
        return result;
    }

    internal static SipNameAddress ParseFrom(ref SipReader r)
    {
        string? display = null;
        SipUri uri;
        if (r.Peek() == '"')
        {
            display = r.ReadQuotedString();
            r.SkipWhitespace();
            uri = ReadAngleUri(ref r);
        }
        else if (r.Peek() == '<')
        {
            uri = ReadAngleUri(ref r);
        }
        else
        {
            // Either display-name = *(token LWS) "<" or a bare addr-spec: look for '<' first.
            var rest = r.Rest;
            var lt = rest.IndexOf((byte)'<');
            if (lt >= 0 && IsTokenRun(rest[..lt]))
            {
                var name = Encoding.ASCII.GetString(rest[..lt]).Trim();
                display = name.Length == 0 ? null : CollapseWhitespace(name);
                r.Advance(lt);
                uri = ReadAngleUri(ref r);
            }
            else
            {
                // addr-spec without brackets: the URI ends at whitespace, ';' or ',' (§20: its
                // parameters are header parameters).
                var spec = r.ReadWhile(static b => !SipGrammar.IsWhitespace(b) && b is not ((byte)';' or (byte)',' or (byte)'?'));
                if (spec.IsEmpty) throw r.Error("expected an address");
                uri = SipUri.Parse(spec);
            }
        }
        var na = new SipNameAddress(uri, display);
        SipParameters.ParseGeneric(ref r, na.Parameters);
        return na;
    }

    private static bool IsTokenRun(ReadOnlySpan<byte> s)
    {
        foreach (var b in s) if (!SipGrammar.IsToken(b) && !SipGrammar.IsWhitespace(b)) return false;
        return true;
    }

    private static string CollapseWhitespace(string s) =>
        string.Join(' ', s.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries));

    private static SipUri ReadAngleUri(ref SipReader r)
    {
        r.Expect((byte)'<', "'<'");
        var rest = r.Rest;
        var gt = rest.IndexOf((byte)'>');
        if (gt < 0) throw r.Error("missing '>'");
        var uri = SipUri.Parse(rest[..gt]);
        r.Advance(gt + 1);
        return uri;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }

    /// <summary>Always writes the name-addr form, so URI parameters never turn into header parameters.</summary>
    internal void WriteTo(StringBuilder sb)
    {
        if (DisplayName is not null)
        {
            SipParameters.AppendQuoted(sb, DisplayName);
            sb.Append(' ');
        }
        sb.Append('<');
        Uri.WriteTo(sb);
        sb.Append('>');
        Parameters.WriteTo(sb);
    }

    public bool Equals(SipNameAddress? other) =>
        other is not null && DisplayName == other.DisplayName && Uri.Equals(other.Uri) && Parameters.Equals(other.Parameters);

    public override bool Equals(object? obj) => Equals(obj as SipNameAddress);
    public override int GetHashCode() => Uri.GetHashCode();
}
