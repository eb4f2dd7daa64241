using System.Xml.Linq;
using Aggregators.EventModel.Bodies;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Sources;

namespace Aggregators.MailWatch.Tests;

/// <summary>The heartbeat the notifier granted decides when MailWatch calls the counts STALE.</summary>
public sealed class GrantedHeartbeatTests
{
    private static readonly XNamespace Ps = PubsubProtocol.Pubsub;
    private static readonly XNamespace X = XmppPubsubNamespaces.DataForms;

    private static XElement Reply(params XElement[] fields) =>
        new(Ps + "pubsub",
            new XElement(Ps + "subscription", new XAttribute("node", "mail_events/INBOX"), new XAttribute("jid", "romeo@example.net/mw"),
                new XAttribute("subid", "4"), new XAttribute("subscription", "subscribed")),
            new XElement(Ps + "options", new XAttribute("node", "mail_events/INBOX"), new XAttribute("jid", "romeo@example.net/mw"),
                new XElement(X + "x", new XAttribute("type", "form"),
                    new XElement(X + "field", new XAttribute("var", "FORM_TYPE"), new XAttribute("type", "hidden"),
                        new XElement(X + "value", XmppPubsubNamespaces.SubscribeOptions)),
                    fields)));

    private static XElement Field(string var, params string[] values) =>
        new(X + "field", new XAttribute("var", var), values.Select(v => new XElement(X + "value", v)));

    [Fact]
    public void The_subscribe_reply_options_give_the_granted_heartbeat()
    {
        Assert.Equal(TimeSpan.FromSeconds(10), GrantedHeartbeat.FromSubscribeReply(Reply(Field("pubsub#subscription_depth", "1"), Field("pna#heartbeat", "10"))));
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("ten")]
    [InlineData("86401")]
    [InlineData("10|20")]
    public void No_usable_heartbeat_field_means_not_said(string values)
    {
        Assert.Null(GrantedHeartbeat.FromSubscribeReply(Reply(Field("pna#heartbeat", values.Split('|', StringSplitOptions.RemoveEmptyEntries)))));
    }

    [Fact]
    public void A_reply_without_options_or_with_another_form_says_nothing()
    {
        Assert.Null(GrantedHeartbeat.FromSubscribeReply(null));
        Assert.Null(GrantedHeartbeat.FromSubscribeReply(new XElement(Ps + "pubsub", new XElement(Ps + "subscription", new XAttribute("node", "mail_events/INBOX")))));
        var other = Reply(Field("pna#heartbeat", "10"));
        other.Descendants(X + "value").First().Value = "urn:example:other";
        Assert.Null(GrantedHeartbeat.FromSubscribeReply(other));
    }

    [Fact]
    public void Staleness_is_judged_by_the_granted_interval()
    {
        // --heartbeat 5 against a PNA whose minimum is 10 s: heartbeats come every 10 s.
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(5), time);
        Assert.True(state.Grant(TimeSpan.FromSeconds(10)));
        Assert.Equal(TimeSpan.FromSeconds(5), state.Requested);
        Assert.Equal(TimeSpan.FromSeconds(10), state.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(10), state.Snapshot().Heartbeat);
        for (var i = 0; i < 5; i++)
        {
            state.Apply(new MailboxUpdate("INBOX", 1, 1, 2, 7, UpdateKind.Heartbeat));
            time.Advance(TimeSpan.FromSeconds(10));
            Assert.False(state.Evaluate());
            Assert.Equal(WatchStatus.Live, state.Status);
        }
        time.Advance(TimeSpan.FromSeconds(10));
        Assert.True(state.Evaluate());
        Assert.Contains("20 s", state.Snapshot().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void With_several_subscriptions_the_longest_grant_counts()
    {
        var state = new WatchState(TimeSpan.FromSeconds(60), new ManualTimeProvider());
        Assert.False(state.Grant(TimeSpan.FromSeconds(60)));
        Assert.True(state.Grant(TimeSpan.FromSeconds(120)));
        Assert.False(state.Grant(TimeSpan.FromSeconds(90)));
        Assert.Equal(TimeSpan.FromSeconds(120), state.Heartbeat);
        Assert.False(state.Grant(TimeSpan.Zero));
    }
}
