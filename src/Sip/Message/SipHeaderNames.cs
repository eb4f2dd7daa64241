using System.Collections.Frozen;
using System.Text;

namespace Aggregators.Sip;

/// <summary>Full header names (RFC 3261 §20, RFC 6665 §8.4) and the compact forms of §7.3.3.</summary>
public static class SipHeaderNames
{
    public const string Accept = "Accept";
    public const string AcceptContact = "Accept-Contact";
    public const string Allow = "Allow";
    public const string AllowEvents = "Allow-Events";
    public const string Authorization = "Authorization";
    public const string CallId = "Call-ID";
    public const string Contact = "Contact";
    public const string ContentEncoding = "Content-Encoding";
    public const string ContentLength = "Content-Length";
    public const string ContentType = "Content-Type";
    public const string CSeq = "CSeq";
    public const string Date = "Date";
    public const string Event = "Event";
    public const string Expires = "Expires";
    public const string From = "From";
    public const string Identity = "Identity";
    public const string IdentityInfo = "Identity-Info";
    public const string MaxForwards = "Max-Forwards";
    public const string MinExpires = "Min-Expires";
    public const string ProxyAuthenticate = "Proxy-Authenticate";
    public const string ProxyAuthorization = "Proxy-Authorization";
    public const string ProxyRequire = "Proxy-Require";
    public const string RecordRoute = "Record-Route";
    public const string ReferTo = "Refer-To";
    public const string ReferredBy = "Referred-By";
    public const string RejectContact = "Reject-Contact";
    public const string RequestDisposition = "Request-Disposition";
    public const string Require = "Require";
    public const string RetryAfter = "Retry-After";
    public const string Route = "Route";
    public const string Server = "Server";
    public const string SessionExpires = "Session-Expires";
    public const string Subject = "Subject";
    public const string SubscriptionState = "Subscription-State";
    public const string Supported = "Supported";
    public const string Timestamp = "Timestamp";
    public const string To = "To";
    public const string Unsupported = "Unsupported";
    public const string UserAgent = "User-Agent";
    public const string Via = "Via";
    public const string Warning = "Warning";
    public const string WwwAuthenticate = "WWW-Authenticate";

    private static readonly string[] Known =
    [
        Accept, AcceptContact, Allow, AllowEvents, Authorization, CallId, Contact, ContentEncoding, ContentLength,
        ContentType, CSeq, Date, Event, Expires, From, Identity, IdentityInfo, MaxForwards, MinExpires,
        ProxyAuthenticate, ProxyAuthorization, ProxyRequire, RecordRoute, ReferTo, ReferredBy, RejectContact,
        RequestDisposition, Require, RetryAfter, Route, Server, SessionExpires, Subject, SubscriptionState,
        Supported, Timestamp, To, Unsupported, UserAgent, Via, Warning, WwwAuthenticate,
        "Accept-Encoding", "Accept-Language", "Alert-Info", "Call-Info", "Content-Disposition", "Content-Language",
        "Error-Info", "In-Reply-To", "MIME-Version", "Organization", "Priority", "Reply-To",
    ];

    // Compact forms: RFC 3261 §7.3.3 and the IANA SIP header registry.
    private static readonly FrozenDictionary<char, string> Compact = new Dictionary<char, string>
    {
        ['a'] = AcceptContact, ['b'] = ReferredBy, ['c'] = ContentType, ['d'] = RequestDisposition,
        ['e'] = ContentEncoding, ['f'] = From, ['i'] = CallId, ['j'] = RejectContact, ['k'] = Supported,
        ['l'] = ContentLength, ['m'] = Contact, ['n'] = IdentityInfo, ['o'] = Event, ['r'] = ReferTo,
        ['s'] = Subject, ['t'] = To, ['u'] = AllowEvents, ['v'] = Via, ['x'] = SessionExpires, ['y'] = Identity,
    }.ToFrozenDictionary();

    private static readonly FrozenDictionary<string, string> ByName =
        Known.ToFrozenDictionary(n => n, n => n, StringComparer.OrdinalIgnoreCase);

    private static readonly FrozenDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> ByNameSpan =
        ByName.GetAlternateLookup<ReadOnlySpan<char>>();

    /// <summary>
    /// Headers whose values are comma-separated lists (§7.3.1) and that may therefore be split into or
    /// combined from several header fields.
    /// </summary>
    private static readonly FrozenSet<string> ListHeaders = new[]
    {
        Via, Route, RecordRoute, Contact, Allow, AllowEvents, Supported, Require, ProxyRequire, Unsupported,
        Accept, "Accept-Encoding", "Accept-Language", ContentEncoding, "Content-Language", "Alert-Info", "Call-Info",
        "Error-Info", "In-Reply-To", Warning, AcceptContact, RejectContact, RequestDisposition,
    }.ToFrozenSet(StringComparer.OrdinalIgnoreCase);

    public static bool IsList(string name) => ListHeaders.Contains(name);

    /// <summary>The full, canonically cased name for a header name or compact form.</summary>
    public static string Canonicalize(string name)
    {
        if (name.Length == 1 && Compact.TryGetValue(char.ToLowerInvariant(name[0]), out var full)) return full;
        return ByName.TryGetValue(name, out var known) ? known : name;
    }

    /// <summary>Same as <see cref="Canonicalize(string)"/> for ASCII bytes; allocates only for unknown names.</summary>
    internal static string Canonicalize(ReadOnlySpan<byte> name)
    {
        if (name.Length == 1 && Compact.TryGetValue((char)(name[0] | 0x20), out var full)) return full;
        if (name.Length <= 64)
        {
            Span<char> chars = stackalloc char[name.Length];
            for (var i = 0; i < name.Length; i++) chars[i] = (char)name[i];
            if (ByNameSpan.TryGetValue(chars, out var known)) return known;
        }
        return Encoding.ASCII.GetString(name);
    }
}

/// <summary>Method names of RFC 3261 §7.1, RFC 6665 and RFC 3428.</summary>
public static class SipMethods
{
    public const string Ack = "ACK";
    public const string Bye = "BYE";
    public const string Cancel = "CANCEL";
    public const string Invite = "INVITE";
    public const string Message = "MESSAGE";
    public const string Notify = "NOTIFY";
    public const string Options = "OPTIONS";
    public const string Register = "REGISTER";
    public const string Subscribe = "SUBSCRIBE";
}
