using System.Globalization;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Cna.Xmpp;

/// <summary>Names and element builders of XEP-0060 pubsub and XEP-0004 forms as the PNA speaks them (docs/xmpp.md).</summary>
internal static class PubsubWire
{
    public const string Pubsub = XmppPubsubNamespaces.Pubsub;
    public const string Event = XmppPubsubNamespaces.Event;
    public const string Errors = XmppPubsubNamespaces.Errors;
    public const string DataForms = XmppPubsubNamespaces.DataForms;
    public const string Shim = "http://jabber.org/protocol/shim";
    public const string Ping = "urn:xmpp:ping";
    public const string RootNode = "mail_events";

    public static readonly XNamespace Ps = Pubsub;
    public static readonly XNamespace Ev = Event;
    public static readonly XNamespace X = DataForms;

    /// <summary>The pubsub features the PNA offers, and so the CNA (XEP-0060 §10).</summary>
    public static readonly string[] Features =
    [
        "collections", "last-published", "retrieve-items", "retrieve-subscriptions", "subscribe", "subscription-options",
    ];

    /// <summary>The node of a mailbox: <c>mail_events</c> for the root, <c>mail_events/&lt;path&gt;</c> otherwise.</summary>
    public static string NodeOf(MailboxPath mailbox) => mailbox.IsRoot ? RootNode : RootNode + "/" + mailbox.Value;

    /// <summary>The mailbox a node names; false for anything that is not a node of the PNA's scheme.</summary>
    public static bool TryParseNode(string? node, out MailboxPath mailbox)
    {
        mailbox = MailboxPath.Root;
        if (node == RootNode)
        {
            return true;
        }
        if (node is null || !node.StartsWith(RootNode + "/", StringComparison.Ordinal)
            || !MailboxPath.TryParse(node[(RootNode.Length + 1)..], out var path, out _) || path.IsRoot)
        {
            return false;
        }
        mailbox = path;
        return true;
    }

    /// <summary>The mailbox whose totals stand for a node (its own; INBOX for the account root, as the PNA's initial item).</summary>
    public static MailboxPath PrimaryMailbox(MailboxPath node) => node.IsRoot ? MailboxPath.Inbox : node;

    public static XElement PubsubError(string condition, string? feature = null)
    {
        var e = new XElement(XName.Get(condition, Errors));
        if (feature is not null)
        {
            e.Add(new XAttribute("feature", feature));
        }
        return e;
    }

    public static Iq Error(Iq iq, StanzaErrorCondition condition, string? pubsubCondition = null, string? text = null, string? feature = null) =>
        iq.CreateError(StanzaError.Of(condition, text, pubsubCondition is null ? null : PubsubError(pubsubCondition, feature)));

    public static XElement SubscriptionElement(string node, Jid jid, string subId, string state = "subscribed") =>
        new(Ps + "pubsub", new XElement(Ps + "subscription",
            new XAttribute("node", node), new XAttribute("jid", jid.ToString()),
            new XAttribute("subid", subId), new XAttribute("subscription", state)));

    /// <summary>
    /// A subscribe reply with the granted options beside the subscription (XEP-0060 §6.3.7), as
    /// the PNA answers (docs/xmpp.md): <c>&lt;subscription/&gt;&lt;options node jid subid&gt;form&lt;/options&gt;</c>.
    /// </summary>
    public static XElement SubscribedWithOptions(string node, Jid jid, string subId, PubsubSubscribeOptions granted)
    {
        var pubsub = SubscriptionElement(node, jid, subId);
        pubsub.Add(OptionsElement(node, jid, subId, granted));
        return pubsub;
    }

    /// <summary>The options of a subscription as options retrieval returns them (XEP-0060 §6.3.2).</summary>
    public static XElement OptionsElement(string node, Jid jid, string subId, PubsubSubscribeOptions options) =>
        new(Ps + "options", new XAttribute("node", node), new XAttribute("jid", jid.ToString()), new XAttribute("subid", subId), options.ToForm());

    /// <summary>
    /// The heartbeat a PNA granted, from the options beside the subscription in its subscribe reply
    /// (XEP-0060 §6.3.7); null when it sent none, the form does not parse, or it grants none (0).
    /// </summary>
    public static TimeSpan? GrantedHeartbeat(XElement? pubsub) =>
        pubsub?.Element(Ps + "options")?.Element(X + "x") is { } form && PubsubSubscribeOptions.TryParse(form, out var granted, out _)
            ? granted.Heartbeat
            : null;

    /// <summary>
    /// An XEP-0060 §4.3 event notification: <c>items/item</c> with the payload, and the SHIM
    /// headers SubID and Collection (the subscribed node) as the PNA sends them.
    /// </summary>
    public static Message Notification(Jid to, Jid from, string id, string subId, string subscribedNode, XmppMailEventPayload payload)
    {
        var seq = payload.Sequence.ToString(CultureInfo.InvariantCulture);
        var message = new Message(MessageType.Headline, to, from, id);
        message.Element.Add(
            new XElement(Ev + "event",
                new XElement(Ev + "items", new XAttribute("node", NodeOf(payload.Mailbox)),
                    new XElement(Ev + "item", new XAttribute("id", seq), XmppMailEventCodec.Write(payload)))),
            new XElement(XName.Get("headers", Shim),
                new XElement(XName.Get("header", Shim), new XAttribute("name", "SubID"), subId),
                new XElement(XName.Get("header", Shim), new XAttribute("name", "Collection"), subscribedNode)));
        return message;
    }

    /// <summary>
    /// XEP-0060 §8.8.4 (notifying subscribers of a changed subscription): the subscription is now
    /// <paramref name="state"/> (<c>none</c>: the service ended it).
    /// </summary>
    public static Message SubscriptionState(Jid to, Jid from, string node, Jid jid, string subId, string state = "none")
    {
        var message = new Message(MessageType.Normal, to, from);
        message.Element.Add(new XElement(Ev + "event", new XElement(Ev + "subscription",
            new XAttribute("node", node), new XAttribute("jid", jid.ToString()),
            new XAttribute("subid", subId), new XAttribute("subscription", state))));
        return message;
    }

    /// <summary>The SHIM header <paramref name="name"/> of a message, or null.</summary>
    public static string? Header(XElement message, string name) =>
        message.Element(XName.Get("headers", Shim))?.Elements(XName.Get("header", Shim))
            .FirstOrDefault(h => (string?)h.Attribute("name") == name)?.Value;
}
