using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests.Bodies;

/// <summary>The subscribe-options form shared by the PNA, the CNA and MailWatch (XEP-0060 §6.3).</summary>
public sealed class PubsubSubscribeOptionsTests
{
    private static readonly XNamespace X = XmppPubsubNamespaces.DataForms;

    private static Gen<PubsubSubscribeOptions> Options =>
        from depth in Gen.Elements(SubscriptionDepth.One, SubscriptionDepth.Subtree)
        from bits in Gen.Choose(0, int.MaxValue)
        from heartbeat in Gen.Elements<TimeSpan?>(null, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(86_400))
        select new PubsubSubscribeOptions(depth, new EventTypeSet((uint)bits & EventTypeSet.All.Bits) is { IsEmpty: false } s ? s : EventTypeSet.All, heartbeat);

    private static XElement Form(string field, params string[] values) =>
        new(X + "x", new XAttribute("type", "submit"),
            new XElement(X + "field", new XAttribute("var", field), values.Select(v => new XElement(X + "value", v))));

    [Fact]
    public void A_submitted_form_reads_back_the_options_it_was_written_from()
    {
        Prop.ForAll(Arb.From(Options), o =>
        {
            Assert.True(PubsubSubscribeOptions.TryParse(XElement.Parse(o.ToSubmitForm().ToString()), out var back, out var error), error);
            Assert.Equal(o, back);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void The_retrieval_form_reads_back_the_options_it_was_written_from()
    {
        Prop.ForAll(Arb.From(Options), o =>
        {
            var form = XElement.Parse(o.ToForm().ToString());
            Assert.Equal("form", (string?)form.Attribute("type"));
            Assert.True(PubsubSubscribeOptions.TryParse(form, out var back, out var error), error);
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
    public void Values_the_pna_would_refuse_are_refused_with_the_field_named(string field, string value)
    {
        Assert.False(PubsubSubscribeOptions.TryParse(Form(field, value), out var options, out var error));
        Assert.Contains(field, error, StringComparison.Ordinal);
        Assert.Equal(PubsubSubscribeOptions.Default, options);
    }

    [Theory]
    [InlineData("pubsub#subscription_depth", "2", "pubsub#subscription_depth must be 1 or all (was '2')")]
    [InlineData("pubsub#subscription_type", "nodes", "pubsub#subscription_type must be items (was 'nodes'); node notifications are not offered")]
    [InlineData("pubsub#deliver", "false", "pubsub#deliver must be true; unsubscribe instead of pausing delivery")]
    [InlineData("pna#event_types", "MessageOld", "pna#event_types: 'MessageOld' is not an RFC 5423 event type")]
    [InlineData("pna#heartbeat", "86401", "pna#heartbeat must be a number of seconds from 0 to 86400 (was '86401')")]
    [InlineData("FORM_TYPE", "urn:other", "FORM_TYPE must be http://jabber.org/protocol/pubsub#subscribe_options")]
    public void Refusals_say_why_in_the_words_of_the_pna(string field, string value, string expected)
    {
        Assert.False(PubsubSubscribeOptions.TryParse(Form(field, value), out _, out var error));
        Assert.Equal(expected, error);
    }

    [Fact]
    public void Only_a_data_form_of_type_submit_or_form_is_read()
    {
        var result = new XElement(X + "x", new XAttribute("type", "result"));
        Assert.False(PubsubSubscribeOptions.TryParse(result, out _, out var error));
        Assert.Equal("the options must be a data form (jabber:x:data) of type submit", error);
        Assert.False(PubsubSubscribeOptions.TryParse(new XElement("x", new XAttribute("type", "submit")), out _, out _));
    }

    [Fact]
    public void An_empty_form_and_unknown_fields_give_the_defaults()
    {
        Assert.True(PubsubSubscribeOptions.TryParse(Form("pubsub#expire", "2027-01-01T00:00:00Z"), out var options, out var error), error);
        Assert.Equal(PubsubSubscribeOptions.Default, options);
        Assert.Equal(new PubsubSubscribeOptions(SubscriptionDepth.One, EventTypeSet.All, null), options);
    }

    [Fact]
    public void No_event_types_means_all_and_a_zero_heartbeat_none()
    {
        Assert.True(PubsubSubscribeOptions.TryParse(Form("pna#event_types"), out var events, out _));
        Assert.Equal(EventTypeSet.All, events.Events);
        Assert.True(PubsubSubscribeOptions.TryParse(Form("pna#heartbeat", "0"), out var heartbeat, out _));
        Assert.Null(heartbeat.Heartbeat);
        Assert.True(PubsubSubscribeOptions.TryParse(Form("pubsub#deliver", "true"), out _, out _));
        Assert.True(PubsubSubscribeOptions.TryParse(Form("pubsub#subscription_depth", "all"), out var all, out _));
        Assert.Equal(SubscriptionDepth.Subtree, all.Depth);
    }

    [Fact]
    public void The_submit_form_carries_form_type_depth_and_heartbeat_and_event_types_only_when_not_all()
    {
        var fields = new PubsubSubscribeOptions(SubscriptionDepth.Subtree, EventTypeSet.All, TimeSpan.FromSeconds(30)).ToSubmitForm()
            .Elements(X + "field").ToDictionary(f => (string)f.Attribute("var")!, f => f.Element(X + "value")!.Value);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["FORM_TYPE"] = XmppPubsubNamespaces.SubscribeOptions,
                ["pubsub#subscription_depth"] = "all",
                ["pna#heartbeat"] = "30",
            },
            fields);
        var some = new PubsubSubscribeOptions(SubscriptionDepth.One, EventTypeSet.Of(MailEventType.MessageNew), null).ToSubmitForm();
        Assert.Equal(["MessageNew"], some.Elements(X + "field").Single(f => (string?)f.Attribute("var") == "pna#event_types").Elements(X + "value").Select(v => v.Value));
    }

    [Fact]
    public void The_retrieval_form_offers_every_event_type_and_both_depths()
    {
        var form = PubsubSubscribeOptions.Default.ToForm();
        var events = form.Elements(X + "field").Single(f => (string?)f.Attribute("var") == "pna#event_types");
        Assert.Equal(MailEventTypes.All.Select(t => t.ToRfcName()), events.Elements(X + "option").Select(o => o.Element(X + "value")!.Value));
        Assert.Empty(events.Elements(X + "value"));
        var depth = form.Elements(X + "field").Single(f => (string?)f.Attribute("var") == "pubsub#subscription_depth");
        Assert.Equal(["1", "all"], depth.Elements(X + "option").Select(o => o.Element(X + "value")!.Value));
        Assert.Equal("1", depth.Element(X + "value")!.Value);
        Assert.Equal("0", form.Elements(X + "field").Single(f => (string?)f.Attribute("var") == "pna#heartbeat").Element(X + "value")!.Value);
    }
}
