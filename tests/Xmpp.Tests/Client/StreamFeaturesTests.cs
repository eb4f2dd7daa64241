using System.Xml.Linq;
using Aggregators.Xmpp.Client;

namespace Aggregators.Xmpp.Tests.Client;

public sealed class StreamFeaturesTests
{
    private static XElement Features(string inner) => XElement.Parse(
        "<stream:features xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client'>" + inner + "</stream:features>");

    [Fact]
    public void Starttls_required_as_in_rfc_6120_5_4_1()
    {
        var f = StreamFeatures.Parse(Features("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls>"));
        Assert.True(f.StartTls);
        Assert.True(f.StartTlsRequired);
        Assert.Empty(f.Mechanisms);
    }

    [Fact]
    public void Mechanisms_as_in_rfc_6120_6_4_1_in_server_order()
    {
        var f = StreamFeatures.Parse(Features(
            "<mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>SCRAM-SHA-1-PLUS</mechanism><mechanism>SCRAM-SHA-1</mechanism><mechanism>PLAIN</mechanism></mechanisms>"));
        Assert.Equal(["SCRAM-SHA-1-PLUS", "SCRAM-SHA-1", "PLAIN"], f.Mechanisms);
        Assert.False(f.StartTls);
    }

    [Fact]
    public void Bind_and_session_as_in_rfc_6120_7_4()
    {
        var f = StreamFeatures.Parse(Features(
            "<bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><session xmlns='urn:ietf:params:xml:ns:xmpp-session'><optional/></session>"));
        Assert.True(f.Bind);
        Assert.False(f.SessionRequired);
        Assert.True(StreamFeatures.Parse(Features("<session xmlns='urn:ietf:params:xml:ns:xmpp-session'/>")).SessionRequired);
    }

    [Fact]
    public void Features_in_the_wrong_namespace_are_ignored_and_another_element_is_refused()
    {
        var f = StreamFeatures.Parse(Features("<starttls xmlns='urn:example:other'/><bind/>"));
        Assert.False(f.StartTls);
        Assert.False(f.Bind);
        var ex = Assert.Throws<XmppClientException>(() => StreamFeatures.Parse(new XElement(XName.Get("features", "jabber:client"))));
        Assert.Equal(ClientFailure.ProtocolError, ex.Failure);
    }
}
