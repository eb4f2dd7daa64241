using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Sources;

/// <summary>
/// The XEP-0060 requests MailWatch sends to the PNA's pubsub service and the payloads it reads
/// back (docs/xmpp.md). Pure: builds and reads <see cref="XElement"/>s.
/// </summary>
internal static class PubsubProtocol
{
    public const string Pubsub = XmppPubsubNamespaces.Pubsub;
    public const string Event = XmppPubsubNamespaces.Event;
    private static readonly XNamespace Ps = Pubsub;
    private static readonly XNamespace Ev = Event;

    /// <summary>The node of a mailbox: <c>mail_events/&lt;path&gt;</c> (docs/xmpp.md §3).</summary>
    public static string Node(string mailbox) => "mail_events/" + mailbox;

    /// <summary>XEP-0060 §6.1 subscribe with §6.3.7 options: depth and the PNA's heartbeat.</summary>
    public static XElement Subscribe(string node, string jid, bool subtree, TimeSpan heartbeat) =>
        new(Ps + "pubsub",
            new XElement(Ps + "subscribe", new XAttribute("node", node), new XAttribute("jid", jid)),
            new XElement(Ps + "options",
                new PubsubSubscribeOptions(subtree ? SubscriptionDepth.Subtree : SubscriptionDepth.One, EventTypeSet.All,
                    heartbeat > TimeSpan.Zero ? heartbeat : null).ToSubmitForm()));

    /// <summary>XEP-0060 §6.2 unsubscribe.</summary>
    public static XElement Unsubscribe(string node, string jid) =>
        new(Ps + "pubsub", new XElement(Ps + "unsubscribe", new XAttribute("node", node), new XAttribute("jid", jid)));

    /// <summary>XEP-0060 §6.5 items: the PNA answers one item with the current totals.</summary>
    public static XElement Items(string node) => new(Ps + "pubsub", new XElement(Ps + "items", new XAttribute("node", node)));

    /// <summary>
    /// The mail-event payloads of a notification message (§7.1.2.1 &lt;event&gt;&lt;items&gt;&lt;item&gt;)
    /// or of an items result (§6.5.2 &lt;pubsub&gt;&lt;items&gt;&lt;item&gt;). Malformed payloads are reported, not thrown.
    /// </summary>
    public static IEnumerable<XmppMailEventPayload> ReadPayloads(XElement? container, Action<string>? malformed = null)
    {
        if (container is null || (container.Name != Ev + "event" && container.Name != Ps + "pubsub"))
        {
            yield break;
        }
        var ns = container.Name.Namespace;
        foreach (var item in container.Elements(ns + "items").Elements(ns + "item"))
        {
            foreach (var element in item.Elements(XmppMailEventCodec.Name))
            {
                if (XmppMailEventCodec.TryRead(element, out var payload, out var error))
                {
                    yield return payload;
                }
                else
                {
                    malformed?.Invoke(error ?? "malformed mail-event");
                }
            }
        }
    }

    /// <summary>Counts from a payload, or null when it has no totals (account-level events).</summary>
    public static MailboxUpdate? ToUpdate(XmppMailEventPayload payload)
    {
        ArgumentNullException.ThrowIfNull(payload);
        if (payload.Totals is not { } totals || payload.Mailbox.IsRoot)
        {
            return null;
        }
        var kind = payload.Kind switch
        {
            XmppPayloadKind.Event => UpdateKind.Event,
            XmppPayloadKind.Initial => UpdateKind.Initial,
            XmppPayloadKind.Heartbeat => UpdateKind.Heartbeat,
            _ => UpdateKind.Current,
        };
        return new MailboxUpdate(payload.Mailbox.ToString(), totals.Messages, totals.Unseen, totals.UidNext, totals.UidValidity, kind,
            payload.EventType?.ToString());
    }

    /// <summary>True when <paramref name="mailbox"/> is one of the watched ones (or below one, for a subtree).</summary>
    public static bool IsWatched(string mailbox, IReadOnlyList<string> watched, bool subtree)
    {
        var path = MailboxPath.Parse(mailbox);
        foreach (var w in watched)
        {
            var root = MailboxPath.Parse(w);
            if (subtree ? root.IsAncestorOrSelfOf(path) : root.Equals(path))
            {
                return true;
            }
        }
        return false;
    }
}
