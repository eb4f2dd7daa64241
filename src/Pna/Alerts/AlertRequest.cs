using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Sip;
using Aggregators.Xmpp;

namespace Aggregators.Pna.Alerts;

/// <summary>How urgent an alert is; chooses the XMPP message type (RFC 5437 §2.7) and the SIP Priority.</summary>
public enum AlertImportance
{
    Low,
    Normal,
    High,
}

/// <summary>
/// Where an alert goes: an <c>xmpp:</c> URI (RFC 5122) or a <c>sip:</c> URI (RFC 3261 §19.1).
/// <see cref="Key"/> is the identity consent, rate limits and folding compare (scheme, user, host:
/// the way the authorization policy compares subscribers); the SIP URI keeps its port and
/// parameters for routing.
/// </summary>
public sealed class AlertTarget
{
    private AlertTarget(string uri, SubscriberUri identity, Jid? jid, SipUri? sip)
    {
        Uri = uri;
        Identity = identity;
        Jid = jid;
        Sip = sip;
    }

    /// <summary>The URI as given.</summary>
    public string Uri { get; }

    public SubscriberUri Identity { get; }

    /// <summary>"xmpp" or "sip".</summary>
    /// <summary>The channel that delivers it: <c>xmpp</c> or <c>sip</c> (a sips: target goes over TLS through the SIP channel).</summary>
    public string Scheme => Identity.Scheme == "sips" ? "sip" : Identity.Scheme;

    /// <summary>The normalised identity, e.g. <c>xmpp:juliet@example.com</c>.</summary>
    public string Key => Identity.ToString();

    /// <summary>The bare JID of an xmpp: target.</summary>
    public Jid? Jid { get; }

    /// <summary>The request URI of a sip: target.</summary>
    public SipUri? Sip { get; }

    public override string ToString() => Key;

    public static bool TryParse(string? text, out AlertTarget target, out string? error)
    {
        target = null!;
        if (string.IsNullOrEmpty(text))
        {
            error = "a target is empty";
            return false;
        }
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        var scheme = colon > 0 ? text[..colon].ToLowerInvariant() : "";
        if (scheme is not ("xmpp" or "sip" or "sips"))
        {
            error = "a target must be an xmpp:, sip: or sips: URI";
            return false;
        }
        if (!SubscriberUri.TryParse(text, out var identity, out error))
        {
            return false;
        }
        if (scheme == "xmpp")
        {
            if (!Aggregators.Xmpp.Jid.TryParse(identity.Address, out var jid))
            {
                error = $"'{identity.Address}' is not a valid JID";
                return false;
            }
            target = new AlertTarget(text, identity, jid, null);
            return true;
        }
        SipUri sip;
        try
        {
            sip = SipUri.Parse(text);
        }
        catch (SipParseException e)
        {
            error = "the sip: URI is invalid: " + e.Message;
            return false;
        }
        sip.Headers.Clear(); // RFC 3261 §19.1.5: headers of a URI are not for the request line
        target = new AlertTarget(text, identity, null, sip);
        return true;
    }
}

/// <summary>A decoded <c>POST /v1/alerts</c> body (docs/alerts.md).</summary>
public sealed class AlertRequest
{
    public List<AlertTarget> Targets { get; } = [];

    public string Text { get; set; } = "";

    public AlertImportance Importance { get; set; } = AlertImportance.Normal;

    public AccountId? Account { get; set; }

    public MailboxPath? Mailbox { get; set; }

    /// <summary>RFC 5092 IMAP URL of the message the alert is about.</summary>
    public string? ImapUrl { get; set; }

    /// <summary>The mail's sender address.</summary>
    public string? From { get; set; }

    public string? Subject { get; set; }

    /// <summary>The caller's own id: a repeat with the same id (same source) returns the first alerts.</summary>
    public string? ClientId { get; set; }
}

/// <summary>One problem with a request body: the JSON path of the field (null: the body as a whole) and why.</summary>
public sealed record AlertFieldError(string? Field, string Error);
