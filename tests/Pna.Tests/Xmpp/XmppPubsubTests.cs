using System.Collections.Concurrent;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Tests.Ingest;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>
/// The pubsub service driven with stanzas as the component would hand them over, on a real PNA
/// host whose component points at a closed port; what it sends is recorded.
/// </summary>
public sealed class XmppPubsubTests : IAsyncLifetime
{
    private static readonly XNamespace Ps = "http://jabber.org/protocol/pubsub";
    private static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";
    private static readonly XNamespace Err = "http://jabber.org/protocol/pubsub#errors";
    private static readonly XNamespace X = "jabber:x:data";
    private static readonly Jid Romeo = Jid.Parse("romeo@example.net/balcony");
    private static readonly Jid Juliet = Jid.Parse("juliet@events.example.com");

    private readonly RecordingSink _sink = new();
    private PnaTestHost _host = null!;
    private string _dir = null!;
    private int _id;

    private XmppPubsubTransport Transport => _host.App.Services.GetRequiredService<XmppPubsubTransport>();

    public async Task InitializeAsync()
    {
        _dir = PnaTestHost.NewDataDirectory();
        _host = await StartHostAsync();
        await PostAsync(Events.MessageNew("juliet@example.com", "INBOX", 3, 1, 4), Events.MessageNew("juliet@example.com", "Work/Projects", 1, 1, 2));
    }

    private async Task<PnaTestHost> StartHostAsync(Dictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["Pna:Xmpp:Enabled"] = "true",
            ["Pna:Xmpp:Port"] = "9", // nothing listens: the component keeps retrying, the sink records
            ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
            ["Pna:Xmpp:Secret"] = "s3cret",
            ["Pna:Xmpp:MailDomain"] = "example.com",
        };
        foreach (var (k, v) in extra ?? [])
        {
            settings[k] = v;
        }
        var host = await PnaTestHost.StartAsync(_dir, settings, services: s => s.AddSingleton<IAuthorizationPolicy, DenyMallory>());
        host.App.Services.GetRequiredService<XmppPubsubTransport>().Sink = _sink;
        return host;
    }

    public async Task DisposeAsync()
    {
        await _host.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private async Task PostAsync(params string[] lines)
    {
        using var response = await _host.PostAsync(Events.Ndjson(lines));
        Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
    }

    private async Task<Iq> RequestAsync(IqType type, Jid to, XElement payload, Jid? from = null)
    {
        var iq = new Iq(type, "q" + Interlocked.Increment(ref _id), to, from ?? Romeo, payload);
        var reparsed = (Iq)Stanza.FromElement(XElement.Parse(iq.ToString()));
        await Transport.HandleStanzaAsync(reparsed, CancellationToken.None);
        return _sink.Replies.Last(r => r.Id == iq.Id);
    }

    private static XElement Subscribe(string node, string jid, params (string Var, string[] Values)[] fields)
    {
        var pubsub = new XElement(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("node", node), new XAttribute("jid", jid)));
        if (fields.Length > 0)
        {
            pubsub.Add(new XElement(Ps + "options", Form(fields)));
        }
        return pubsub;
    }

    private static XElement Form(params (string Var, string[] Values)[] fields) =>
        new(X + "x", new XAttribute("type", "submit"),
            new XElement(X + "field", new XAttribute("var", "FORM_TYPE"), new XElement(X + "value", "http://jabber.org/protocol/pubsub#subscribe_options")),
            fields.Select(f => new XElement(X + "field", new XAttribute("var", f.Var), f.Values.Select(v => new XElement(X + "value", v)))));

    private static void AssertError(Iq reply, string condition, string? pubsubCondition = null)
    {
        Assert.Equal(IqType.Error, reply.Type);
        Assert.Equal(condition, reply.Error!.ConditionName);
        if (pubsubCondition is not null)
        {
            Assert.Equal(Err + pubsubCondition, reply.Error.ApplicationCondition?.Name);
        }
    }

    private async Task<List<XmppMailEventPayload>> WaitForPayloadsAsync(int count)
    {
        await PnaTestHost.WaitUntil(() => _sink.Notifications.Count >= count, count + " notifications");
        return [.. _sink.Notifications.Select(PayloadOf)];
    }

    private static XmppMailEventPayload PayloadOf(Message m)
    {
        var item = m.Element.Element(Ev + "event")!.Element(Ev + "items")!.Element(Ev + "item")!;
        Assert.True(XmppMailEventCodec.TryRead(item.Elements().Single(), out var payload, out var error), error);
        return payload;
    }

    [Fact]
    public async Task Disco_walks_service_account_and_node_tree()
    {
        var service = await RequestAsync(IqType.Get, Jid.Parse("events.example.com"), new XElement(XName.Get("query", XmppNamespaces.DiscoInfo)));
        Assert.Equal("service", (string?)service.Payload!.Element(XName.Get("identity", XmppNamespaces.DiscoInfo))!.Attribute("type"));
        Assert.Contains(service.Payload!.Elements(), f => (string?)f.Attribute("var") == "http://jabber.org/protocol/pubsub#subscribe");

        var accounts = await RequestAsync(IqType.Get, Jid.Parse("events.example.com"), new XElement(XName.Get("query", XmppNamespaces.DiscoItems)));
        Assert.Equal(["juliet@events.example.com"], accounts.Payload!.Elements().Select(i => (string?)i.Attribute("jid")));

        var root = await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoItems)));
        Assert.Equal(["mail_events"], root.Payload!.Elements().Select(i => (string?)i.Attribute("node")));

        var top = await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoItems), new XAttribute("node", "mail_events")));
        Assert.Equal(["mail_events/INBOX", "mail_events/Work"], top.Payload!.Elements().Select(i => (string?)i.Attribute("node")));

        var work = await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoInfo), new XAttribute("node", "mail_events/Work")));
        Assert.Equal("collection", (string?)work.Payload!.Element(XName.Get("identity", XmppNamespaces.DiscoInfo))!.Attribute("type"));
        var leaf = await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoInfo), new XAttribute("node", "mail_events/Work/Projects")));
        Assert.Equal("leaf", (string?)leaf.Payload!.Element(XName.Get("identity", XmppNamespaces.DiscoInfo))!.Attribute("type"));

        AssertError(await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoInfo), new XAttribute("node", "mail_events/Nope"))), "item-not-found");
    }

    private static readonly XNamespace Rsm = "http://jabber.org/protocol/rsm";

    private static XElement DiscoItems(string? node, params XElement[] set)
    {
        var query = new XElement(XName.Get("query", XmppNamespaces.DiscoItems), set.Length == 0 ? null : new XElement(Rsm + "set", set));
        if (node is not null)
        {
            query.Add(new XAttribute("node", node));
        }
        return query;
    }

    private static List<string?> Listed(Iq reply, string attribute) =>
        [.. reply.Payload!.Elements(XName.Get("item", XmppNamespaces.DiscoItems)).Select(i => (string?)i.Attribute(attribute))];

    [Fact]
    public async Task Disco_items_pages_accounts_and_nodes_with_result_set_management()
    {
        await PostAsync([.. Enumerable.Range(0, 24).Select(i => Events.MessageNew($"a{i:00}@example.com", "INBOX", 1, 1, 2))]);
        await PostAsync([.. Enumerable.Range(0, 12).Select(i => Events.MessageNew("juliet@example.com", $"Box{i:00}", 1, 1, 2))]);
        var service = Jid.Parse("events.example.com");
        List<string?> expected = [.. Enumerable.Range(0, 24).Select(i => $"a{i:00}@events.example.com"), "juliet@events.example.com"];

        // No request and all fits: the plain list, as before (no <set/>).
        var all = await RequestAsync(IqType.Get, service, DiscoItems(null));
        Assert.Equal(expected, Listed(all, "jid"));
        Assert.Null(all.Payload!.Element(Rsm + "set"));

        // Pages of 10 walked with <after/>.
        var seen = new List<string?>();
        string? after = null;
        for (var pageNo = 0; pageNo < 3; pageNo++)
        {
            var reply = await RequestAsync(IqType.Get, service, DiscoItems(null, [new XElement(Rsm + "max", "10"), .. after is null ? Array.Empty<XElement>() : [new XElement(Rsm + "after", after)]]));
            var set = reply.Payload!.Element(Rsm + "set")!;
            Assert.Equal("25", set.Element(Rsm + "count")!.Value);
            Assert.Equal((pageNo * 10).ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)set.Element(Rsm + "first")!.Attribute("index"));
            seen.AddRange(Listed(reply, "jid"));
            after = set.Element(Rsm + "last")!.Value;
        }
        Assert.Equal(expected, seen);

        // The last page (<before/>), the count alone (max 0), and an unknown item.
        var last = await RequestAsync(IqType.Get, service, DiscoItems(null, new XElement(Rsm + "max", "2"), new XElement(Rsm + "before")));
        Assert.Equal(["a23@events.example.com", "juliet@events.example.com"], Listed(last, "jid"));
        var count = await RequestAsync(IqType.Get, service, DiscoItems(null, new XElement(Rsm + "max", "0")));
        Assert.Empty(Listed(count, "jid"));
        Assert.Equal("25", count.Payload!.Element(Rsm + "set")!.Element(Rsm + "count")!.Value);
        AssertError(await RequestAsync(IqType.Get, service, DiscoItems(null, new XElement(Rsm + "after", "nobody@events.example.com"))), "item-not-found");
        AssertError(await RequestAsync(IqType.Get, service, DiscoItems(null, new XElement(Rsm + "max", "-3"))), "bad-request");

        // A node's children page the same way, by node name.
        var nodes = await RequestAsync(IqType.Get, Juliet, DiscoItems("mail_events", new XElement(Rsm + "max", "5"), new XElement(Rsm + "after", "mail_events/Box04")));
        Assert.Equal(["mail_events/Box05", "mail_events/Box06", "mail_events/Box07", "mail_events/Box08", "mail_events/Box09"], Listed(nodes, "node"));
        Assert.Equal("14", nodes.Payload!.Element(Rsm + "set")!.Element(Rsm + "count")!.Value); // Box00-11, INBOX, Work

        var info = await RequestAsync(IqType.Get, service, new XElement(XName.Get("query", XmppNamespaces.DiscoInfo)));
        Assert.Contains(info.Payload!.Elements(), f => (string?)f.Attribute("var") == "http://jabber.org/protocol/rsm");
    }

    [Fact]
    public async Task An_account_whose_local_part_a_jid_cannot_carry_is_escaped_per_xep0106()
    {
        await PostAsync(Events.MessageNew("o'brien@example.com", "INBOX", 2, 1, 3));
        var accounts = await RequestAsync(IqType.Get, Jid.Parse("events.example.com"), DiscoItems(null));
        Assert.Contains(@"o\27brien@events.example.com", Listed(accounts, "jid"));
        Assert.Contains("o'brien@example.com", Listed(accounts, "name"));

        var obrien = Jid.Parse(@"o\27brien@events.example.com");
        var root = await RequestAsync(IqType.Get, obrien, DiscoItems(null));
        Assert.Equal(["mail_events"], Listed(root, "node"));
        Assert.Equal(IqType.Result, (await RequestAsync(IqType.Set, obrien, Subscribe("mail_events/INBOX", "romeo@example.net"))).Type);
        var initial = Assert.Single(await WaitForPayloadsAsync(1));
        Assert.Equal("o'brien@example.com", initial.Account.Value);
        Assert.Equal(new MailboxTotals(2, 1, 3, 7), initial.Totals);
        Assert.Equal(obrien, _sink.Notifications[0].From);
    }

    [Fact]
    public async Task Subscribe_answers_first_then_sends_current_totals_then_events_with_sequence()
    {
        var reply = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/Work", "romeo@example.net", ("pubsub#subscription_depth", ["all"])));
        Assert.Equal(IqType.Result, reply.Type);
        var sub = reply.Payload!.Element(Ps + "subscription")!;
        Assert.Equal("subscribed", (string?)sub.Attribute("subscription"));
        // The last item follows the result (XEP-0060 §6.1.7).
        var initial = Assert.Single(await WaitForPayloadsAsync(1));
        Assert.True(_sink.IndexOf(reply) < _sink.IndexOf(_sink.Notifications.First()));
        Assert.Equal(XmppPayloadKind.Initial, initial.Kind);
        Assert.Equal(1, initial.Sequence);

        await PostAsync(Events.MessageNew("juliet@example.com", "Work/Projects", 2, 2, 3), Events.MessageNew("juliet@example.com", "INBOX", 4, 2, 5));
        var payloads = await WaitForPayloadsAsync(2);
        var ev = payloads[1];
        Assert.Equal(XmppPayloadKind.Event, ev.Kind);
        Assert.Equal(MailEventType.MessageNew, ev.EventType);
        Assert.Equal("Work/Projects", ev.Mailbox.Value);
        Assert.Equal(new MailboxTotals(2, 2, 3, 7), ev.Totals);
        Assert.Equal(2, ev.Sequence);
        var message = _sink.Notifications[1];
        Assert.Equal("romeo@example.net", message.To!.ToString());
        Assert.Equal(Juliet, message.From);
        Assert.Equal("headline", message.TypeName);
        Assert.Equal("mail_events/Work/Projects", (string?)message.Element.Element(Ev + "event")!.Element(Ev + "items")!.Attribute("node"));
        await Task.Delay(200); // the INBOX event must not arrive (outside the subtree)
        Assert.Equal(2, _sink.Notifications.Count);
    }

    [Fact]
    public async Task Malformed_and_refused_subscriptions_get_the_xep0060_errors()
    {
        AssertError(await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("node", "mail_events")))), "bad-request", "jid-required");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "tybalt@example.net")), "bad-request", "invalid-jid");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "not a jid@")), "bad-request", "invalid-jid");
        AssertError(await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("jid", "romeo@example.net")))), "bad-request", "nodeid-required");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/Nope", "romeo@example.net")), "item-not-found");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("other", "romeo@example.net")), "item-not-found");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net", ("pubsub#subscription_depth", ["2"]))), "bad-request", "invalid-options");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net", ("pna#event_types", ["MessageOld"]))), "bad-request", "invalid-options");
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "mallory@example.net"), Jid.Parse("mallory@example.net")), "forbidden");
        AssertError(await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "publish", new XAttribute("node", "mail_events")))), "feature-not-implemented", "unsupported");
        AssertError(await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", "jabber:iq:version"))), "service-unavailable");
        AssertError(await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "unsubscribe", new XAttribute("node", "mail_events"), new XAttribute("jid", "romeo@example.net")))), "unexpected-request", "not-subscribed");
        Assert.Equal(0, _host.Subscriptions.Count);
    }

    [Fact]
    public async Task Options_subscriptions_and_items_can_be_read_and_changed()
    {
        var reply = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net", ("pna#event_types", ["MessageNew"]), ("pna#heartbeat", ["60"])));
        Assert.Equal(IqType.Result, reply.Type);
        var options = await RequestAsync(IqType.Get, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "options", new XAttribute("node", "mail_events"), new XAttribute("jid", "romeo@example.net"))));
        Assert.True(PubsubSubscribeOptions.TryParse(options.Payload!.Element(Ps + "options")!.Element(X + "x")!, out var read, out var error), error);
        Assert.Equal(new PubsubSubscribeOptions(SubscriptionDepth.One, EventTypeSet.Of(MailEventType.MessageNew), TimeSpan.FromSeconds(60)), read);

        var change = await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "options", new XAttribute("node", "mail_events"), new XAttribute("jid", "romeo@example.net"),
            Form(("pubsub#subscription_depth", ["all"])))));
        Assert.Equal(IqType.Result, change.Type);
        var s = Assert.Single(_host.Subscriptions.Snapshot());
        Assert.Equal(SubscriptionDepth.Subtree, s.Filter.Depth);

        var list = await RequestAsync(IqType.Get, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "subscriptions")));
        var entry = Assert.Single(list.Payload!.Element(Ps + "subscriptions")!.Elements());
        Assert.Equal("mail_events", (string?)entry.Attribute("node"));

        var items = await RequestAsync(IqType.Get, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "items", new XAttribute("node", "mail_events/INBOX"))));
        var item = items.Payload!.Element(Ps + "items")!.Element(Ps + "item")!;
        Assert.True(XmppMailEventCodec.TryRead(item.Elements().Single(), out var current, out error), error);
        Assert.Equal(new MailboxTotals(3, 1, 4, 7), current.Totals);

        Assert.Equal(IqType.Result, (await RequestAsync(IqType.Set, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "unsubscribe", new XAttribute("node", "mail_events"), new XAttribute("jid", "romeo@example.net"))))).Type);
        Assert.Equal(0, _host.Subscriptions.Count);
    }

    [Fact]
    public async Task Subscribe_and_options_return_the_granted_heartbeat_not_the_requested_one()
    {
        // Pna:Heartbeats:Min is 10 s by default: a request for 5 s is clamped up (XEP-0060 §6.3.7 reply).
        var reply = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net", ("pna#heartbeat", ["5"])));
        Assert.Equal(IqType.Result, reply.Type);
        Assert.NotNull(reply.Payload!.Element(Ps + "subscription"));
        var granted = reply.Payload.Element(Ps + "options");
        Assert.NotNull(granted);
        Assert.Equal("romeo@example.net", (string?)granted.Attribute("jid"));
        Assert.True(PubsubSubscribeOptions.TryParse(granted.Element(X + "x")!, out var inReply, out var error), error);
        Assert.Equal(TimeSpan.FromSeconds(10), inReply.Heartbeat);

        var options = await RequestAsync(IqType.Get, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "options", new XAttribute("node", "mail_events"), new XAttribute("jid", "romeo@example.net"))));
        Assert.True(PubsubSubscribeOptions.TryParse(options.Payload!.Element(Ps + "options")!.Element(X + "x")!, out var read, out error), error);
        Assert.Equal(TimeSpan.FromSeconds(10), read.Heartbeat);

        // Already subscribed (§6.1.6): the same answer. Without a heartbeat: none granted.
        var again = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net", ("pna#heartbeat", ["5"])));
        Assert.True(PubsubSubscribeOptions.TryParse(again.Payload!.Element(Ps + "options")!.Element(X + "x")!, out var second, out error), error);
        Assert.Equal(TimeSpan.FromSeconds(10), second.Heartbeat);
        var none = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/INBOX", "romeo@example.net"));
        Assert.True(PubsubSubscribeOptions.TryParse(none.Payload!.Element(Ps + "options")!.Element(X + "x")!, out var noHeartbeat, out error), error);
        Assert.Null(noHeartbeat.Heartbeat);
    }

    [Theory]
    [InlineData("service-unavailable", "cancel", 0)]
    [InlineData("item-not-found", "cancel", 0)]
    [InlineData("recipient-unavailable", "wait", 1)]
    public async Task A_bounced_notification_removes_the_subscription_only_for_permanent_errors(string condition, string type, int left)
    {
        Assert.Equal(IqType.Result, (await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events", "romeo@example.net"))).Type);
        await WaitForPayloadsAsync(1);
        var sent = _sink.Notifications[0];
        var bounce = XElement.Parse($"<message xmlns='jabber:component:accept' type='error' from='romeo@example.net' to='juliet@events.example.com' id='{sent.Id}'>"
            + $"<error type='{type}'><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
        await Transport.HandleStanzaAsync(Stanza.FromElement(bounce), CancellationToken.None);
        Assert.Equal(left, _host.Subscriptions.Count);
    }

    [Fact]
    public async Task Subscriptions_survive_a_pna_restart()
    {
        Assert.Equal(IqType.Result, (await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/INBOX", "romeo@example.net"))).Type);
        await WaitForPayloadsAsync(1);
        await _host.DisposeAsync();
        _sink.Clear();
        _host = await StartHostAsync();
        await PostAsync(Events.MessageNew("juliet@example.com", "INBOX", 9, 9, 10));
        var payload = Assert.Single(await WaitForPayloadsAsync(1));
        Assert.Equal(new MailboxTotals(9, 9, 10, 7), payload.Totals);
        Assert.Equal("romeo@example.net", _sink.Notifications[0].To!.ToString());
        var list = await RequestAsync(IqType.Get, Juliet, new XElement(Ps + "pubsub", new XElement(Ps + "subscriptions")));
        Assert.Single(list.Payload!.Element(Ps + "subscriptions")!.Elements());
    }

    [Fact]
    public async Task Sequence_numbers_never_go_back_across_pna_restarts()
    {
        Assert.Equal(IqType.Result, (await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/INBOX", "romeo@example.net"))).Type);
        await PostAsync(Events.MessageNew("juliet@example.com", "INBOX", 4, 2, 5), Events.MessageNew("juliet@example.com", "INBOX", 5, 3, 6));
        var before = await WaitForPayloadsAsync(3); // initial, 2 events
        Assert.Equal([1L, 2L, 3L], before.Select(p => p.Sequence));
        var seen = before.Max(p => p.Sequence);
        for (var restart = 0; restart < 2; restart++)
        {
            await _host.DisposeAsync();
            _sink.Clear();
            _host = await StartHostAsync();
            await PostAsync(Events.MessageNew("juliet@example.com", "INBOX", 6, 4, 7), Events.MessageNew("juliet@example.com", "INBOX", 7, 5, 8));
            var after = await WaitForPayloadsAsync(2);
            Assert.True(after[0].Sequence > seen, $"seq {after[0].Sequence} after a restart is not above {seen}");
            Assert.Equal(after[0].Sequence + 1, after[1].Sequence);
            // The item id and message id carry the same number.
            Assert.EndsWith("-" + after[1].Sequence, _sink.Notifications[1].Id, StringComparison.Ordinal);
            seen = after[1].Sequence;
        }
    }

    [Fact]
    public void A_sequence_window_reserves_ahead_and_resumes_above_the_reservation()
    {
        // (SequenceWindowTests has the rest.) A fresh window stores a block before its first number...
        var stored = new List<long>();
        var fresh = SequenceWindow.Resume(0, r => { lock (stored) { stored.Add(r); } return true; });
        Assert.True(fresh.TryNext(1, out var wire));
        Assert.Equal((1L, SequenceWindow.DefaultBlock), (wire, fresh.Reserved));

        // ...and after a restart numbering resumes above whatever the last reservation allowed.
        var resumed = SequenceWindow.Resume(2 * SequenceWindow.DefaultBlock, _ => true);
        Assert.True(resumed.TryNext(1, out wire));
        Assert.Equal(2 * SequenceWindow.DefaultBlock + 1, wire);
        Assert.Equal(3 * SequenceWindow.DefaultBlock, resumed.Reserved);

        var target = new XmppSubscriptionTarget(Romeo, Juliet, "mail_events");
        Assert.Equal(0, XmppSubscriptionTarget.ReservedSequenceOf(target.ToState()));
        Assert.Equal(4242, XmppSubscriptionTarget.ReservedSequenceOf(target.ToState(4242)));
        Assert.True(XmppSubscriptionTarget.TryFromState(target.ToState(4242), out var back));
        Assert.Equal(target, back);
        Assert.Equal(0, XmppSubscriptionTarget.ReservedSequenceOf("{\"seq\":\"x\"}"));
        Assert.Equal(0, XmppSubscriptionTarget.ReservedSequenceOf("not json"));
    }

    [Fact]
    public async Task The_node_tree_follows_mailbox_create_rename_and_delete()
    {
        async Task<List<string>> TopNodes()
        {
            var reply = await RequestAsync(IqType.Get, Juliet, new XElement(XName.Get("query", XmppNamespaces.DiscoItems), new XAttribute("node", "mail_events")));
            return [.. reply.Payload!.Elements().Select(i => (string)i.Attribute("node")!)];
        }

        await PostAsync("{\"event\":\"MailboxCreate\",\"account\":\"juliet@example.com\",\"mailbox\":\"Archive\"}");
        await PnaTestHost.WaitUntil(() => _host.State.Get(AccountId.Parse("juliet@example.com"), MailboxPath.Parse("Archive")) is not null, "Archive");
        Assert.Equal<string>(["mail_events/Archive", "mail_events/INBOX", "mail_events/Work"], await TopNodes());

        await PostAsync("{\"event\":\"MailboxRename\",\"account\":\"juliet@example.com\",\"mailbox\":\"Old\",\"oldMailbox\":\"Archive\"}");
        await PnaTestHost.WaitUntil(() => _host.State.Get(AccountId.Parse("juliet@example.com"), MailboxPath.Parse("Old")) is not null, "Old");
        Assert.Equal<string>(["mail_events/INBOX", "mail_events/Old", "mail_events/Work"], await TopNodes());

        await PostAsync("{\"event\":\"MailboxDelete\",\"account\":\"juliet@example.com\",\"mailbox\":\"Old\"}");
        await PnaTestHost.WaitUntil(() => _host.State.Get(AccountId.Parse("juliet@example.com"), MailboxPath.Parse("Old")) is null, "Old deleted");
        Assert.Equal<string>(["mail_events/INBOX", "mail_events/Work"], await TopNodes());
        AssertError(await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/Old", "romeo@example.net")), "item-not-found");
    }

    [Fact]
    public async Task Heartbeats_carry_the_current_totals()
    {
        await _host.DisposeAsync();
        _host = await StartHostAsync(new Dictionary<string, string> { ["Pna:Heartbeats:Min"] = "00:00:01", ["Pna:Heartbeats:Tick"] = "00:00:00.100" });
        var reply = await RequestAsync(IqType.Set, Juliet, Subscribe("mail_events/INBOX", "romeo@example.net", ("pna#heartbeat", ["1"])));
        Assert.Equal(IqType.Result, reply.Type);
        var payloads = await WaitForPayloadsAsync(2);
        Assert.Equal(XmppPayloadKind.Initial, payloads[0].Kind);
        Assert.Equal(XmppPayloadKind.Heartbeat, payloads[1].Kind);
        Assert.Equal(new MailboxTotals(3, 1, 4, 7), payloads[1].Totals);
        Assert.Equal(2, payloads[1].Sequence);
    }

    private sealed class DenyMallory : IAuthorizationPolicy
    {
        public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
            ValueTask.FromResult(subscriber.Contains("mallory", StringComparison.Ordinal)
                ? AuthorizationDecision.Deny("test: mallory is not granted")
                : AuthorizationDecision.Allow("test"));
    }

    internal sealed class RecordingSink : IStanzaSink
    {
        private readonly List<Stanza> _all = [];

        public List<Iq> Replies { get { lock (_all) { return [.. _all.OfType<Iq>()]; } } }

        public List<Message> Notifications { get { lock (_all) { return [.. _all.OfType<Message>()]; } } }

        public int IndexOf(Stanza s) { lock (_all) { return _all.IndexOf(s); } }

        public void Clear() { lock (_all) { _all.Clear(); } }

        public bool TrySend(Stanza stanza)
        {
            lock (_all)
            {
                _all.Add(stanza);
            }
            return true;
        }

        public ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken)
        {
            TrySend(stanza);
            return ValueTask.CompletedTask;
        }

        /// <summary>Parses the bytes as the server would (in the component namespace): they must be one well-formed stanza.</summary>
        public bool TrySendSerialized(ReadOnlySpan<byte> utf8Stanza) => TrySend(ParseSerialized(utf8Stanza));

        public static Stanza ParseSerialized(ReadOnlySpan<byte> utf8Stanza)
        {
            var wrapped = XElement.Parse("<stream xmlns='jabber:component:accept'>" + System.Text.Encoding.UTF8.GetString(utf8Stanza) + "</stream>");
            var stanza = wrapped.Elements().Single();
            stanza.Remove();
            return Stanza.FromElement(stanza);
        }
    }
}
