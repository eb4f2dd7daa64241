using System.Xml.Linq;
using Aggregators.Cna.Xmpp;
using Aggregators.EventModel;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Cna.Tests.Xmpp;

public sealed class OptionsFormTests
{
    [Fact]
    public void A_submitted_form_reads_back_the_options_it_was_written_from()
    {
        var gen =
            from depth in Gen.Elements(SubscriptionDepth.One, SubscriptionDepth.Subtree)
            from bits in Gen.Choose(0, int.MaxValue)
            from heartbeat in Gen.Elements<TimeSpan?>(null, TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(86_400))
            select new SubscribeOptionsForm(depth, new EventTypeSet((uint)bits & EventTypeSet.All.Bits) is { IsEmpty: false } s ? s : EventTypeSet.All, heartbeat);
        Prop.ForAll(Arb.From(gen), o =>
        {
            Assert.True(SubscribeOptionsForm.TryParse(XElement.Parse(o.ToSubmitForm().ToString()), out var back, out var error), error);
            Assert.Equal(o, back);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Theory]
    [InlineData("pubsub#subscription_depth", "2")]
    [InlineData("pubsub#subscription_type", "nodes")]
    [InlineData("pubsub#deliver", "false")]
    [InlineData("pna#event_types", "MessageOld")]
    [InlineData("pna#heartbeat", "-1")]
    [InlineData("pna#heartbeat", "86401")]
    [InlineData("FORM_TYPE", "urn:other")]
    public void Values_the_pna_would_refuse_are_refused_here_with_the_field_named(string field, string value)
    {
        var form = new XElement(XName.Get("x", "jabber:x:data"), new XAttribute("type", "submit"),
            new XElement(XName.Get("field", "jabber:x:data"), new XAttribute("var", field), new XElement(XName.Get("value", "jabber:x:data"), value)));
        Assert.False(SubscribeOptionsForm.TryParse(form, out _, out var error));
        Assert.Contains(field == "FORM_TYPE" ? "FORM_TYPE" : field, error, StringComparison.Ordinal);
    }

    [Fact]
    public void The_upstream_key_asks_the_watchdog_heartbeat_unless_the_subscriber_wants_a_shorter_one()
    {
        var juliet = AccountId.Parse("juliet@example.com");
        var watchdog = TimeSpan.FromSeconds(60);
        var none = UpstreamKey.For(juliet, "mail_events/INBOX", SubscribeOptionsForm.Default, watchdog);
        var longer = UpstreamKey.For(juliet, "mail_events/INBOX", SubscribeOptionsForm.Default with { Heartbeat = TimeSpan.FromSeconds(300) }, watchdog);
        var shorter = UpstreamKey.For(juliet, "mail_events/INBOX", SubscribeOptionsForm.Default with { Heartbeat = TimeSpan.FromSeconds(20) }, watchdog);
        Assert.Equal(none, longer);
        Assert.Equal(watchdog, none.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(20), shorter.Heartbeat);
        Assert.NotEqual(none.Resource, shorter.Resource);
        Assert.Equal(none.Resource, longer.Resource);
        Assert.StartsWith("up-", none.Resource, StringComparison.Ordinal);
        var subtree = UpstreamKey.For(juliet, "mail_events/INBOX", SubscribeOptionsForm.Default with { Depth = SubscriptionDepth.Subtree }, watchdog);
        Assert.NotEqual(none.Resource, subtree.Resource);
    }
}
