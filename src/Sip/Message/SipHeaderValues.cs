using System.Globalization;
using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>CSeq = 1*DIGIT LWS Method (RFC 3261 §20.16); the number is below 2**31 (§8.1.1.5).</summary>
public readonly record struct SipCSeq(uint Sequence, string Method)
{
    public static SipCSeq Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var digits = r.ReadDigits("sequence number");
        if (!uint.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n > int.MaxValue)
            throw r.Error("sequence number out of range");
        var start = r.Position;
        r.SkipWhitespace();
        if (r.Position == start) throw r.Error("expected whitespace before method");
        var method = r.ReadTokenString("method");
        r.SkipWhitespace();
        if (!r.End) throw r.Error("unexpected text after method");
        return new SipCSeq(n, method);
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Sequence} {Method}");
}

/// <summary>Event = event-type *( SEMI event-param ) (RFC 6665 §8.4), event-type = package *( "." template ).</summary>
public sealed class SipEvent(string eventType)
{
    public string EventType { get; set; } = eventType;
    public SipParameters Parameters { get; } = new();

    /// <summary>The part before the first '.', e.g. "message-summary".</summary>
    public string Package => EventType.Split('.')[0];

    public string? Id
    {
        get => Parameters["id"];
        set
        {
            if (value is null) Parameters.Remove("id");
            else Parameters.Set("id", value);
        }
    }

    public static SipEvent Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var type = r.ReadTokenString("event type");
        var e = new SipEvent(type);
        SipParameters.ParseGeneric(ref r, e.Parameters);
        r.SkipWhitespace();
        if (!r.End) throw r.Error("unexpected text in Event");
        return e;
    }

    /// <summary>Same event per RFC 6665 §8.2.1: event-type and id match (id absent on both counts as equal).</summary>
    public bool Matches(SipEvent other) =>
        string.Equals(EventType, other.EventType, StringComparison.OrdinalIgnoreCase) && Id == other.Id;

    public override string ToString()
    {
        var sb = new StringBuilder(EventType);
        Parameters.WriteTo(sb);
        return sb.ToString();
    }
}

/// <summary>Subscription-State = substate-value *( SEMI subexp-params ) (RFC 6665 §8.4).</summary>
public sealed class SipSubscriptionState(string state)
{
    public const string Active = "active";
    public const string Pending = "pending";
    public const string Terminated = "terminated";

    public string State { get; set; } = state;
    public SipParameters Parameters { get; } = new();

    public string? Reason => Parameters["reason"];
    public uint? Expires => ParseDelta(Parameters["expires"]);
    public uint? RetryAfter => ParseDelta(Parameters["retry-after"]);

    private static uint? ParseDelta(string? v) =>
        v is null ? null : uint.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : uint.MaxValue;

    public static SipSubscriptionState Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var st = new SipSubscriptionState(r.ReadTokenString("subscription state").ToLowerInvariant());
        SipParameters.ParseGeneric(ref r, st.Parameters);
        r.SkipWhitespace();
        if (!r.End) throw r.Error("unexpected text in Subscription-State");
        foreach (var name in (ReadOnlySpan<string>)["expires", "retry-after"])
            if (st.Parameters[name] is { } v && !v.All(char.IsAsciiDigit)) throw r.Error($"'{name}' is not delta-seconds");
        return st;
    }

    public override string ToString()
    {
        var sb = new StringBuilder(State);
        Parameters.WriteTo(sb);
        return sb.ToString();
    }
}

/// <summary>
/// A WWW-Authenticate / Proxy-Authenticate challenge or an Authorization / Proxy-Authorization
/// credential (RFC 3261 §25.1, RFC 7616): auth-scheme LWS auth-param *( COMMA auth-param ).
/// </summary>
public sealed class SipAuthValue(string scheme)
{
    public string Scheme { get; set; } = scheme;
    public SipParameters Parameters { get; } = new();

    public string? this[string name] => Parameters[name];

    public static SipAuthValue Parse(ReadOnlySpan<byte> s)
    {
        var r = new SipReader(s);
        r.SkipWhitespace();
        var auth = new SipAuthValue(r.ReadTokenString("auth scheme"));
        var start = r.Position;
        r.SkipWhitespace();
        if (r.End) return auth;
        if (r.Position == start) throw r.Error("expected whitespace after auth scheme");
        do
        {
            var name = r.ReadTokenString("auth parameter name");
            if (!r.TryConsumeSeparator((byte)'=')) throw r.Error($"expected '=' after '{name}'");
            if (r.Peek() == '"') auth.Parameters.Add(new SipParameter(name, r.ReadQuotedString(), true));
            else auth.Parameters.Add(new SipParameter(name, r.ReadTokenString($"value of '{name}'")));
        }
        while (r.TryConsumeSeparator((byte)','));
        r.SkipWhitespace();
        if (!r.End) throw r.Error("unexpected text in auth header");
        return auth;
    }

    public override string ToString()
    {
        var sb = new StringBuilder(Scheme);
        sb.Append(' ');
        for (var i = 0; i < Parameters.Count; i++)
        {
            var p = Parameters.Items[i];
            if (i > 0) sb.Append(", ");
            sb.Append(p.Name).Append('=');
            if (p.IsQuoted || p.Value is null || !SipGrammar.IsToken(p.Value)) SipParameters.AppendQuoted(sb, p.Value ?? "");
            else sb.Append(p.Value);
        }
        return sb.ToString();
    }
}
