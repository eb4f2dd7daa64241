using System.Text.Json.Nodes;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>
/// The client's side of the pubsub scenario, shared by the Prosody and ejabberd tests: what a
/// slixmpp client (romeo@example.net) sends to the PNA's service and what it checks.
/// </summary>
internal static class PubsubScenario
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";
    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<SlixmppClient, Queue<JsonObject>> Pending = [];
    private static int _tag;

    /// <summary>
    /// Sends a request and waits for its answer. Notifications seen meanwhile are kept: slixmpp
    /// reports an iq answer one loop turn later than a message read in the same chunk, so the
    /// last item that follows a subscribe result on the wire can be printed before it.
    /// </summary>
    public static async Task<JsonObject> IqAsync(SlixmppClient client, string type, string to, string xml)
    {
        var tag = "t" + Interlocked.Increment(ref _tag);
        await client.SendAsync(new { cmd = "iq", type, to, xml, tag });
        var pending = Pending.GetOrCreateValue(client);
        while (true)
        {
            var e = await client.WaitForAsync(e => (string?)e["event"] == "pubsub"
                || ((string?)e["tag"] == tag && ((string?)e["event"])!.StartsWith("iq_", StringComparison.Ordinal)), Wait);
            if ((string?)e["event"] != "pubsub")
            {
                return e;
            }
            pending.Enqueue(e);
        }
    }

    public static async Task<XElement> ResultAsync(SlixmppClient client, string type, string to, string xml)
    {
        var reply = await IqAsync(client, type, to, xml);
        Assert.True((string?)reply["event"] == "iq_result", $"expected a result, got {reply.ToJsonString()}");
        return XElement.Parse((string)reply["xml"]!);
    }

    public static IEnumerable<string?> ItemAttributes(XElement iq, string attribute) =>
        iq.Descendants(XName.Get("item", "http://jabber.org/protocol/disco#items")).Select(i => (string?)i.Attribute(attribute));

    public static string DiscoItems(string? node = null) =>
        node is null ? "<query xmlns='http://jabber.org/protocol/disco#items'/>" : $"<query xmlns='http://jabber.org/protocol/disco#items' node='{node}'/>";

    public static string Subscribe(string node, string jid, string depth, string eventTypes) =>
        $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{node}' jid='{jid}'/><options><x xmlns='jabber:x:data' type='submit'>"
        + "<field var='FORM_TYPE' type='hidden'><value>http://jabber.org/protocol/pubsub#subscribe_options</value></field>"
        + $"<field var='pubsub#subscription_depth'><value>{depth}</value></field>"
        + $"<field var='pna#event_types'><value>{eventTypes}</value></field></x></options></pubsub>";

    /// <summary>The next pubsub notification: its items node and payload.</summary>
    public static async Task<(string Node, XmppMailEventPayload Payload)> NextNotificationAsync(SlixmppClient client)
    {
        var pending = Pending.GetOrCreateValue(client);
        var e = pending.Count > 0 ? pending.Dequeue() : await client.WaitForAsync(e => (string?)e["event"] == "pubsub", Wait);
        var items = XElement.Parse((string)e["xml"]!).Element(Ev + "items")!;
        var payloadElement = items.Element(Ev + "item")!.Elements().Single();
        Assert.True(XmppMailEventCodec.TryRead(payloadElement, out var payload, out var error), error);
        return ((string)items.Attribute("node")!, payload);
    }

    /// <summary>Browse (service, account, nodes), subscribe to Work and below with options, get the current totals.</summary>
    public static async Task BrowseAndSubscribeAsync(SlixmppClient romeo)
    {
        var accounts = await ResultAsync(romeo, "get", "events.example.com", DiscoItems());
        Assert.Equal(["juliet@events.example.com"], ItemAttributes(accounts, "jid")); // not nurse's: no grant
        var root = await ResultAsync(romeo, "get", "juliet@events.example.com", DiscoItems());
        Assert.Equal(["mail_events"], ItemAttributes(root, "node"));
        var top = await ResultAsync(romeo, "get", "juliet@events.example.com", DiscoItems("mail_events"));
        Assert.Equal(["mail_events/INBOX", "mail_events/Work"], ItemAttributes(top, "node"));
        var work = await ResultAsync(romeo, "get", "juliet@events.example.com", DiscoItems("mail_events/Work"));
        Assert.Equal(["mail_events/Work/Projects"], ItemAttributes(work, "node"));

        var subscribed = await ResultAsync(romeo, "set", "juliet@events.example.com", Subscribe("mail_events/Work", "romeo@example.net", "all", "MessageNew"));
        Assert.Equal("subscribed", (string?)subscribed.Descendants(XName.Get("subscription", "http://jabber.org/protocol/pubsub")).Single().Attribute("subscription"));
        var (node, initial) = await NextNotificationAsync(romeo);
        Assert.Equal(XmppPayloadKind.Initial, initial.Kind);
        Assert.Equal("mail_events/Work", node);

        var denied = await IqAsync(romeo, "set", "nurse@events.example.com", Subscribe("mail_events", "romeo@example.net", "all", "MessageNew"));
        Assert.Equal("iq_error", (string?)denied["event"]);
        Assert.Equal("forbidden", (string?)denied["condition"]);
    }

    /// <summary>An event below Work arrives with its totals; one in INBOX (outside the subscription) does not. Returns its seq.</summary>
    public static async Task<long> DeliversAsync(PnaXmppHost pna, SlixmppClient romeo, uint messages)
    {
        await pna.MessageNewAsync("juliet@example.com", "INBOX", 50, 50, 51);
        await pna.MessageNewAsync("juliet@example.com", "Work/Projects", messages, 1, messages + 1);
        var (node, payload) = await NextNotificationAsync(romeo);
        Assert.Equal("mail_events/Work/Projects", node);
        Assert.Equal(XmppPayloadKind.Event, payload.Kind);
        Assert.Equal(MailEventType.MessageNew, payload.EventType);
        Assert.Equal(new MailboxTotals(messages, 1, messages + 1, 1), payload.Totals);
        return payload.Sequence;
    }

    public static async Task SeedAsync(PnaXmppHost pna)
    {
        await pna.MessageNewAsync("juliet@example.com", "INBOX", 3, 1, 4);
        await pna.MessageNewAsync("juliet@example.com", "Work/Projects", 1, 1, 2);
        await pna.MessageNewAsync("nurse@example.com", "INBOX", 1, 1, 2);
    }
}
