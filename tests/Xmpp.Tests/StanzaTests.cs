using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Tests;

public class StanzaTests
{
    private static readonly XNamespace Accept = XmppNamespaces.ComponentAccept;
    private static readonly XNamespace PubsubErrors = "http://jabber.org/protocol/pubsub#errors";

    [Fact]
    public void An_iq_request_is_answered_with_swapped_addressing_and_the_same_id()
    {
        var request = (Iq)Stanza.FromElement(XElement.Parse(
            "<iq xmlns='jabber:component:accept' type='get' id='info1' from='romeo@example.net/orchard' to='events.example.com'>" +
            "<query xmlns='http://jabber.org/protocol/disco#info'/></iq>"));
        Assert.True(request.IsRequest);
        Assert.Equal("query", request.Payload!.Name.LocalName);

        var result = request.CreateResult(new XElement(XName.Get("query", XmppNamespaces.DiscoInfo)));
        Assert.Equal(IqType.Result, result.Type);
        Assert.Equal("info1", result.Id);
        Assert.Equal(Jid.Parse("romeo@example.net/orchard"), result.To);
        Assert.Equal(Jid.Parse("events.example.com"), result.From);
        Assert.Equal(
            "<iq to='romeo@example.net/orchard' from='events.example.com' id='info1' type='result'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
            StanzaSerializer.ToXml(result.Element, XmppNamespaces.ComponentAccept));
    }

    [Fact]
    public void An_error_reply_carries_type_condition_text_and_the_pubsub_application_condition()
    {
        // XEP-0060 §6.1.3.x: <feature-not-implemented/> + <unsupported feature='subscribe'/>.
        var request = (Iq)Stanza.FromElement(XElement.Parse(
            "<iq xmlns='jabber:component:accept' type='set' id='sub1' from='juliet@example.com/balcony' to='events.example.com'>" +
            "<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='mail_events' jid='juliet@example.com'/></pubsub></iq>"));
        var app = new XElement(PubsubErrors + "unsupported", new XAttribute("feature", "subscribe"));
        var error = request.CreateError(new StanzaError(StanzaErrorType.Cancel, StanzaErrorCondition.FeatureNotImplemented, "not here", app));

        Assert.Equal(IqType.Error, error.Type);
        Assert.Equal("sub1", error.Id);
        Assert.Equal(Jid.Parse("juliet@example.com/balcony"), error.To);
        var xml = StanzaSerializer.ToXml(error.Element, XmppNamespaces.ComponentAccept);
        Assert.Equal(
            "<iq type='error' id='sub1' to='juliet@example.com/balcony' from='events.example.com'><error type='cancel'>" +
            "<feature-not-implemented xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/>" +
            "<text xmlns='urn:ietf:params:xml:ns:xmpp-stanzas' xml:lang='en'>not here</text>" +
            "<unsupported xmlns='http://jabber.org/protocol/pubsub#errors' feature='subscribe'/></error></iq>", xml);

        var parsed = error.Error!;
        Assert.Equal(StanzaErrorType.Cancel, parsed.Type);
        Assert.Equal(StanzaErrorCondition.FeatureNotImplemented, parsed.Condition);
        Assert.Equal("not here", parsed.Text);
        Assert.Equal("subscribe", (string?)parsed.ApplicationCondition!.Attribute("feature"));
    }

    [Fact]
    public void RFC_6120_error_example_parses()
    {
        // RFC 6120 §8.3.2 (Example: stanza error).
        var iq = (Iq)Stanza.FromElement(XElement.Parse(
            "<iq xmlns='jabber:component:accept' from='im.example.com' id='ixc3v1b9' to='juliet@im.example.com/foo' type='error'>" +
            "<error type='cancel'><service-unavailable xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>"));
        Assert.Equal(IqType.Error, iq.Type);
        Assert.Equal(StanzaErrorCondition.ServiceUnavailable, iq.Error!.Condition);
        Assert.Equal(StanzaErrorType.Cancel, iq.Error.Type);
        Assert.Null(iq.Payload);
    }

    [Fact]
    public void An_unknown_condition_reads_as_undefined_condition()
    {
        var e = StanzaError.Parse(XElement.Parse("<error xmlns='jabber:component:accept' type='bogus'><made-up xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>"));
        Assert.Equal(StanzaErrorCondition.UndefinedCondition, e.Condition);
        Assert.Equal(StanzaErrorType.Cancel, e.Type);
    }

    [Theory]
    [InlineData(StanzaErrorCondition.BadRequest, StanzaErrorType.Modify)]
    [InlineData(StanzaErrorCondition.Forbidden, StanzaErrorType.Auth)]
    [InlineData(StanzaErrorCondition.ItemNotFound, StanzaErrorType.Cancel)]
    [InlineData(StanzaErrorCondition.ResourceConstraint, StanzaErrorType.Wait)]
    public void Default_error_types_follow_RFC_6120(StanzaErrorCondition condition, StanzaErrorType type) =>
        Assert.Equal(type, StanzaError.Of(condition).Type);

    [Fact]
    public void No_error_in_reply_to_an_error()
    {
        var error = Stanza.FromElement(XElement.Parse("<message xmlns='jabber:component:accept' type='error' from='a@example.com' to='events.example.com'/>"));
        Assert.Throws<InvalidOperationException>(() => error.CreateErrorReply(StanzaError.Of(StanzaErrorCondition.BadRequest)));
    }

    [Theory]
    [InlineData("<iq xmlns='jabber:component:accept' type='get' from='a@example.com' to='b.example.com'><q xmlns='x'/></iq>")] // no id
    [InlineData("<iq xmlns='jabber:component:accept' type='fetch' id='1'><q xmlns='x'/></iq>")]                             // bad type
    [InlineData("<iq xmlns='jabber:component:accept' type='set' id='1'/>")]                                                 // no payload
    [InlineData("<message xmlns='jabber:component:accept' to='a@@example.com'/>")]                                          // bad JID
    [InlineData("<handshake xmlns='jabber:component:accept'/>")]                                                            // not a stanza
    public void Invalid_stanzas_are_refused(string xml) =>
        Assert.Throws<StanzaFormatException>(() => Stanza.FromElement(XElement.Parse(xml)));

    [Fact]
    public void A_malformed_address_maps_to_jid_malformed()
    {
        var ex = Assert.Throws<StanzaFormatException>(() => Stanza.FromElement(XElement.Parse("<message xmlns='jabber:component:accept' from='@x'/>")));
        Assert.Equal(StanzaErrorCondition.JidMalformed, ex.Condition);
    }

    [Fact]
    public void Message_type_and_body()
    {
        var m = new Message(MessageType.Headline, Jid.Parse("romeo@example.net"), Jid.Parse("events.example.com"), "m1") { Body = "You've got mail" };
        Assert.Equal("<message to='romeo@example.net' from='events.example.com' id='m1' type='headline'><body>You&apos;ve got mail</body></message>".Replace("&apos;", "'", StringComparison.Ordinal),
            StanzaSerializer.ToXml(m.Element, XmppNamespaces.ComponentAccept));
        var read = (Message)Stanza.FromElement(XElement.Parse(StanzaSerializer.ToXml(m.Element, "")));
        Assert.Equal(MessageType.Headline, read.Type);
        Assert.Equal("You've got mail", read.Body);
    }

    [Fact]
    public void Stream_errors_round_trip()
    {
        var e = new StreamError(StreamErrorCondition.RestrictedXml, "no comments");
        Assert.Equal("restricted-xml", e.ConditionName);
        var xml = StanzaSerializer.ToXml(e.ToElement(), XmppNamespaces.ComponentAccept);
        Assert.Equal("<stream:error><restricted-xml xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams' xml:lang='en'>no comments</text></stream:error>", xml);
        var parsed = StreamError.Parse(e.ToElement());
        Assert.Equal(e.Condition, parsed.Condition);
        Assert.Equal(e.Text, parsed.Text);
    }
}
