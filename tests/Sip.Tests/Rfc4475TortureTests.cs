using Aggregators.Sip.Parsing;

namespace Aggregators.Sip.Tests;

/// <summary>RFC 4475 torture test messages (test data reproduced from the RFC, one file each).</summary>
public class Rfc4475TortureTests
{
    private static SipMessage Parse(string name) => SipMessageParser.ParseDatagram(TestMessages.Rfc4475(name));

    private static SipParseException Rejects(string name) =>
        Assert.Throws<SipParseException>(() => Parse(name));

    public static TheoryData<string> AllMessages() =>
        [.. Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "TestData", "rfc4475")).Select(f => Path.GetFileNameWithoutExtension(f)!).Order()];

    [Theory]
    [MemberData(nameof(AllMessages))]
    public void No_message_throws_anything_but_SipParseException(string name)
    {
        var bytes = TestMessages.Rfc4475(name);
        try
        {
            var m = SipMessageParser.ParseDatagram(bytes);
            // Reading every typed header either works or fails with the documented error.
            foreach (var read in new Func<object?>[]
                     {
                         () => m.Via, () => m.Contact, () => m.Route, () => m.RecordRoute, () => m.Expires,
                         () => m.Event, () => m.SubscriptionState, () => m.Authorization, () => m.Require, () => m.Allow,
                     })
            {
                try
                {
                    _ = read();
                }
                catch (SipParseException)
                {
                }
            }
            _ = SipMessageWriter.ToBytes(m);
        }
        catch (SipParseException)
        {
        }
    }

    [Theory]
    [InlineData("wsinv")]
    [InlineData("intmeth")]
    [InlineData("esc01")]
    [InlineData("escnull")]
    [InlineData("esc02")]
    [InlineData("lwsdisp")]
    [InlineData("longreq")]
    [InlineData("semiuri")]
    [InlineData("transports")]
    [InlineData("mpart01")]
    [InlineData("unreason")]
    [InlineData("noreason")]
    [InlineData("cparam01")]
    [InlineData("regescrt")]
    public void Valid_message_written_canonically_parses_to_the_same_values(string name)
    {
        var m = Parse(name);
        var written = SipMessageWriter.ToBytes(m);
        var again = SipMessageParser.ParseDatagram(written);
        Assert.Equal(m.Via, again.Via);
        Assert.Equal(m.From, again.From);
        Assert.Equal(m.To, again.To);
        Assert.Equal(m.CallId, again.CallId);
        Assert.Equal(m.CSeq, again.CSeq);
        Assert.Equal(m.Contact, again.Contact);
        Assert.Equal(m.Body.ToArray(), again.Body.ToArray());
        Assert.Equal(m.Headers.Count(h => h.Name != SipHeaderNames.ContentLength), again.Headers.Count(h => h.Name != SipHeaderNames.ContentLength));
        Assert.DoesNotContain(again.Headers, h => h.Name.Length == 1); // compact forms were expanded
        Assert.Equal(written, SipMessageWriter.ToBytes(again));
    }

    [Fact] // 3.1.1.1
    public void Short_tortuous_INVITE()
    {
        var m = Assert.IsType<SipRequest>(Parse("wsinv"));
        Assert.Equal("INVITE", m.Method);
        Assert.Equal("vivekg", m.RequestUri.User);
        Assert.Equal("chair-dnrc.example.com", m.RequestUri.Host);
        Assert.True(m.RequestUri.Parameters.Contains("unknownparam"));
        Assert.Equal("1918181833n", m.To.Tag);
        Assert.Null(m.To.DisplayName);
        Assert.Equal("J Rosenberg \\\"", m.From.DisplayName);
        Assert.Equal("98asjd8", m.From.Tag);
        Assert.Equal(68, m.MaxForwards);
        Assert.Equal("wsinv.ndaksdj@192.0.2.1", m.CallId);
        Assert.Equal(new SipCSeq(9, "INVITE"), m.CSeq);
        var via = m.Via;
        Assert.Equal(3, via.Count);
        Assert.Equal(("UDP", "192.0.2.2", "390skdjuw"), (via[0].Transport, via[0].Host, via[0].Branch));
        Assert.Equal(("TCP", "spindle.example.com", "z9hG4bK9ikj8"), (via[1].Transport, via[1].Host, via[1].Branch));
        Assert.Equal(("UDP", "192.168.255.111", "z9hG4bK30239"), (via[2].Transport, via[2].Host, via[2].Branch));
        Assert.Equal("", m.Headers.GetFirstValue("Subject"));
        Assert.Equal("newfangled value continued newfangled value", m.Headers.GetFirstValue("NewFangledHeader"));
        Assert.Equal(";;,,;;,;", m.Headers.GetFirstValue("UnknownHeaderWithUnusualValue"));
        var route = Assert.Single(m.Route);
        Assert.True(route.Uri.LooseRouting);
        Assert.Equal("value", route.Uri.Parameters["unknownwith"]);
        var contact = Assert.Single(m.Contact);
        Assert.Equal("Quoted string \"\"", contact.DisplayName);
        Assert.Equal("newvalue", contact.Parameters["newparam"]);
        Assert.True(contact.Parameters.Contains("secondparam"));
        Assert.Equal("0.33", contact.Parameters["q"]);
        Assert.Equal(150, m.Body.Length);
        Assert.Equal("application/sdp", m.ContentType);
    }

    [Fact] // 3.1.1.2
    public void Wide_range_of_valid_characters()
    {
        var m = Assert.IsType<SipRequest>(Parse("intmeth"));
        Assert.Equal("!interesting-Method0123456789_*+`.%indeed'~", m.Method);
        Assert.Equal("1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", m.RequestUri.User);
        Assert.Equal("&it+has=1,weird!*pas$wo~d_too.(doesn't-it)", m.RequestUri.Password);
        Assert.Equal("z9hG4bK-.!%66*_+`'~", m.TopVia!.Branch);
        Assert.Equal("BEL:\a NUL:\0 DEL:\x7F", m.To.DisplayName);
        Assert.Equal("token1~` token2'+_ token3*%!.-", m.From.DisplayName);
        Assert.Equal("\u0440\u0430\u0431\u043e\u0442\u0430\u044e\u0449\u0438\u0439", m.From.Parameters["fromParam''~+*_!.-%"]);
        Assert.Equal(new SipCSeq(139122385, m.Method), m.CSeq);
    }

    [Fact] // 3.1.1.3
    public void Valid_use_of_percent_escaping()
    {
        var m = Assert.IsType<SipRequest>(Parse("esc01"));
        Assert.Equal("sips:user@example.com", m.RequestUri.User);
        Assert.Equal("example.net", m.RequestUri.Host);
        Assert.Equal("user", m.To.Uri.User);
        Assert.Equal("I have spaces", m.From.Uri.User);
        var contact = Assert.Single(m.Contact).Uri;
        Assert.Equal("caller", contact.User);
        Assert.True(contact.LooseRouting);
        Assert.Equal("value%41", contact.Parameters["name"]);
    }

    [Fact] // 3.1.1.4
    public void Escaped_nulls_in_URIs()
    {
        var m = Parse("escnull");
        Assert.Equal("null-\0-null", m.To.Uri.User);
        Assert.Equal(2, m.Contact.Count);
    }

    [Fact] // 3.1.1.5
    public void Percent_where_it_is_not_an_escape() => Assert.Equal("RE%47IST%45R", Assert.IsType<SipRequest>(Parse("esc02")).Method);

    [Fact] // 3.1.1.6
    public void Message_with_no_LWS_between_display_name_and_angle_bracket()
    {
        var m = Parse("lwsdisp");
        Assert.Equal("caller", m.From.DisplayName);
    }

    [Fact] // 3.1.1.7
    public void Long_values_in_header_fields()
    {
        var m = Parse("longreq");
        Assert.True(m.Via.Count >= 21);
        Assert.StartsWith("I have a user name of extremeextreme", m.To.DisplayName, StringComparison.Ordinal);
    }

    [Fact] // 3.1.1.8: a second message in the datagram is past Content-Length and ignored
    public void Extra_trailing_octets_in_a_UDP_datagram()
    {
        var m = Assert.IsType<SipRequest>(Parse("dblreq"));
        Assert.Equal("REGISTER", m.Method);
        Assert.Equal(0, m.Body.Length);
    }

    [Fact] // 3.1.1.9
    public void Semicolon_separated_parameters_in_URI_user_part()
    {
        var m = Assert.IsType<SipRequest>(Parse("semiuri"));
        Assert.Equal("user;par=u@example.net", m.RequestUri.User);
    }

    [Fact] // 3.1.1.10
    public void Varied_and_unknown_transport_types()
    {
        var via = Parse("transports").Via;
        Assert.Equal(["UDP", "SCTP", "TLS", "UNKNOWN", "TCP"], via.Select(v => v.Transport));
    }

    [Fact] // 3.1.1.11
    public void Multipart_MIME_message() => Assert.StartsWith("multipart/mixed", Parse("mpart01").ContentType, StringComparison.Ordinal);

    [Fact] // 3.1.1.12
    public void Unusual_reason_phrase() =>
        Assert.StartsWith("= 2**3 * 5**2 \u043d\u043e", Assert.IsType<SipResponse>(Parse("unreason")).ReasonPhrase, StringComparison.Ordinal);

    [Fact] // 3.1.1.13
    public void Empty_reason_phrase()
    {
        var r = Assert.IsType<SipResponse>(Parse("noreason"));
        Assert.Equal(100, r.StatusCode);
        Assert.Equal("", r.ReasonPhrase);
    }

    // 3.1.2 Invalid messages: each one is rejected by the parser, or (where the RFC says only an
    // element that uses the field fails) by the typed accessor for that field.
    [Theory]
    [InlineData("badinv01")] // 3.1.2.1 extraneous header field separators
    [InlineData("clerr")]    // 3.1.2.2 Content-Length larger than message
    [InlineData("ncl")]      // 3.1.2.3 negative Content-Length
    [InlineData("scalar02")] // 3.1.2.4 request scalar fields with overlarge values
    [InlineData("scalarlg")] // 3.1.2.5 response scalar fields with overlarge values
    [InlineData("quotbal")]  // 3.1.2.6 unterminated quoted string in display name
    [InlineData("ltgtruri")] // 3.1.2.7 <> enclosing Request-URI
    [InlineData("lwsruri")]  // 3.1.2.8 malformed Request-URI (embedded LWS)
    [InlineData("lwsstart")] // 3.1.2.9 multiple SP separating Request-Line elements
    [InlineData("trws")]     // 3.1.2.10 SP at end of Request-Line
    [InlineData("escruri")]  // 3.1.2.11 escaped headers in Request-URI
    [InlineData("badaspec")] // 3.1.2.14 spaces within addr-spec
    [InlineData("baddn")]    // 3.1.2.15 non-token characters in display name
    [InlineData("mismatch01")] // 3.1.2.17 start line and CSeq method mismatch
    [InlineData("mismatch02")] // 3.1.2.18 unknown method with CSeq method mismatch
    [InlineData("bigcode")]  // 3.1.2.19 overlarge response code
    [InlineData("insuf")]    // 3.3.1 missing required header fields
    [InlineData("multi01")]  // 3.3.8 multiple values in single-value required fields
    [InlineData("mcl01")]    // 3.3.9 multiple Content-Length values
    public void Invalid_message_is_rejected(string name)
    {
        var e = Rejects(name);
        Assert.False(string.IsNullOrEmpty(e.Reason));
    }

    [Fact] // 3.1.2.12: a proxy forwards it; only an element that needs Date fails
    public void Invalid_time_zone_in_Date_is_kept_raw() =>
        Assert.Equal("Fri, 01 Jan 2010 16:00:00 EST", Parse("baddate").Headers.GetFirstValue("Date"));

    [Fact] // 3.1.2.13: the URI with '?' needs <>; the Contact is unusable
    public void Failure_to_enclose_name_addr_URI_in_angle_brackets()
    {
        var m = Parse("regbadct");
        var e = Assert.Throws<SipParseException>(() => m.Contact);
        Assert.Equal(SipHeaderNames.Contact, e.HeaderName);
        Assert.True(e.Line > 1);
    }

    [Fact] // 3.1.2.16: parsed, so that a 505 can be sent
    public void Unknown_protocol_version() => Assert.Equal("SIP/7.0", Parse("badvers").Version);

    [Fact] // 3.2.1: the branch is present but has no magic cookie
    public void Missing_transaction_identifier() => Assert.False(Parse("badbranch").TopVia!.Branch!.StartsWith(SipVia.MagicCookie + "x", StringComparison.Ordinal));

    [Theory] // 3.3.2, 3.3.3: parsed, so that a 416 can be sent
    [InlineData("unkscm", "nobodyknowsthisscheme")]
    [InlineData("novelsc", "soap.beep")]
    public void Request_URI_with_other_scheme(string name, string scheme)
    {
        var m = Assert.IsType<SipRequest>(Parse(name));
        Assert.Equal(scheme, m.RequestUri.Scheme);
        Assert.False(m.RequestUri.IsSip);
    }

    [Fact] // 3.3.4
    public void Unknown_URI_schemes_in_header_fields()
    {
        var m = Parse("unksm2");
        Assert.False(m.To.Uri.IsSip);
    }

    [Fact] // 3.3.5
    public void Proxy_Require_and_Require() => Assert.Equal(["nothingSupportsThis", "nothingSupportsThisEither"], Parse("bext01").Require);

    [Fact] // 3.3.6
    public void Unknown_Content_Type() => Assert.Equal("application/unknownformat", Parse("invut").ContentType);

    [Fact] // 3.3.7
    public void Unknown_authorization_scheme() => Assert.Equal("NoOneKnowsThisScheme", Assert.Single(Parse("regaut01").Authorization).Scheme);

    [Fact] // 3.3.10
    public void Response_with_broadcast_Via() => Assert.Equal("255.255.255.255", Parse("bcast").Via[1].Host);

    [Fact] // 3.3.11
    public void Max_Forwards_of_zero() => Assert.Equal(0, Parse("zeromf").MaxForwards);

    [Fact] // 3.3.12
    public void REGISTER_with_a_Contact_header_parameter() => Assert.True(Assert.Single(Parse("cparam01").Contact).Parameters.Contains("unknownparam"));

    [Fact] // 3.3.13
    public void REGISTER_with_a_url_parameter() => Assert.True(Assert.Single(Parse("cparam02").Contact).Uri.Parameters.Contains("unknownparam"));

    [Fact] // 3.3.14
    public void REGISTER_with_a_URL_escaped_header()
    {
        var uri = Assert.Single(Parse("regescrt").Contact).Uri;
        Assert.Equal(new KeyValuePair<string, string>("Route", "<sip:sip.example.com>"), Assert.Single(uri.Headers));
    }

    [Fact] // 3.3.15
    public void Unacceptable_Accept_offering() => Assert.Equal("text/nobodyKnowsThis", Parse("sdp01").Headers.GetFirstValue("Accept"));

    [Fact] // 3.4.1: RFC 2543 syntax (no branch) still parses
    public void INVITE_with_RFC_2543_syntax() => Assert.Null(Parse("inv2543").TopVia!.Branch);
}
