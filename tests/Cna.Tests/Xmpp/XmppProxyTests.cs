using System.Xml.Linq;
using Aggregators.Cna.Xmpp;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using static Aggregators.Cna.Tests.Xmpp.ProxyHarness;

namespace Aggregators.Cna.Tests.Xmpp;

public sealed class XmppProxyTests
{
    private const string Inbox = "mail_events/INBOX";
    private static readonly MailboxTotals Five = new(5, 2, 6, 1);
    private static readonly MailboxTotals Six = new(6, 3, 7, 1);

    /// <summary>romeo subscribes first: one upstream subscribe (answered), the items read, romeo's result and last item.</summary>
    private static async Task<Iq> FirstSubscriberAsync(ProxyHarness h, string user = "romeo@example.net")
    {
        var id = await h.RequestAsync(user + "/phone", Account, "set", Subscribe(Inbox, user));
        var subscribe = await h.UpstreamRequestAsync("subscribe");
        Assert.Equal(ProxyHarness.Upstream, subscribe.To!.ToString());
        Assert.Equal("events.example.net", subscribe.From!.Domain);
        Assert.StartsWith("up-", subscribe.From.Resource, StringComparison.Ordinal);
        await h.AnswerSubscribeAsync(subscribe);
        await h.AnswerItemsAsync(await h.UpstreamRequestAsync("items"), Five);
        var reply = await h.ReplyAsync(id);
        Assert.Equal("result", reply.TypeName);
        var initial = PayloadOf(await h.SentAsync(s => IsNotificationTo(s, user)))!;
        Assert.Equal(XmppPayloadKind.Initial, initial.Kind);
        Assert.Equal(Five, initial.Totals);
        Assert.Equal(1, initial.Sequence);
        return subscribe;
    }

    [Fact]
    public async Task Many_local_subscribers_share_one_upstream_subscription_and_each_gets_every_notification()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);

        // Later subscribers are answered at once from the cache: no request goes upstream.
        for (var i = 0; i < 5; i++)
        {
            var user = $"u{i}@example.net";
            var id = await h.RequestAsync(user, Account, "set", Subscribe(Inbox, user));
            Assert.Equal("result", (await h.ReplyAsync(id)).TypeName);
            var initial = PayloadOf(await h.SentAsync(s => IsNotificationTo(s, user)))!;
            Assert.Equal((XmppPayloadKind.Initial, Five), (initial.Kind, initial.Totals));
        }
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));
        Assert.Equal(1, h.Proxy.Status.Upstreams);
        Assert.Equal(6, h.Proxy.Status.LocalSubscriptions);

        await h.UpstreamNotifyAsync(upstream.From!, XmppPayloadKind.Event, 2, Six);
        var fanned = h.Drain(s => s is Message && PayloadOf(s) is { Kind: XmppPayloadKind.Event });
        Assert.Equal(6, fanned.Count);
        Assert.All(fanned, m =>
        {
            Assert.Equal(Six, PayloadOf(m)!.Totals);
            Assert.Equal(2, PayloadOf(m)!.Sequence); // the local subscription's own sequence
            Assert.Equal(Account, m.From!.ToString());
            Assert.Equal(Inbox, (string?)m.Element.Element(Ev + "event")!.Element(Ev + "items")!.Attribute("node"));
        });
        Assert.Equal(6, fanned.Select(m => m.To).Distinct().Count());
    }

    [Fact]
    public async Task Different_options_make_a_second_upstream_subscription_under_another_resource()
    {
        await using var h = await StartAsync();
        var first = await FirstSubscriberAsync(h);
        var form = new PubsubSubscribeOptions(SubscriptionDepth.Subtree, EventTypeSet.All, null).ToSubmitForm();
        await h.RequestAsync("mercutio@example.net", Account, "set", Subscribe(Inbox, "mercutio@example.net", form));
        var second = await h.UpstreamRequestAsync("subscribe");
        Assert.NotEqual(first.From, second.From);
        Assert.Equal("all", second.Payload!.Descendants(XName.Get("value", "jabber:x:data"))
            .First(v => (string?)v.Parent!.Attribute("var") == "pubsub#subscription_depth").Value);
    }

    [Fact]
    public async Task The_last_local_subscriber_leaving_ends_the_upstream_subscription()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);
        var id = await h.RequestAsync("tybalt@example.net", Account, "set", Subscribe(Inbox, "tybalt@example.net"));
        await h.ReplyAsync(id);

        id = await h.RequestAsync("romeo@example.net", Account, "set", Unsubscribe(Inbox, "romeo@example.net"));
        Assert.Equal("result", (await h.ReplyAsync(id)).TypeName);
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));

        id = await h.RequestAsync("tybalt@example.net", Account, "set", Unsubscribe(Inbox, "tybalt@example.net"));
        Assert.Equal("result", (await h.ReplyAsync(id)).TypeName);
        var unsubscribe = await h.UpstreamRequestAsync("unsubscribe");
        Assert.Equal(upstream.From, unsubscribe.From);
        Assert.Equal(0, h.Proxy.Status.Upstreams);
        Assert.Empty(h.Store.LoadAll());
    }

    [Fact]
    public async Task Silence_for_two_heartbeats_marks_subscribers_stale_then_a_resubscribe_makes_them_fresh()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);

        h.Time.Advance(TimeSpan.FromSeconds(119));
        h.Proxy.CheckSilence();
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));

        h.Time.Advance(TimeSpan.FromSeconds(2));
        h.Proxy.CheckSilence();
        var stale = PayloadOf(await h.SentAsync(s => IsNotificationTo(s, "romeo@example.net")))!;
        Assert.True(stale.Stale);
        Assert.Equal(XmppPayloadKind.Heartbeat, stale.Kind);
        Assert.Equal(Five, stale.Totals); // the last known totals, flagged
        Assert.Equal(1, h.Proxy.Status.StaleUpstreams);

        var again = await h.UpstreamRequestAsync("subscribe");
        Assert.Equal(upstream.From, again.From); // same JID: the PNA finds its restored subscription
        await h.AnswerSubscribeAsync(again);
        await h.AnswerItemsAsync(await h.UpstreamRequestAsync("items"), Six);
        var fresh = PayloadOf(await h.SentAsync(s => IsNotificationTo(s, "romeo@example.net")))!;
        Assert.False(fresh.Stale);
        Assert.Equal(Six, fresh.Totals);
        Assert.Equal(0, h.Proxy.Status.StaleUpstreams);
    }

    [Fact]
    public async Task While_the_pna_is_unreachable_the_resubscribe_is_retried_and_a_heartbeat_ends_the_stale_period()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);
        h.Time.Advance(TimeSpan.FromSeconds(121));
        h.Proxy.CheckSilence();
        Assert.True(PayloadOf(await h.SentAsync(s => IsNotificationTo(s, "romeo@example.net")))!.Stale);

        // The server answers for the absent component (Prosody: service-unavailable).
        var attempt = await h.UpstreamRequestAsync("subscribe");
        await h.FromServerAsync(attempt.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)).Element);
        var retry = (Iq)await h.AdvanceUntilSentAsync(s => s is Iq { IsRequest: true } iq && iq.Payload?.Element(Ps + "subscribe") is not null);
        Assert.Equal(upstream.From, retry.From);

        // The restarted PNA restored our subscription: its heartbeat arrives first.
        await h.UpstreamNotifyAsync(upstream.From!, XmppPayloadKind.Heartbeat, 1, Six);
        var fresh = PayloadOf(await h.SentAsync(s => IsNotificationTo(s, "romeo@example.net")))!;
        Assert.False(fresh.Stale);
        Assert.Equal(Six, fresh.Totals);
        Assert.Equal(0, h.Proxy.Status.StaleUpstreams);
    }

    [Fact]
    public async Task Access_revoked_upstream_ends_every_local_subscription_with_a_subscription_state_notification()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);
        await h.FromServerAsync(new XElement(Cc + "message", new XAttribute("from", ProxyHarness.Upstream), new XAttribute("to", upstream.From!.ToString()),
            new XElement(Ev + "event", new XElement(Ev + "subscription", new XAttribute("node", Inbox),
                new XAttribute("jid", upstream.From.ToString()), new XAttribute("subscription", "none")))));
        var ended = await h.SentAsync(s => s is Message && s.To?.ToString() == "romeo@example.net");
        var state = ended.Element.Element(Ev + "event")!.Element(Ev + "subscription")!;
        Assert.Equal(("none", Inbox, Account), ((string?)state.Attribute("subscription"), (string?)state.Attribute("node"), ended.From!.ToString()));
        Assert.Equal(0, h.Proxy.Status.LocalSubscriptions);
        Assert.Empty(h.Store.LoadAll());
    }

    [Fact]
    public async Task A_resubscribe_refused_with_forbidden_ends_the_local_subscriptions()
    {
        await using var h = await StartAsync();
        await FirstSubscriberAsync(h);
        h.Time.Advance(TimeSpan.FromSeconds(121));
        h.Proxy.CheckSilence();
        var again = await h.UpstreamRequestAsync("subscribe");
        await h.FromServerAsync(again.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden)).Element);
        var ended = await h.SentAsync(s => s is Message && s.Element.Element(Ev + "event")?.Element(Ev + "subscription") is not null);
        Assert.Equal("romeo@example.net", ended.To!.ToString());
        Assert.Equal(0, h.Proxy.Status.Upstreams);
    }

    [Fact]
    public async Task A_periodic_refresh_resubscribes_without_staleness_and_a_revoked_grant_ends_the_local_subscriptions()
    {
        await using var h = await StartAsync(configure: o => o.RefreshInterval = TimeSpan.FromSeconds(30));
        var upstream = await FirstSubscriberAsync(h);
        h.Time.Advance(TimeSpan.FromSeconds(20));
        await h.UpstreamNotifyAsync(upstream.From!, XmppPayloadKind.Heartbeat, 2, Five); // keeps it fresh
        h.Time.Advance(TimeSpan.FromSeconds(11));
        h.Proxy.CheckSilence();
        var refresh = await h.UpstreamRequestAsync("subscribe");
        Assert.Equal(upstream.From, refresh.From);
        Assert.Equal(0, h.Proxy.Status.StaleUpstreams);
        Assert.Empty(h.Drain(s => IsNotificationTo(s, "romeo@example.net") && PayloadOf(s)!.Stale));

        await h.FromServerAsync(refresh.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden, "no grant")).Element);
        var ended = await h.SentAsync(s => s is Message && s.Element.Element(Ev + "event")?.Element(Ev + "subscription") is not null);
        Assert.Equal("romeo@example.net", ended.To!.ToString());
        Assert.Equal(0, h.Proxy.Status.LocalSubscriptions);
    }

    [Fact]
    public async Task A_first_subscribe_the_pna_refuses_is_answered_with_the_pna_error()
    {
        await using var h = await StartAsync();
        var id = await h.RequestAsync("romeo@example.net", Account, "set", Subscribe(Inbox, "romeo@example.net"));
        var subscribe = await h.UpstreamRequestAsync("subscribe");
        await h.FromServerAsync(subscribe.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden, "no grant")).Element);
        var reply = await h.ReplyAsync(id);
        Assert.Equal(StanzaErrorCondition.Forbidden, reply.Error!.Condition);
        Assert.Equal(0, h.Proxy.Status.LocalSubscriptions);
        Assert.Equal(0, h.Proxy.Status.Upstreams);
    }

    [Fact]
    public async Task A_first_subscribe_the_pna_never_answers_gets_remote_server_timeout()
    {
        await using var h = await StartAsync();
        var id = await h.RequestAsync("romeo@example.net", Account, "set", Subscribe(Inbox, "romeo@example.net"));
        await h.UpstreamRequestAsync("subscribe");
        var reply = await h.AdvanceUntilSentAsync(s => s is Iq { IsRequest: false } && s.Id == id);
        Assert.Equal(StanzaErrorCondition.RemoteServerTimeout, reply.Error!.Condition);
        Assert.Equal(0, h.Proxy.Status.LocalSubscriptions);
    }

    [Fact]
    public async Task A_user_cannot_hold_more_subscriptions_than_allowed()
    {
        await using var h = await StartAsync(configure: o => o.MaxSubscriptionsPerUser = 1);
        await FirstSubscriberAsync(h);
        var id = await h.RequestAsync("romeo@example.net/phone", Account, "set", Subscribe("mail_events", "romeo@example.net/phone"));
        var reply = await h.ReplyAsync(id);
        Assert.Equal(StanzaErrorCondition.PolicyViolation, reply.Error!.Condition);
        Assert.Equal("too-many-subscriptions", reply.Error.ApplicationCondition!.Name.LocalName);
        id = await h.RequestAsync("romeo@example.net", Account, "set", Unsubscribe(Inbox, "romeo@example.net"));
        await h.ReplyAsync(id);
        id = await h.RequestAsync("romeo@example.net/phone", Account, "set", Subscribe(Inbox, "romeo@example.net/phone"));
        await h.UpstreamRequestAsync("subscribe"); // allowed again (and a new upstream: the last one left)
    }

    [Theory]
    [InlineData("tybalt@example.org", StanzaErrorCondition.Forbidden)]            // not a local user
    [InlineData("mercutio@example.net", StanzaErrorCondition.Forbidden)]          // no allow rule
    public async Task Requests_of_users_the_cna_does_not_serve_are_forbidden(string from, StanzaErrorCondition condition)
    {
        await using var h = await StartAsync(configure: o => o.Allow.Add(new CnaXmppAllowRule { User = "romeo@example.net", Account = "*@example.com" }));
        var id = await h.RequestAsync(from, Account, "set", Subscribe(Inbox, from));
        Assert.Equal(condition, (await h.ReplyAsync(id)).Error!.Condition);
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));
    }

    [Theory]
    [InlineData(@"juliet@events.example.net", "mail_events/INBOX", "romeo@example.net", StanzaErrorCondition.ItemNotFound)]
    [InlineData(Account, "", "romeo@example.net", StanzaErrorCondition.BadRequest)]
    [InlineData(Account, "mail_events/INBOX", "", StanzaErrorCondition.BadRequest)]
    [InlineData(Account, "mail_events/INBOX", "tybalt@example.net", StanzaErrorCondition.BadRequest)]
    [InlineData(Account, "other", "romeo@example.net", StanzaErrorCondition.ItemNotFound)]
    public async Task Bad_subscribe_requests_are_refused_as_xep_0060_says_without_asking_the_pna(string to, string node, string jid, StanzaErrorCondition condition)
    {
        await using var h = await StartAsync();
        var id = await h.RequestAsync("romeo@example.net/phone", to, "set", Subscribe(node, jid));
        Assert.Equal(condition, (await h.ReplyAsync(id)).Error!.Condition);
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));
    }

    [Fact]
    public async Task Items_are_answered_from_the_cache_and_disco_is_proxied_with_cna_addresses()
    {
        await using var h = await StartAsync();
        await FirstSubscriberAsync(h);
        var id = await h.RequestAsync("romeo@example.net", Account, "get", new XElement(Ps + "pubsub", new XElement(Ps + "items", new XAttribute("node", Inbox))));
        var items = await h.ReplyAsync(id);
        Assert.True(XmppMailEventCodec.TryRead(items.Element.Descendants(Ps + "item").Single().Elements().Single(), out var current, out _));
        Assert.Equal(Five, current.Totals);

        XNamespace di = "http://jabber.org/protocol/disco#items";
        id = await h.RequestAsync("romeo@example.net", "events.example.net", "get", new XElement(di + "query"));
        var ask = await h.SentAsync(s => s is Iq { IsRequest: true } && s.To?.ToString() == "events.example.com");
        await h.FromServerAsync(((Iq)ask).CreateResult(new XElement(di + "query",
            new XElement(di + "item", new XAttribute("jid", "juliet@events.example.com")),
            new XElement(di + "item", new XAttribute("jid", "elsewhere@other.example")))).Element);
        var list = await h.ReplyAsync(id);
        Assert.Equal([Account], list.Element.Descendants(di + "item").Select(i => (string?)i.Attribute("jid")));

        // A second browse within Cna:Xmpp:DiscoCacheTime is answered without asking again.
        id = await h.RequestAsync("romeo@example.net", "events.example.net", "get", new XElement(di + "query"));
        Assert.Single((await h.ReplyAsync(id)).Element.Descendants(di + "item"));
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));
    }

    [Fact]
    public async Task Local_subscriptions_survive_a_restart_and_are_resubscribed_with_the_same_upstream_jid()
    {
        var time = new ManualTimeProvider();
        string data;
        Jid upstreamJid;
        await using (var h = await StartAsync(time: time))
        {
            data = h.DataDirectory;
            upstreamJid = (await FirstSubscriberAsync(h)).From!;
        }
        await using var again = await StartAsync(data, time);
        Assert.Equal(1, again.Proxy.Status.LocalSubscriptions);
        var subscribe = await again.UpstreamRequestAsync("subscribe");
        Assert.Equal(upstreamJid, subscribe.From);
        await again.AnswerSubscribeAsync(subscribe);
        await again.AnswerItemsAsync(await again.UpstreamRequestAsync("items"), Six);
        // The totals changed while the CNA was away: romeo hears it without asking.
        var update = PayloadOf(await again.SentAsync(s => IsNotificationTo(s, "romeo@example.net")))!;
        Assert.Equal(Six, update.Totals);
        Assert.Equal(XmppPayloadKind.Heartbeat, update.Kind);
    }

    [Fact]
    public async Task A_notification_bounced_by_a_local_subscriber_ends_its_subscription()
    {
        await using var h = await StartAsync();
        var upstream = await FirstSubscriberAsync(h);
        var id = await h.RequestAsync("tybalt@example.net", Account, "set", Subscribe(Inbox, "tybalt@example.net"));
        await h.ReplyAsync(id);
        var initial = await h.SentAsync(s => IsNotificationTo(s, "tybalt@example.net"));
        await h.FromServerAsync(new XElement(Cc + "message", new XAttribute("type", "error"), new XAttribute("id", initial.Id!),
            new XAttribute("from", "tybalt@example.net"), new XAttribute("to", Account),
            new XElement(Cc + "error", new XAttribute("type", "cancel"), new XElement(XName.Get("service-unavailable", "urn:ietf:params:xml:ns:xmpp-stanzas")))));
        Assert.Equal(1, h.Proxy.Status.LocalSubscriptions);
        await h.UpstreamNotifyAsync(upstream.From!, XmppPayloadKind.Event, 2, Six);
        Assert.Empty(h.Drain(s => IsNotificationTo(s, "tybalt@example.net")));
    }
}
