using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>
/// The PNA's pubsub service through a real Prosody: slixmpp romeo@example.net browses juliet's
/// nodes, subscribes with options, gets notifications; survives Prosody and PNA restarts.
/// </summary>
public class ProsodyPubsubTests : IClassFixture<ProsodyServer>
{
    private readonly ProsodyServer _prosody;

    public ProsodyPubsubTests(ProsodyServer prosody) => _prosody = prosody;

    private Task<SlixmppClient> RomeoAsync() =>
        SlixmppClient.ConnectAsync("romeo@example.net", ProsodyServer.Users["romeo@example.net"], _prosody.C2sPort);

    [Fact]
    public async Task Browse_subscribe_notify_and_keep_delivering_across_prosody_and_pna_restarts()
    {
        var data = RequiredPeer.TempDirectory("pna-xmpp");
        var pna = await PnaXmppHost.StartAsync(data, _prosody.ComponentPort, ProsodyServer.Secret);
        try
        {
            await PubsubScenario.SeedAsync(pna);
            long seq;
            await using (var romeo = await RomeoAsync())
            {
                await PubsubScenario.BrowseAndSubscribeAsync(romeo);
                seq = await PubsubScenario.DeliversAsync(pna, romeo, 2);
            }

            await _prosody.StopAsync();
            await _prosody.StartAsync();
            await pna.WaitConnectedAsync();
            await using (var romeo = await RomeoAsync())
            {
                seq = await PubsubScenario.DeliversAsync(pna, romeo, 3);
            }

            await pna.DisposeAsync();
            pna = await PnaXmppHost.StartAsync(data, _prosody.ComponentPort, ProsodyServer.Secret);
            await using (var romeo = await RomeoAsync())
            {
                // The subscriber never sees seq go back, even though the new PNA process numbers from 1.
                var after = await PubsubScenario.DeliversAsync(pna, romeo, 4);
                Assert.True(after > seq, $"seq {after} after the PNA restart is not above {seq}");
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
