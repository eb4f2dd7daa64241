using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip.Tests;

/// <summary>Dialog identity and in-dialog requests for RFC 6665 subscription dialogs (RFC 3261 §12).</summary>
public class DialogTests
{
    private static SipRequest Subscribe() => (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message("""
        SUBSCRIBE sip:alice@pna.example.com SIP/2.0
        Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bKp2
        Via: SIP/2.0/UDP p1.example.com;branch=z9hG4bKp1
        Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bKphone
        Max-Forwards: 68
        Record-Route: <sip:p2.example.com;lr>
        Record-Route: <sip:p1.example.com;lr>
        To: <sip:alice@example.com>
        From: "Alice" <sip:alice@example.com>;tag=sub1
        Call-ID: dlg1@phone.example.com
        CSeq: 7 SUBSCRIBE
        Contact: <sip:alice@192.0.2.50:5062>
        Event: message-summary;id=inbox
        Expires: 3600
        Content-Length: {length}

        """));

    [Fact]
    public void Notifier_dialog_from_a_SUBSCRIBE_builds_NOTIFYs_along_the_route_set()
    {
        var subscribe = Subscribe();
        var dialog = SipDialog.CreateAsUas(subscribe, "pna7");
        Assert.Equal(new SipDialogId("dlg1@phone.example.com", "pna7", "sub1"), dialog.Id);
        Assert.Equal(["p2.example.com", "p1.example.com"], dialog.RouteSet.Select(r => r.Uri.Host));
        Assert.Equal(7u, dialog.RemoteSequence);

        var first = dialog.CreateRequest(SipMethods.Notify);
        var second = dialog.CreateRequest(SipMethods.Notify);
        Assert.Equal(first.CSeq.Sequence + 1, second.CSeq.Sequence);
        Assert.Equal("sip:alice@192.0.2.50:5062", first.RequestUri.ToString());
        Assert.Equal(["sip:p2.example.com;lr", "sip:p1.example.com;lr"], first.Route.Select(r => r.Uri.ToString()));
        Assert.Equal("sub1", first.To.Tag);
        Assert.Equal("pna7", first.From.Tag);
        Assert.Equal("Alice", first.To.DisplayName);
        Assert.Equal("dlg1@phone.example.com", first.CallId);

        // The subscriber's in-dialog requests map back to the same dialog.
        var refresh = Subscribe();
        refresh.Headers.Set(SipHeaderNames.To, "<sip:alice@example.com>;tag=pna7");
        Assert.Equal(dialog.Id, SipDialogId.ForIncomingRequest(refresh));
        Assert.Equal(SipSubscriptionId.For(dialog.Id, subscribe.Event!), SipSubscriptionId.For(dialog.Id, refresh.Event!));
    }

    [Fact]
    public void Subscriber_dialog_from_the_2xx_reverses_Record_Route()
    {
        var subscribe = Subscribe();
        var ok = (SipResponse)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message("""
            SIP/2.0 200 OK
            Via: SIP/2.0/UDP phone.example.com;branch=z9hG4bKphone
            Record-Route: <sip:p2.example.com;lr>, <sip:p1.example.com;lr>
            To: <sip:alice@example.com>;tag=pna7
            From: "Alice" <sip:alice@example.com>;tag=sub1
            Call-ID: dlg1@phone.example.com
            CSeq: 7 SUBSCRIBE
            Contact: <sip:pna@192.0.2.1:5060;transport=tcp>
            Expires: 3600
            Content-Length: {length}

            """));
        var dialog = SipDialog.CreateAsUac(subscribe, ok);
        Assert.Equal(new SipDialogId("dlg1@phone.example.com", "sub1", "pna7"), dialog.Id);
        Assert.Equal(dialog.Id, SipDialogId.ForIncomingResponse(ok));
        Assert.Equal(["p1.example.com", "p2.example.com"], dialog.RouteSet.Select(r => r.Uri.Host));
        var refresh = dialog.CreateRequest(SipMethods.Subscribe);
        Assert.Equal(8u, refresh.CSeq.Sequence);
        Assert.Equal("tcp", refresh.RequestUri.Transport);
    }

    [Fact]
    public void Strict_first_hop_becomes_the_Request_URI()
    {
        var subscribe = Subscribe();
        subscribe.Headers.Remove(SipHeaderNames.RecordRoute);
        subscribe.Headers.Add(SipHeaderNames.RecordRoute, "<sip:strict.example.com>");
        var notify = SipDialog.CreateAsUas(subscribe, "t").CreateRequest(SipMethods.Notify);
        Assert.Equal("sip:strict.example.com", notify.RequestUri.ToString());
        Assert.Equal("sip:alice@192.0.2.50:5062", Assert.Single(notify.Route).Uri.ToString());
    }

    [Fact]
    public void Remote_CSeq_must_not_go_backwards_and_Contact_refreshes_the_target()
    {
        var dialog = SipDialog.CreateAsUas(Subscribe(), "t");
        Assert.False(dialog.TryAcceptRemoteSequence(6));
        Assert.True(dialog.TryAcceptRemoteSequence(8));
        var refresh = Subscribe();
        refresh.Headers.Set(SipHeaderNames.Contact, "<sip:alice@192.0.2.51:5064>");
        dialog.RefreshTarget(refresh);
        Assert.Equal("192.0.2.51", dialog.RemoteTarget.Host);
    }

    [Fact]
    public void Tags_are_random_and_request_without_contact_cannot_create_a_dialog()
    {
        Assert.NotEqual(SipDialogId.NewTag(), SipDialogId.NewTag());
        var s = Subscribe();
        s.Headers.Remove(SipHeaderNames.Contact);
        Assert.Throws<SipParseException>(() => SipDialog.CreateAsUas(s, "x"));
    }
}
