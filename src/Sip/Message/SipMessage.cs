using System.Globalization;
using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>
/// A SIP request or response (RFC 3261 §7). Typed properties parse the header bytes on each read
/// (they return fresh objects: change a header by assigning the property) and throw
/// <see cref="SipParseException"/> for a malformed value.
/// </summary>
public abstract class SipMessage
{
    public string Version { get; set; } = "SIP/2.0";
    public SipHeaderCollection Headers { get; init; } = new();
    public ReadOnlyMemory<byte> Body { get; set; }

    public IReadOnlyList<SipVia> Via => ParseList(SipHeaderNames.Via, static (ref SipReader r) => SipVia.ParseFrom(ref r));

    public SipVia? TopVia => Via is { Count: > 0 } v ? v[0] : null;

    public SipNameAddress From
    {
        get => ParseSingle(SipHeaderNames.From, SipNameAddress.Parse) ?? throw Missing(SipHeaderNames.From);
        set => Headers.Set(SipHeaderNames.From, value.ToString());
    }

    public SipNameAddress To
    {
        get => ParseSingle(SipHeaderNames.To, SipNameAddress.Parse) ?? throw Missing(SipHeaderNames.To);
        set => Headers.Set(SipHeaderNames.To, value.ToString());
    }

    public string CallId
    {
        get => Headers.GetFirstValue(SipHeaderNames.CallId) ?? throw Missing(SipHeaderNames.CallId);
        set => Headers.Set(SipHeaderNames.CallId, value);
    }

    public SipCSeq CSeq
    {
        get => ParseSingle(SipHeaderNames.CSeq, static s => (SipCSeq?)SipCSeq.Parse(s)) ?? throw Missing(SipHeaderNames.CSeq);
        set => Headers.Set(SipHeaderNames.CSeq, value.ToString());
    }

    /// <summary>Max-Forwards = 1*DIGIT (§20.22), 0–255.</summary>
    public int? MaxForwards
    {
        get => ParseSingle(SipHeaderNames.MaxForwards, static s => (int?)ParseNumber(s, 255));
        set => SetOrRemove(SipHeaderNames.MaxForwards, value?.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>The Content-Length header as received; the writer always writes the body's length.</summary>
    public int? ContentLength => ParseSingle(SipHeaderNames.ContentLength, static s => (int?)ParseNumber(s, int.MaxValue));

    public string? ContentType
    {
        get => Headers.GetFirstValue(SipHeaderNames.ContentType)?.Trim();
        set => SetOrRemove(SipHeaderNames.ContentType, value);
    }

    /// <summary>Expires = delta-seconds (§20.19); values past 2**32-1 read as 2**32-1 (§25.1 delta-seconds).</summary>
    public uint? Expires
    {
        get => ParseSingle(SipHeaderNames.Expires, static s => (uint?)ParseDelta(s));
        set => SetOrRemove(SipHeaderNames.Expires, value?.ToString(CultureInfo.InvariantCulture));
    }

    public IReadOnlyList<SipNameAddress> Contact =>
        IsWildcardContact ? [] : ParseList(SipHeaderNames.Contact, static (ref SipReader r) => SipNameAddress.ParseFrom(ref r));

    /// <summary>Contact: * (§10.2.2).</summary>
    public bool IsWildcardContact => Headers.GetFirst(SipHeaderNames.Contact) is { } f && f.RawValue.Span.Trim(" \t"u8).SequenceEqual("*"u8);

    public IReadOnlyList<SipNameAddress> Route => ParseList(SipHeaderNames.Route, static (ref SipReader r) => SipNameAddress.ParseFrom(ref r));

    public IReadOnlyList<SipNameAddress> RecordRoute => ParseList(SipHeaderNames.RecordRoute, static (ref SipReader r) => SipNameAddress.ParseFrom(ref r));

    public SipEvent? Event
    {
        get => ParseSingle(SipHeaderNames.Event, SipEvent.Parse);
        set => SetOrRemove(SipHeaderNames.Event, value?.ToString());
    }

    public SipSubscriptionState? SubscriptionState
    {
        get => ParseSingle(SipHeaderNames.SubscriptionState, SipSubscriptionState.Parse);
        set => SetOrRemove(SipHeaderNames.SubscriptionState, value?.ToString());
    }

    public IReadOnlyList<string> AllowEvents => ParseTokenList(SipHeaderNames.AllowEvents);
    public IReadOnlyList<string> Allow => ParseTokenList(SipHeaderNames.Allow);
    public IReadOnlyList<string> Supported => ParseTokenList(SipHeaderNames.Supported);
    public IReadOnlyList<string> Require => ParseTokenList(SipHeaderNames.Require);

    public IReadOnlyList<SipAuthValue> WwwAuthenticate => ParseAll(SipHeaderNames.WwwAuthenticate);
    public IReadOnlyList<SipAuthValue> ProxyAuthenticate => ParseAll(SipHeaderNames.ProxyAuthenticate);
    public IReadOnlyList<SipAuthValue> Authorization => ParseAll(SipHeaderNames.Authorization);
    public IReadOnlyList<SipAuthValue> ProxyAuthorization => ParseAll(SipHeaderNames.ProxyAuthorization);

    private void SetOrRemove(string name, string? value)
    {
        if (value is null) Headers.Remove(name);
        else Headers.Set(name, value);
    }

    private static SipParseException Missing(string name) => new($"missing mandatory header", 0, name);

    internal delegate T ListItemParser<T>(ref SipReader r);

    private T? ParseSingle<T>(string name, Func<ReadOnlySpan<byte>, T> parse)
    {
        if (Headers.GetFirst(name) is not { } f) return default;
        try
        {
            return parse(f.RawValue.Span);
        }
        catch (SipParseException e)
        {
            throw e.WithHeader(name, f.Line);
        }
    }

    private List<SipAuthValue> ParseAll(string name)
    {
        var list = new List<SipAuthValue>();
        name = SipHeaderNames.Canonicalize(name);
        foreach (var f in Headers) // the struct enumerator: no iterator object per parse
        {
            if (!SipHeaderCollection.NameIs(f, name)) continue;
            try
            {
                list.Add(SipAuthValue.Parse(f.RawValue.Span));
            }
            catch (SipParseException e)
            {
                throw e.WithHeader(name, f.Line);
            }
        }
        return list;
    }

    /// <summary>Parses every field of a comma-separated list header (§7.3.1).</summary>
    private List<T> ParseList<T>(string name, ListItemParser<T> item)
    {
        var list = new List<T>();
        name = SipHeaderNames.Canonicalize(name);
        foreach (var f in Headers) // the struct enumerator: no iterator object per parse
        {
            if (!SipHeaderCollection.NameIs(f, name)) continue;
            try
            {
                var r = new SipReader(f.RawValue.Span);
                r.SkipWhitespace();
                do
                {
                    list.Add(item(ref r));
                }
                while (r.TryConsumeSeparator((byte)','));
                r.SkipWhitespace();
                if (!r.End) throw r.Error($"unexpected character '{(char)r.Peek()}'");
            }
            catch (SipParseException e)
            {
                throw e.WithHeader(name, f.Line);
            }
        }
        return list;
    }

    private List<string> ParseTokenList(string name) =>
        ParseList(name, static (ref SipReader r) => r.ReadTokenString("token"));

    /// <summary>Number = 1*DIGIT no greater than max.</summary>
    internal static int ParseNumber(ReadOnlySpan<byte> s, int max)
    {
        s = s.Trim(" \t"u8);
        if (s.IsEmpty || s.Length > 10) throw new SipParseException("expected a number");
        long n = 0;
        foreach (var b in s)
        {
            if (!SipGrammar.IsDigit(b)) throw new SipParseException("expected a number");
            n = n * 10 + (b - '0');
        }
        if (n > max) throw new SipParseException($"number out of range (0-{max})");
        return (int)n;
    }

    internal static uint ParseDelta(ReadOnlySpan<byte> s)
    {
        s = s.Trim(" \t"u8);
        if (s.IsEmpty) throw new SipParseException("expected delta-seconds");
        ulong n = 0;
        foreach (var b in s)
        {
            if (!SipGrammar.IsDigit(b)) throw new SipParseException("expected delta-seconds");
            if (n < uint.MaxValue) n = Math.Min(n * 10 + (ulong)(b - '0'), uint.MaxValue);
        }
        return (uint)n;
    }

    public override string ToString() => Encoding.UTF8.GetString(SipMessageWriter.ToBytes(this));
}

/// <summary>Request = Request-Line *( message-header ) CRLF [ message-body ] (§7.1).</summary>
public sealed class SipRequest(string method, SipUri requestUri) : SipMessage
{
    public string Method { get; set; } = method;
    public SipUri RequestUri { get; set; } = requestUri;
}

/// <summary>Response = Status-Line *( message-header ) CRLF [ message-body ] (§7.2).</summary>
public sealed class SipResponse(int statusCode, string? reasonPhrase = null) : SipMessage
{
    public int StatusCode { get; set; } = statusCode;
    public string ReasonPhrase { get; set; } = reasonPhrase ?? SipStatus.DefaultReason(statusCode);
    public bool IsProvisional => StatusCode < 200;

    /// <summary>
    /// A response to a request (§8.2.6.2): Via fields, From, Call-ID, CSeq copied and To copied with
    /// <paramref name="toTag"/> added when the request's To has none.
    /// </summary>
    public static SipResponse CreateFor(SipRequest request, int statusCode, string? reasonPhrase = null, string? toTag = null)
    {
        var response = new SipResponse(statusCode, reasonPhrase);
        foreach (var h in request.Headers)
            if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.CallId or SipHeaderNames.CSeq or SipHeaderNames.To)
                response.Headers.Add(h.Name, h.RawValue);
        if (toTag is not null && statusCode != 100)
        {
            var to = request.To;
            if (to.Tag is null)
            {
                to.Tag = toTag;
                response.To = to;
            }
        }
        return response;
    }
}

/// <summary>Reason phrases of RFC 3261 §21 and RFC 6665.</summary>
public static class SipStatus
{
    public static string DefaultReason(int code) => code switch
    {
        100 => "Trying",
        180 => "Ringing",
        200 => "OK",
        202 => "Accepted",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        407 => "Proxy Authentication Required",
        408 => "Request Timeout",
        413 => "Request Entity Too Large",
        415 => "Unsupported Media Type",
        416 => "Unsupported URI Scheme",
        420 => "Bad Extension",
        423 => "Interval Too Brief",
        481 => "Call/Transaction Does Not Exist",
        482 => "Loop Detected",
        483 => "Too Many Hops",
        489 => "Bad Event",
        500 => "Server Internal Error",
        501 => "Not Implemented",
        503 => "Service Unavailable",
        505 => "Version Not Supported",
        513 => "Message Too Large",
        _ => code switch { < 200 => "Trying", < 300 => "OK", < 400 => "Redirect", < 500 => "Client Error", < 600 => "Server Error", _ => "Global Failure" },
    };
}
