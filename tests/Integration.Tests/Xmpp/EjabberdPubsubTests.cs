using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>The Prosody pubsub scenario against a real ejabberd 23.01 (ejabberd_service listener).</summary>
public class EjabberdPubsubTests : IClassFixture<EjabberdServer>
{
    private readonly EjabberdServer _ejabberd;

    public EjabberdPubsubTests(EjabberdServer ejabberd) => _ejabberd = ejabberd;

    private Task<SlixmppClient> RomeoAsync() =>
        SlixmppClient.ConnectAsync("romeo@example.net", ProsodyServer.Users["romeo@example.net"], _ejabberd.C2sPort);

    [Fact]
    public async Task Browse_subscribe_notify_and_keep_delivering_across_ejabberd_and_pna_restarts()
    {
        var data = RequiredPeer.TempDirectory("pna-xmpp");
        var pna = await PnaXmppHost.StartAsync(data, _ejabberd.ComponentPort, EjabberdServer.Secret);
        try
        {
            await PubsubScenario.SeedAsync(pna);
            await using (var romeo = await RomeoAsync())
            {
                await PubsubScenario.BrowseAndSubscribeAsync(romeo);
                await PubsubScenario.DeliversAsync(pna, romeo, 2);
            }

            await _ejabberd.StopAsync();
            await _ejabberd.StartAsync();
            await pna.WaitConnectedAsync();
            await using (var romeo = await RomeoAsync())
            {
                await PubsubScenario.DeliversAsync(pna, romeo, 3);
            }

            await pna.DisposeAsync();
            pna = await PnaXmppHost.StartAsync(data, _ejabberd.ComponentPort, EjabberdServer.Secret);
            await using (var romeo = await RomeoAsync())
            {
                await PubsubScenario.DeliversAsync(pna, romeo, 4);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nejabberd log:\n" + _ejabberd.Log(), ex);
        }
        finally
        {
            await pna.DisposeAsync();
        }
    }
}
