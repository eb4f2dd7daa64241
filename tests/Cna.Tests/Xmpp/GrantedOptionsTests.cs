using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp.Stanzas;
using static Aggregators.Cna.Tests.Xmpp.ProxyHarness;

namespace Aggregators.Cna.Tests.Xmpp;

/// <summary>
/// The options the CNA grants its local subscribers (docs/cna-xmpp.md §4): <c>pna#heartbeat</c> is
/// the interval at which the CNA really sends heartbeats, told beside the subscription in the
/// subscribe reply (XEP-0060 §6.3.7), on a repeated subscribe (§6.1.6) and in options retrieval
/// (§6.3.2), in the PNA's format.
/// </summary>
public sealed class GrantedOptionsTests
{
    private const string Inbox = "mail_events/INBOX";
    private static readonly XNamespace X = "jabber:x:data";
    private static readonly MailboxTotals Five = new(5, 2, 6, 1);

    private static XElement Asking(int? seconds) =>
        new PubsubSubscribeOptions(SubscriptionDepth.One, EventTypeSet.All, seconds is { } s ? TimeSpan.FromSeconds(s) : null).ToSubmitForm();

    /// <summary>pna#heartbeat of the options beside the subscription in a reply's pubsub (-1 when there are none).</summary>
    private static int HeartbeatIn(Stanza reply)
    {
        var form = reply.Element.Descendants(Ps + "options").SingleOrDefault()?.Element(X + "x");
        if (form is null)
        {
            return -1;
        }
        Assert.True(PubsubSubscribeOptions.TryParse(form, out var granted, out var error), error);
        Assert.Equal("form", (string?)form.Attribute("type"));
        return (int)(granted.Heartbeat?.TotalSeconds ?? 0);
    }

    private static XElement OptionsGet(string jid) =>
        new(Ps + "pubsub", new XElement(Ps + "options", new XAttribute("node", Inbox), new XAttribute("jid", jid)));

    [Fact]
    public async Task A_local_subscriber_is_told_the_heartbeat_the_cna_sends_it_not_the_one_it_asked()
    {
        // The CNA's watchdog heartbeat is 60 s; the PNA clamps to at least 10 s.
        await using var h = await StartAsync();

        // romeo asks 5 s: the CNA asks the PNA for 5 s, the PNA grants 10 s, and every upstream
        // heartbeat is passed on to romeo: 10 s.
        var id = await h.RequestAsync("romeo@example.net/phone", Account, "set", Subscribe(Inbox, "romeo@example.net", Asking(5)));
        var upstream = await h.UpstreamRequestAsync("subscribe");
        Assert.Contains(upstream.Payload!.Descendants(X + "field"), f => (string?)f.Attribute("var") == "pna#heartbeat" && f.Value == "5");
        await h.AnswerSubscribeAsync(upstream, grantedHeartbeat: TimeSpan.FromSeconds(10));
        await h.AnswerItemsAsync(await h.UpstreamRequestAsync("items"), Five);
        var reply = await h.ReplyAsync(id);
        Assert.Equal("result", reply.TypeName);
        Assert.Equal("subscribed", (string?)reply.Element.Descendants(Ps + "subscription").Single().Attribute("subscription"));
        Assert.Equal(10, HeartbeatIn(reply));
        var options = reply.Element.Descendants(Ps + "options").Single();
        Assert.Equal((Inbox, "romeo@example.net"), ((string?)options.Attribute("node"), (string?)options.Attribute("jid")));

        // The same in options retrieval and on a repeated subscribe.
        id = await h.RequestAsync("romeo@example.net/phone", Account, "get", OptionsGet("romeo@example.net"));
        Assert.Equal(10, HeartbeatIn(await h.ReplyAsync(id)));
        id = await h.RequestAsync("romeo@example.net/phone", Account, "set", Subscribe(Inbox, "romeo@example.net", Asking(5)));
        Assert.Equal(10, HeartbeatIn(await h.ReplyAsync(id)));

        // tybalt asks for no heartbeats: the CNA asks its own 60 s upstream (its watchdog), but passes
        // none on to him: 0. This PNA does not say what it granted.
        id = await h.RequestAsync("tybalt@example.net", Account, "set", Subscribe(Inbox, "tybalt@example.net"));
        var second = await h.UpstreamRequestAsync("subscribe");
        Assert.Contains(second.Payload!.Descendants(X + "field"), f => (string?)f.Attribute("var") == "pna#heartbeat" && f.Value == "60");
        await h.AnswerSubscribeAsync(second, subId: "18");
        await h.AnswerItemsAsync(await h.UpstreamRequestAsync("items"), Five);
        Assert.Equal(0, HeartbeatIn(await h.ReplyAsync(id)));

        // mercutio asks 300 s: he shares tybalt's upstream subscription and gets its every heartbeat: 60 s.
        id = await h.RequestAsync("mercutio@example.net", Account, "set", Subscribe(Inbox, "mercutio@example.net", Asking(300)));
        Assert.Equal(60, HeartbeatIn(await h.ReplyAsync(id)));
        Assert.Equal(2, h.Proxy.Status.Upstreams);
    }

    [Fact]
    public async Task The_watchdog_allows_two_intervals_of_the_granted_heartbeat()
    {
        await using var h = await StartAsync();
        await h.RequestAsync("romeo@example.net", Account, "set", Subscribe(Inbox, "romeo@example.net", Asking(5)));
        var upstream = await h.UpstreamRequestAsync("subscribe");
        await h.AnswerSubscribeAsync(upstream, grantedHeartbeat: TimeSpan.FromSeconds(10));
        await h.AnswerItemsAsync(await h.UpstreamRequestAsync("items"), Five);
        await h.SentAsync(s => IsNotificationTo(s, "romeo@example.net"));

        // Asked 5 s, granted 10 s: 19 s of silence is no reason to re-subscribe; 21 s is.
        h.Time.Advance(TimeSpan.FromSeconds(19));
        h.Proxy.CheckSilence();
        Assert.Empty(h.Drain(s => s is Iq { IsRequest: true }));
        Assert.Equal(0, h.Proxy.Status.StaleUpstreams);
        h.Time.Advance(TimeSpan.FromSeconds(2));
        h.Proxy.CheckSilence();
        Assert.Equal(upstream.From, (await h.UpstreamRequestAsync("subscribe")).From);
        Assert.Equal(1, h.Proxy.Status.StaleUpstreams);
    }
}
