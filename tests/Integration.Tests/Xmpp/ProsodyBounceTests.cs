using Aggregators.EventModel.Bodies;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>
/// A notification that bounces because the subscriber is gone ends the subscription
/// (docs/xmpp.md, "Bounces"), through a real Prosody: with Pna:Xmpp:NotificationType=normal,
/// Prosody answers a message to a deleted account with service-unavailable (RFC 6121 §8.5.2.1.1;
/// headlines it drops silently).
/// </summary>
public class ProsodyBounceTests : IClassFixture<ProsodyServer>
{
    private const string Mercutio = "mercutio@example.net";
    private readonly ProsodyServer _prosody;

    public ProsodyBounceTests(ProsodyServer prosody) => _prosody = prosody;

    [Fact]
    public async Task A_normal_notification_to_a_deleted_account_bounces_and_ends_the_subscription()
    {
        await _prosody.RegisterAsync("mercutio", "example.net", "mercutio-pw");
        var data = RequiredPeer.TempDirectory("pna-xmpp-bounce");
        var pna = await PnaXmppHost.StartAsync(data, _prosody.ComponentPort, ProsodyServer.Secret, extra: new Dictionary<string, string>
        {
            ["Pna:Authorization:Grants:1:Subscriber"] = "xmpp:" + Mercutio,
            ["Pna:Authorization:Grants:1:Account"] = "juliet@example.com",
            ["Pna:Xmpp:NotificationType"] = "normal",
        });
        var manager = pna.App.Services.GetRequiredService<SubscriptionManager>();
        bool Subscribed() => manager.Snapshot().Any(s => s.Subscriber == "xmpp:" + Mercutio);
        try
        {
            await PubsubScenario.SeedAsync(pna);
            await using (var mercutio = await SlixmppClient.ConnectAsync(Mercutio, "mercutio-pw", _prosody.C2sPort))
            {
                var subscribed = await PubsubScenario.ResultAsync(mercutio, "set", "juliet@events.example.com",
                    PubsubScenario.Subscribe("mail_events/INBOX", Mercutio, "1", "MessageNew"));
                Assert.Contains("subscription='subscribed'", subscribed.ToString().Replace('"', '\''), StringComparison.Ordinal);
                var (_, initial) = await PubsubScenario.NextNotificationAsync(mercutio);
                Assert.Equal(XmppPayloadKind.Initial, initial.Kind);

                await pna.MessageNewAsync("juliet@example.com", "INBOX", 4, 2, 5);
                var e = await mercutio.WaitForAsync(e => (string?)e["event"] == "pubsub", PubsubScenario.Wait);
                Assert.Equal("normal", (string?)e["type"]);
            }
            Assert.True(Subscribed());

            // The account goes away; the next notification comes back as an error and ends the subscription.
            await _prosody.DeleteUserAsync(Mercutio);
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 5, 3, 6);
            var deadline = DateTime.UtcNow + PubsubScenario.Wait;
            while (Subscribed())
            {
                Assert.True(DateTime.UtcNow < deadline, "the subscription of the deleted account was not ended");
                await Task.Delay(50);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nProsody log:\n" + _prosody.Log(), ex);
        }
        finally
        {
            await pna.DisposeAsync();
        }
    }
}
