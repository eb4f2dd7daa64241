using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Xmpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Alerts;

public sealed class AlertChannelTests
{
    private static AlertRecord Alert(AlertImportance importance = AlertImportance.Normal, string text = "Mail from Romeo") => new()
    {
        Id = 42,
        Source = "sieve",
        Target = "x",
        Text = text,
        Importance = importance,
        ImapUrl = "imap://juliet@mail.example.com/INBOX;UIDVALIDITY=7/;UID=3",
        Subject = "Balcony",
    };

    [Fact]
    public void The_xmpp_alert_follows_rfc5437()
    {
        var m = XmppPubsubTransport.BuildAlert(Alert(), Jid.Parse("juliet@example.com"), Jid.Parse("alerts@events.example.com"));
        Assert.Equal("headline", m.TypeName);
        Assert.Equal("alert-42", m.Id);
        Assert.Equal("Mail from Romeo", m.Body);
        XNamespace oob = "jabber:x:oob";
        Assert.Equal("imap://juliet@mail.example.com/INBOX;UIDVALIDITY=7/;UID=3", (string?)m.Element.Element(oob + "x")?.Element(oob + "url"));
        Assert.Equal("Balcony", (string?)m.Element.Element(m.Namespace + "subject"));
        Assert.Contains("Urgency", m.ToString(), StringComparison.Ordinal);
        var high = XmppPubsubTransport.BuildAlert(Alert(AlertImportance.High), Jid.Parse("juliet@example.com"), Jid.Parse("alerts@events.example.com"));
        Assert.Null(high.TypeName); // normal: kept for offline users
    }

    [Fact]
    public void The_sip_body_is_cut_to_fit_udp()
    {
        var body = Encoding.UTF8.GetString(SipAlertChannel.Body(Alert(text: new string('é', 2000))));
        Assert.True(Encoding.UTF8.GetByteCount(body) <= SipAlertChannel.MaxBodyBytes);
        Assert.EndsWith("…\r\nimap://juliet@mail.example.com/INBOX;UIDVALIDITY=7/;UID=3", body, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_tcp_and_tls_the_sip_body_goes_whole()
    {
        var text = new string('é', 1024);
        var body = Encoding.UTF8.GetString(SipAlertChannel.Body(Alert(text: text), cut: false));
        Assert.Equal(text + "\r\nimap://juliet@mail.example.com/INBOX;UIDVALIDITY=7/;UID=3", body);
    }

    [Theory]
    [InlineData(200, DeliveryResult.Delivered)]
    [InlineData(202, DeliveryResult.Delivered)]
    [InlineData(404, DeliveryResult.Permanent)]
    [InlineData(403, DeliveryResult.Permanent)]
    [InlineData(408, DeliveryResult.Temporary)]
    [InlineData(503, DeliveryResult.Temporary)]
    [InlineData(603, DeliveryResult.Permanent)]
    public async Task A_message_goes_to_the_target_and_its_answer_decides(int status, DeliveryResult expected)
    {
        using var ua = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var port = ((IPEndPoint)ua.Client.LocalEndPoint!).Port;
        var options = Microsoft.Extensions.Options.Options.Create(new AlertOptions());
        await using var channel = new SipAlertChannel(options, TimeProvider.System, NullLoggerFactory.Instance);
        Assert.True(AlertTarget.TryParse($"sip:juliet@127.0.0.1:{port}", out var target, out _));
        var sending = channel.SendAsync(Alert(AlertImportance.High), target, CancellationToken.None).AsTask();

        var received = await ua.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(30));
        var request = (SipRequest)SipMessageParser.ParseDatagram(received.Buffer);
        Assert.Equal("MESSAGE", request.Method);
        Assert.Equal($"sip:juliet@127.0.0.1:{port}", request.RequestUri.ToString());
        Assert.Equal("text/plain;charset=UTF-8", request.ContentType);
        Assert.Equal("urgent", request.Headers.GetFirstValue("Priority"));
        Assert.StartsWith("Mail from Romeo\r\nimap://", Encoding.UTF8.GetString(request.Body.Span), StringComparison.Ordinal);
        var response = SipResponse.CreateFor(request, status, toTag: "ua1");
        var bytes = SipMessageWriter.ToBytes(response);
        await ua.SendAsync(bytes, received.RemoteEndPoint);

        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(expected, outcome.Result);
        Assert.Contains($"SIP {status}", outcome.Reason, StringComparison.Ordinal);
    }
}
