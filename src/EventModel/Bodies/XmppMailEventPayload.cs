using System.Globalization;
using System.Xml.Linq;

namespace Aggregators.EventModel.Bodies;

/// <summary>Why an XMPP pubsub item was produced (the PNA's notification kinds, plus items retrieval).</summary>
public enum XmppPayloadKind : byte
{
    /// <summary>An RFC 5423 event matched the subscription.</summary>
    Event,

    /// <summary>The current totals sent right after subscribing (XEP-0060 §6.1.7 last published item).</summary>
    Initial,

    /// <summary>The current totals, repeated after the heartbeat interval without other notifications.</summary>
    Heartbeat,

    /// <summary>The current totals, answered to an items request (XEP-0060 §6.5).</summary>
    Current,
}

/// <summary>
/// The payload of one pubsub item (namespace <see cref="XmppMailEventPayload.Namespace"/>): an RFC 5423
/// event (or none, for totals only) with the mailbox's totals after it and the subscription's
/// sequence number.
/// <code>
/// &lt;mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='event' seq='7' type='MessageNew'
///     account='juliet@example.com' mailbox='INBOX' timestamp='2026-11-21T21:00:00Z' id='ev-1' uidset='5'&gt;
///   &lt;totals messages='5' unseen='2' uidnext='6' uidvalidity='1'/&gt;
/// &lt;/mail-event&gt;
/// </code>
/// </summary>
public sealed record XmppMailEventPayload
{
    /// <summary>Version 0 of this project's payload namespace.</summary>
    public const string Namespace = "urn:aggregators:xmpp:mail-event:0";

    /// <summary>The element's local name.</summary>
    public const string ElementName = "mail-event";

    public required XmppPayloadKind Kind { get; init; }

    /// <summary>The subscription's sequence number (0 for an items reply, which belongs to no subscription).</summary>
    public long Sequence { get; init; }

    public required AccountId Account { get; init; }

    /// <summary>The mailbox the totals describe (and the event is about); root for account-level events.</summary>
    public MailboxPath Mailbox { get; init; } = MailboxPath.Root;

    /// <summary>RFC 5423 event type, for <see cref="XmppPayloadKind.Event"/>.</summary>
    public MailEventType? EventType { get; init; }

    /// <summary>The former name, for MailboxRename (RFC 5423 §4.4: oldMailboxURL).</summary>
    public MailboxPath? OldMailbox { get; init; }

    public MailboxTotals? Totals { get; init; }

    /// <summary>The event's time (RFC 5423 §4.1 timestamp).</summary>
    public DateTimeOffset? Timestamp { get; init; }

    /// <summary>The producer's event id.</summary>
    public string? EventId { get; init; }

    /// <summary>UIDs the event is about (RFC 5423 §4.1 uidset).</summary>
    public string? Uidset { get; init; }

    /// <summary>
    /// Set by a CNA (docs/cna-xmpp.md) while it has lost contact with the publisher's PNA: the
    /// totals are the last ones it knew and may be out of date. Written as <c>stale='true'</c>
    /// only when set; absent means fresh (a PNA never sets it).
    /// </summary>
    public bool Stale { get; init; }
}

/// <summary>Writes and strictly reads <see cref="XmppMailEventPayload"/> elements. Pure: no I/O.</summary>
public static class XmppMailEventCodec
{
    private static readonly XNamespace Ns = XmppMailEventPayload.Namespace;

    /// <summary>The payload's qualified element name.</summary>
    public static XName Name { get; } = Ns + XmppMailEventPayload.ElementName;

    public static string KindName(XmppPayloadKind kind) => kind switch
    {
        XmppPayloadKind.Event => "event",
        XmppPayloadKind.Initial => "initial",
        XmppPayloadKind.Heartbeat => "heartbeat",
        _ => "current",
    };

    public static XElement Write(XmppMailEventPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        var e = new XElement(Name,
            new XAttribute("kind", KindName(payload.Kind)),
            new XAttribute("seq", payload.Sequence.ToString(CultureInfo.InvariantCulture)));
        if (payload.EventType is { } type)
        {
            e.Add(new XAttribute("type", type.ToRfcName()));
        }
        e.Add(new XAttribute("account", payload.Account.Value));
        e.Add(new XAttribute("mailbox", payload.Mailbox.Value));
        if (payload.OldMailbox is { } old)
        {
            e.Add(new XAttribute("old-mailbox", old.Value));
        }
        if (payload.Timestamp is { } ts)
        {
            e.Add(new XAttribute("timestamp", ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture)));
        }
        if (payload.EventId is { } id)
        {
            e.Add(new XAttribute("id", id));
        }
        if (payload.Uidset is { } uids)
        {
            e.Add(new XAttribute("uidset", uids));
        }
        if (payload.Stale)
        {
            e.Add(new XAttribute("stale", "true"));
        }
        if (payload.Totals is { } t)
        {
            e.Add(new XElement(Ns + "totals",
                new XAttribute("messages", t.Messages.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("unseen", t.Unseen.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("uidnext", t.UidNext.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("uidvalidity", t.UidValidity.ToString(CultureInfo.InvariantCulture))));
        }
        return e;
    }

    /// <summary>Reads a payload; false with the reason for anything this codec would not write.</summary>
    public static bool TryRead(XElement element, out XmppMailEventPayload payload, out string? error)
    {
        ArgumentNullException.ThrowIfNull(element);
        payload = null!;
        if (element.Name != Name)
        {
            error = $"expected <{XmppMailEventPayload.ElementName} xmlns='{XmppMailEventPayload.Namespace}'>, got <{element.Name.LocalName} xmlns='{element.Name.NamespaceName}'>";
            return false;
        }
        XmppPayloadKind kind;
        switch ((string?)element.Attribute("kind"))
        {
            case "event": kind = XmppPayloadKind.Event; break;
            case "initial": kind = XmppPayloadKind.Initial; break;
            case "heartbeat": kind = XmppPayloadKind.Heartbeat; break;
            case "current": kind = XmppPayloadKind.Current; break;
            case var k:
                error = $"kind '{k}' is not event, initial, heartbeat or current";
                return false;
        }
        if (!long.TryParse((string?)element.Attribute("seq"), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            error = "seq is missing or not a non-negative integer";
            return false;
        }
        if (!AccountId.TryParse((string?)element.Attribute("account"), out var account, out error))
        {
            error = "account: " + error;
            return false;
        }
        if (!MailboxPath.TryParse((string?)element.Attribute("mailbox") ?? "", out var mailbox, out error))
        {
            error = "mailbox: " + error;
            return false;
        }
        MailEventType? type = null;
        if ((string?)element.Attribute("type") is { } typeName)
        {
            if (!MailEventTypes.TryParse(typeName, out var t))
            {
                error = $"type '{typeName}' is not an RFC 5423 event type";
                return false;
            }
            type = t;
        }
        if ((kind == XmppPayloadKind.Event) != type.HasValue)
        {
            error = kind == XmppPayloadKind.Event ? "an event item needs a type" : $"a {KindName(kind)} item has no event type";
            return false;
        }
        MailboxPath? old = null;
        if ((string?)element.Attribute("old-mailbox") is { } oldName)
        {
            if (!MailboxPath.TryParse(oldName, out var o, out error))
            {
                error = "old-mailbox: " + error;
                return false;
            }
            old = o;
        }
        DateTimeOffset? timestamp = null;
        if ((string?)element.Attribute("timestamp") is { } tsText)
        {
            if (!DateTimeOffset.TryParse(tsText, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var ts)
                || !tsText.EndsWith('Z'))
            {
                error = $"timestamp '{tsText}' is not an RFC 3339 UTC time";
                return false;
            }
            timestamp = ts;
        }
        var stale = false;
        switch ((string?)element.Attribute("stale"))
        {
            case null or "false" or "0": break;
            case "true" or "1": stale = true; break; // xs:boolean
            case var s:
                error = $"stale '{s}' is not a boolean (true or false)";
                return false;
        }
        MailboxTotals? totals = null;
        var totalsElements = element.Elements(Ns + "totals").ToList();
        if (totalsElements.Count > 1)
        {
            error = "more than one <totals/>";
            return false;
        }
        if (totalsElements.Count == 1)
        {
            var te = totalsElements[0];
            if (!TryUInt(te, "messages", out var messages, out error) || !TryUInt(te, "unseen", out var unseen, out error)
                || !TryUInt(te, "uidnext", out var uidnext, out error) || !TryUInt(te, "uidvalidity", out var uidvalidity, out error))
            {
                return false;
            }
            totals = new MailboxTotals(messages, unseen, uidnext, uidvalidity);
        }
        payload = new XmppMailEventPayload
        {
            Kind = kind,
            Sequence = seq,
            Account = account,
            Mailbox = mailbox,
            EventType = type,
            OldMailbox = old,
            Totals = totals,
            Timestamp = timestamp,
            EventId = (string?)element.Attribute("id"),
            Uidset = (string?)element.Attribute("uidset"),
            Stale = stale,
        };
        error = null;
        return true;
    }

    private static bool TryUInt(XElement e, string name, out uint value, out string? error)
    {
        if (uint.TryParse((string?)e.Attribute(name), NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            error = null;
            return true;
        }
        error = $"totals {name} is missing or not an unsigned 32-bit integer";
        return false;
    }
}
