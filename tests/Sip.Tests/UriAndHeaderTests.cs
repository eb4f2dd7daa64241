using System.Net;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>URI, address and header value details of RFC 3261 §19.1 and §25.1.</summary>
public class UriAndHeaderTests
{
    [Theory]
    [InlineData("sip:alice@atlanta.com", "alice", null, "atlanta.com", null)]
    [InlineData("sip:alice:secretword@atlanta.com;transport=tcp", "alice", "secretword", "atlanta.com", null)]
    [InlineData("sips:alice@atlanta.com?subject=project%20x&priority=urgent", "alice", null, "atlanta.com", null)]
    [InlineData("sip:+1-212-555-1212:1234@gateway.com;user=phone", "+1-212-555-1212", "1234", "gateway.com", null)]
    [InlineData("sips:1212@gateway.com", "1212", null, "gateway.com", null)]
    [InlineData("sip:alice@192.0.2.4", "alice", null, "192.0.2.4", null)]
    [InlineData("sip:atlanta.com;method=REGISTER?to=alice%40atlanta.com", null, null, "atlanta.com", null)]
    [InlineData("sip:alice;day=tuesday@atlanta.com", "alice;day=tuesday", null, "atlanta.com", null)]
    [InlineData("sip:[2001:db8::7]:5070", null, null, "[2001:db8::7]", 5070)]
    public void Rfc3261_section_19_1_3_examples(string text, string? user, string? password, string host, int? port)
    {
        var uri = SipUri.Parse(text);
        Assert.Equal((user, password, host, port), (uri.User, uri.Password, uri.Host, uri.Port));
        Assert.Equal(uri, SipUri.Parse(uri.ToString()));
    }

    [Fact]
    public void Escaped_header_values_are_unescaped()
    {
        var uri = SipUri.Parse("sips:alice@atlanta.com?subject=project%20x&priority=urgent");
        Assert.Equal([new("subject", "project x"), new("priority", "urgent")], uri.Headers);
    }

    [Theory]
    [InlineData("sip:")]
    [InlineData("sip:@host")]
    [InlineData("sip:alice@")]
    [InlineData("sip:alice@host:99999")]
    [InlineData("sip:alice@host:")]
    [InlineData("sip:alice@[2001:db8::7")]
    [InlineData("sip:alice@[not-v6]")]
    [InlineData("sip:al%2@host")]
    [InlineData("sip:al ice@host")]
    [InlineData("sip:alice@host;=x")]
    [InlineData("sip:alice@-host.com")]
    [InlineData("sip:alice@host..com")]
    [InlineData("sip:alice@1.2.3.999")]
    [InlineData("1sip:alice@host")]
    [InlineData("nocolon")]
    public void Malformed_uris_are_rejected(string text) => Assert.Throws<SipParseException>(() => SipUri.Parse(text));

    [Fact]
    public void Via_received_may_be_a_bare_IPv6_address()
    {
        var via = SipVia.Parse("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=2001:db8::10;rport=5061");
        Assert.Equal("2001:db8::10", via.Received);
        Assert.Equal(new IPEndPoint(IPAddress.Parse("2001:db8::10"), 5061), SipTransportRules.ResponseDestination(via));
        Assert.Equal("SIP/2.0/UDP [2001:db8::9]:5060;branch=z9hG4bKx;received=2001:db8::10;rport=5061", via.ToString());
    }

    [Fact]
    public void Stamping_an_IPv6_source_adds_received_and_rport()
    {
        var request = (SipRequest)Parsing.SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.SubscribeMwi));
        request.Headers.Add(SipHeaderNames.Via, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKsecond");
        request.Headers.Set(SipHeaderNames.Via, "SIP/2.0/UDP phone.example.com;branch=z9hG4bKfirst;rport");
        request.Headers.Add(SipHeaderNames.Via, "SIP/2.0/UDP proxy.example.com;branch=z9hG4bKsecond");
        SipTransportRules.StampReceived(request, new IPEndPoint(IPAddress.Parse("2001:db8::5"), 6000));
        var vias = request.Via;
        Assert.Equal(2, vias.Count);
        Assert.Equal(("2001:db8::5", (int?)6000), (vias[0].Received, vias[0].Rport));
        Assert.Equal("z9hG4bKsecond", vias[1].Branch);
    }

    [Theory]
    [InlineData("Bob <sip:bob@biloxi.com>;tag=a6c85cf", "Bob", "a6c85cf")]
    [InlineData("\"Bob \\\"B\\\" Smith\" <sip:bob@biloxi.com>", "Bob \"B\" Smith", null)]
    [InlineData("sip:+12125551212@phone2net.com;tag=887s", null, "887s")]
    [InlineData("Anonymous <sip:c8oqz84zk7z@privacy.org>;tag=hyh8", "Anonymous", "hyh8")]
    [InlineData("  The   Operator   <sip:operator@cs.columbia.edu>", "The Operator", null)]
    [InlineData("\"\u00e9l\u00e8ve \u4e2d\" <sip:x@example.com>", "\u00e9l\u00e8ve \u4e2d", null)]
    public void Name_addresses(string text, string? display, string? tag)
    {
        var na = SipNameAddress.Parse(text);
        Assert.Equal((display, tag), (na.DisplayName, na.Tag));
        Assert.Equal(na, SipNameAddress.Parse(na.ToString()));
    }

    [Theory]
    [InlineData("\"unterminated <sip:x@example.com>")]
    [InlineData("<sip:x@example.com")]
    [InlineData("Bob, Smith <sip:x@example.com>")]
    [InlineData("<sip:x@example.com>;tag=")]
    [InlineData("<sip:x@example.com> junk")]
    [InlineData("\"a\\\r\" <sip:x@example.com>")]
    public void Malformed_addresses_are_rejected(string text) => Assert.Throws<SipParseException>(() => SipNameAddress.Parse(text));

    [Fact]
    public void Invalid_UTF8_in_a_quoted_display_name_is_rejected() =>
        Assert.Throws<SipParseException>(() => SipNameAddress.Parse([.. "\"a"u8, 0xC3, 0x28, .. "\" <sip:x@example.com>"u8]));

    [Fact]
    public void Header_injection_through_values_set_in_code_is_refused()
    {
        var m = new SipResponse(200);
        Assert.Throws<ArgumentException>(() => m.Headers.Add("Subject", "x\r\nVia: evil"));
        Assert.Throws<ArgumentException>(() => m.Headers.Add("Bad Name", "x"));
        Assert.Throws<ArgumentException>(() => m.CallId = "a\nb");
    }

    [Fact]
    public void Compact_names_map_to_full_names()
    {
        foreach (var (compact, full) in new[] { ("i", "Call-ID"), ("m", "Contact"), ("e", "Content-Encoding"), ("l", "Content-Length"), ("c", "Content-Type"), ("f", "From"), ("t", "To"), ("v", "Via"), ("k", "Supported"), ("s", "Subject"), ("o", "Event"), ("u", "Allow-Events"), ("x", "Session-Expires"), ("r", "Refer-To"), ("b", "Referred-By") })
        {
            Assert.Equal(full, SipHeaderNames.Canonicalize(compact));
            Assert.Equal(full, SipHeaderNames.Canonicalize(compact.ToUpperInvariant()));
        }
        Assert.Equal("WWW-Authenticate", SipHeaderNames.Canonicalize("www-authenticate"));
        Assert.Equal("X-Custom", SipHeaderNames.Canonicalize("X-Custom"));
    }
}
