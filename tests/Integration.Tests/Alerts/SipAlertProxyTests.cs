using System.Net;
using System.Net.Sockets;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Integration.Tests.Alerts;

/// <summary>
/// The PNA's SIP alert sender through a real Kamailio (Configs/kamailio/kamailio-alerts.cfg):
/// MESSAGE over TCP to the proxy, its 407 answered with the configured digest credentials, relayed
/// over UDP to a raw user agent whose 200 comes back the same way.
/// </summary>
public sealed class SipAlertProxyTests
{
    private const string Realm = "example.com";
    private const string User = "alerts";
    private const string Password = "proxy-secret-42";

    private static AlertRecord Alert() => new() { Id = 1, Source = "sieve", Target = "x", Text = "Mail from Romeo", Importance = AlertImportance.High };

    private static SipAlertChannel Channel(int proxyPort, string password) =>
        new(Microsoft.Extensions.Options.Options.Create(new AlertOptions
        {
            Sip = new AlertSipOptions
            {
                OutboundProxy = $"sip:127.0.0.1:{proxyPort};transport=tcp",
                From = "sip:alerts@example.com",
                Credentials = [new AlertSipCredential { Realm = Realm, Username = User, Password = password }],
            },
        }), TimeProvider.System, NullLoggerFactory.Instance);

    [Fact]
    public async Task A_message_through_kamailio_over_tcp_answers_its_407_and_reaches_the_phone()
    {
        await using var kamailio = await KamailioProxy.StartForAlertsAsync(Realm, User, Password);
        using var phone = new UdpClient(new IPEndPoint(IPAddress.Loopback, 0));
        var phonePort = ((IPEndPoint)phone.Client.LocalEndPoint!).Port;
        await using var channel = Channel(kamailio.Port, Password);
        Assert.True(AlertTarget.TryParse($"sip:juliet@127.0.0.1:{phonePort}", out var target, out _));
        try
        {
            var sending = channel.SendAsync(Alert(), target, CancellationToken.None).AsTask();
            var received = await phone.ReceiveAsync().WaitAsync(TimeSpan.FromSeconds(30));
            var message = (SipRequest)SipMessageParser.ParseDatagram(received.Buffer);
            Assert.Equal("MESSAGE", message.Method);
            Assert.Equal("urgent", message.Headers.GetFirstValue("Priority"));
            Assert.Null(message.Headers.GetFirstValue(SipHeaderNames.ProxyAuthorization)); // consumed by the proxy
            Assert.Equal(2, message.Via.Count); // the proxy's and the sender's (TCP)
            Assert.Equal("TCP", message.Via[1].Transport);
            await phone.SendAsync(SipMessageWriter.ToBytes(SipResponse.CreateFor(message, 200, toTag: "phone")), received.RemoteEndPoint);

            var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(outcome.Result == DeliveryResult.Delivered, outcome.Reason);
            Assert.Contains($"tcp 127.0.0.1:{kamailio.Port}", outcome.Reason, StringComparison.Ordinal);
            Assert.Contains("MESSAGE sip:juliet@127.0.0.1", kamailio.Log, StringComparison.Ordinal);
            Assert.Contains("from tcp:127.0.0.1", kamailio.Log, StringComparison.Ordinal);
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nKamailio log:\n" + kamailio.Log, ex);
        }
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_for_good_with_the_proxys_answer()
    {
        await using var kamailio = await KamailioProxy.StartForAlertsAsync(Realm, User, Password);
        await using var channel = Channel(kamailio.Port, "not-the-password");
        Assert.True(AlertTarget.TryParse("sip:juliet@127.0.0.1:9", out var target, out _));
        var outcome = await channel.SendAsync(Alert(), target, CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(60));
        Assert.True(outcome.Result == DeliveryResult.Permanent, outcome.Reason + "\nKamailio log:\n" + kamailio.Log);
        Assert.Contains("SIP 407", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains("the credentials for realm example.com were refused", outcome.Reason, StringComparison.Ordinal);
    }
}
