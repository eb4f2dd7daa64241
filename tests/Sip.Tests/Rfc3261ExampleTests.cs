using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip.Tests;

/// <summary>RFC 3261 §24 call flow messages and RFC 3842 / RFC 6665 subscription messages.</summary>
public class Rfc3261ExampleTests
{
    /// <summary>Builds a message from LF-separated text, filling in the body's Content-Length.</summary>
    internal static byte[] Message(string head, string body = "")
    {
        var crlfBody = body.ReplaceLineEndings("\r\n");
        var text = head.ReplaceLineEndings("\r\n").Replace("{length}", Encoding.UTF8.GetByteCount(crlfBody).ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal);
        return Encoding.UTF8.GetBytes(text + "\r\n" + crlfBody);
    }

    internal const string SubscribeMwi = """
        SUBSCRIBE sip:alice@vmail.example.com SIP/2.0
        Via: SIP/2.0/UDP alice-phone.example.com;branch=z9hG4bKnashds7
        Max-Forwards: 70
        To: <sip:alice@vmail.example.com>
        From: <sip:alice@example.com>;tag=78923
        Call-ID: 1@alice-phone.example.com
        CSeq: 4 SUBSCRIBE
        Contact: <sip:alice@alice-phone.example.com>
        Event: message-summary
        Expires: 3600
        Accept: application/simple-message-summary
        Content-Length: {length}

        """;

    internal const string NotifyMwi = """
        NOTIFY sip:alice@alice-phone.example.com SIP/2.0
        Via: SIP/2.0/UDP vmail.example.com;branch=z9hG4bK776sgdkse
        Max-Forwards: 70
        To: <sip:alice@example.com>;tag=78923
        From: <sip:alice@vmail.example.com>;tag=4442
        Call-ID: 1@alice-phone.example.com
        CSeq: 20 NOTIFY
        Subscription-State: active;expires=3599
        Event: message-summary
        Content-Type: application/simple-message-summary
        Content-Length: {length}

        """;

    internal const string MwiBody = """
        Messages-Waiting: yes
        Message-Account: sip:alice@vmail.example.com
        Voice-Message: 2/8 (0/2)

        """;

    [Fact] // §24.1 F1
    public void REGISTER_from_the_registration_flow()
    {
        var m = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(Message("""
            REGISTER sips:ss2.biloxi.example.com SIP/2.0
            Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
            Max-Forwards: 70
            From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
            To: Bob <sips:bob@biloxi.example.com>
            Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
            CSeq: 1 REGISTER
            Contact: <sips:bob@client.biloxi.example.com>
            Content-Length: 0

            """)));
        Assert.Equal("REGISTER", m.Method);
        Assert.Equal("sips", m.RequestUri.Scheme);
        var via = m.TopVia!;
        Assert.Equal(("TLS", "client.biloxi.example.com", (int?)5061), (via.Transport, via.Host, via.Port));
        Assert.StartsWith(SipVia.MagicCookie, via.Branch, StringComparison.Ordinal);
        Assert.Equal("Bob", m.From.DisplayName);
        Assert.Equal("a73kszlfl", m.From.Tag);
        Assert.Null(m.To.Tag);
        Assert.Equal(new SipCSeq(1, "REGISTER"), m.CSeq);
        Assert.Equal("client.biloxi.example.com", Assert.Single(m.Contact).Uri.Host);
    }

    [Fact] // §24.1 F2, with the folded Via and WWW-Authenticate
    public void Unauthorized_with_folded_challenge()
    {
        var m = Assert.IsType<SipResponse>(SipMessageParser.ParseDatagram(Message("""
            SIP/2.0 401 Unauthorized
            Via: SIP/2.0/TLS client.biloxi.example.com:5061;branch=z9hG4bKnashds7
             ;received=192.0.2.201
            From: Bob <sips:bob@biloxi.example.com>;tag=a73kszlfl
            To: Bob <sips:bob@biloxi.example.com>;tag=1410948204
            Call-ID: 1j9FpLxk3uxtm8tn@biloxi.example.com
            CSeq: 1 REGISTER
            WWW-Authenticate: Digest realm="atlanta.example.com", qop="auth",
             nonce="ea9c8e88df84f1cec4341ae6cbe5a359",
             opaque="", stale=FALSE, algorithm=MD5
            Content-Length: 0

            """)));
        Assert.Equal(401, m.StatusCode);
        Assert.Equal("192.0.2.201", m.TopVia!.Received);
        var challenge = Assert.Single(m.WwwAuthenticate);
        Assert.Equal("Digest", challenge.Scheme);
        Assert.Equal("atlanta.example.com", challenge["realm"]);
        Assert.Equal("ea9c8e88df84f1cec4341ae6cbe5a359", challenge["nonce"]);
        Assert.Equal("", challenge["opaque"]);
        Assert.Equal("FALSE", challenge["stale"]);
        Assert.Equal("MD5", challenge["algorithm"]);
    }

    [Fact] // §24.2 F1
    public void INVITE_with_SDP_body()
    {
        const string sdp = """
            v=0
            o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com
            s=-
            c=IN IP4 192.0.2.101
            t=0 0
            m=audio 49172 RTP/AVP 0
            a=rtpmap:0 PCMU/8000

            """;
        var m = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(Message("""
            INVITE sips:bob@biloxi.example.com SIP/2.0
            Via: SIP/2.0/TLS client.atlanta.example.com:5061;branch=z9hG4bK74bf9
            Max-Forwards: 70
            From: Alice <sips:alice@atlanta.example.com>;tag=9fxced76sl
            To: Bob <sips:bob@biloxi.example.com>
            Call-ID: 3848276298220188511@atlanta.example.com
            CSeq: 1 INVITE
            Contact: <sips:alice@client.atlanta.example.com;transport=tcp>
            Content-Type: application/sdp
            Content-Length: {length}

            """, sdp)));
        Assert.Equal("tcp", Assert.Single(m.Contact).Uri.Transport);
        Assert.Equal(sdp.ReplaceLineEndings("\r\n"), Encoding.UTF8.GetString(m.Body.Span));
        Assert.Equal(m.Body.Length, m.ContentLength);
    }

    [Fact]
    public void SUBSCRIBE_for_message_summary()
    {
        var m = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(Message(SubscribeMwi)));
        Assert.Equal("message-summary", m.Event!.EventType);
        Assert.Null(m.Event.Id);
        Assert.Equal(3600u, m.Expires);
        Assert.Equal(0, m.Body.Length);
    }

    [Fact]
    public void NOTIFY_with_message_summary_body()
    {
        var m = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(Message(NotifyMwi, MwiBody)));
        var state = m.SubscriptionState!;
        Assert.Equal(SipSubscriptionState.Active, state.State);
        Assert.Equal(3599u, state.Expires);
        Assert.Equal("application/simple-message-summary", m.ContentType);
        Assert.StartsWith("Messages-Waiting: yes\r\n", Encoding.UTF8.GetString(m.Body.Span), StringComparison.Ordinal);
    }

    [Fact] // RFC 6665 §8.4 compact forms o (Event) and u (Allow-Events); event id and terminated state
    public void Compact_Event_and_Allow_Events_with_terminated_state()
    {
        var m = SipMessageParser.ParseDatagram(Message("""
            NOTIFY sip:alice@192.0.2.7:5070;transport=tcp SIP/2.0
            v: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK-77;rport
            f: <sip:pna@example.com>;tag=n1
            t: "Alice \"A\" Smith" <sip:alice@example.com>;tag=s1
            i: 77@example.com
            CSeq: 3 NOTIFY
            o: message-summary;id=inbox
            u: message-summary, presence , mail-event
            Subscription-State: terminated;reason=timeout;retry-after=30
            l: {length}

            """));
        Assert.Equal("inbox", m.Event!.Id);
        Assert.Equal(["message-summary", "presence", "mail-event"], m.AllowEvents);
        Assert.Equal(("terminated", "timeout", (uint?)30), (m.SubscriptionState!.State, m.SubscriptionState.Reason, m.SubscriptionState.RetryAfter));
        Assert.Equal("Alice \"A\" Smith", m.To.DisplayName);
        var via = m.TopVia!;
        Assert.Equal(("[2001:db8::9]", (int?)5061, true, (int?)null), (via.Host, via.Port, via.HasRport, via.Rport));
        var written = Encoding.UTF8.GetString(SipMessageWriter.ToBytes(m));
        Assert.Contains("\r\nEvent: message-summary;id=inbox\r\n", written, StringComparison.Ordinal);
        Assert.Contains("\r\nAllow-Events: message-summary, presence , mail-event\r\n", written, StringComparison.Ordinal);
        Assert.Contains("\r\nVia: SIP/2.0/TCP [2001:db8::9]:5061;branch=z9hG4bK-77;rport\r\n", written, StringComparison.Ordinal);
        Assert.EndsWith("\r\nContent-Length: 0\r\n\r\n", written, StringComparison.Ordinal);
    }

    [Fact]
    public void Writer_writes_full_names_and_the_real_Content_Length()
    {
        var m = SipMessageParser.ParseDatagram(Message(NotifyMwi, MwiBody));
        m.Body = "Messages-Waiting: no\r\n"u8.ToArray();
        var written = Encoding.UTF8.GetString(SipMessageWriter.ToBytes(m));
        Assert.Contains("\r\nContent-Length: 22\r\n\r\nMessages-Waiting: no\r\n", written, StringComparison.Ordinal);
        Assert.Single(written.Split("Content-Length", StringSplitOptions.None).Skip(1));
        var again = SipMessageParser.ParseDatagram(Encoding.UTF8.GetBytes(written));
        Assert.Equal(m.Body.ToArray(), again.Body.ToArray());
    }

    [Fact]
    public void Building_a_request_in_code()
    {
        var req = new SipRequest(SipMethods.Notify, SipUri.Parse("sip:alice@192.0.2.7:5070"));
        req.Headers.Add("Via", new SipVia("UDP", "192.0.2.1", 5060) { Branch = "z9hG4bKabc" }.ToString());
        req.From = new SipNameAddress(SipUri.Parse("sip:pna@example.com")) { Tag = "x" };
        req.To = new SipNameAddress(SipUri.Parse("sip:alice@example.com"), "Alice") { Tag = "y" };
        req.CallId = "c1@example.com";
        req.CSeq = new SipCSeq(2, SipMethods.Notify);
        req.MaxForwards = 70;
        req.Event = new SipEvent("message-summary");
        req.SubscriptionState = new SipSubscriptionState("active") { Parameters = { } };
        var parsed = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(req)));
        Assert.Equal("Alice", parsed.To.DisplayName);
        Assert.Equal(70, parsed.MaxForwards);
        Assert.Equal("z9hG4bKabc", parsed.TopVia!.Branch);
    }
}
