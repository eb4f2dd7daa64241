using Aggregators.Integration.Tests.Peers;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>Prosody restarted under a connected component: it must come back by itself.</summary>
public class ProsodyRestartTests : IClassFixture<ProsodyServer>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private readonly ProsodyServer _prosody;

    public ProsodyRestartTests(ProsodyServer prosody) => _prosody = prosody;

    [Fact]
    public async Task The_component_reconnects_after_a_server_restart_and_delivery_works_again()
    {
        await using var component = new XmppComponent(_prosody.ComponentOptions("restart.example.com"), (_, _) => ValueTask.CompletedTask);
        var states = new ComponentStates(component);
        component.Start();
        await states.WaitForAsync(e => e.State == ComponentState.Connected, Wait);
        await DeliverAsync(component, "before restart");

        await _prosody.StopAsync();
        var lost = await states.WaitForAsync(e => e.State == ComponentState.Disconnected, Wait);
        Assert.False(component.IsConnected);
        Assert.Throws<ComponentNotConnectedException>(() =>
            component.SendAsync(Note("lost"), CancellationToken.None).AsTask().GetAwaiter().GetResult());

        await _prosody.StartAsync();
        var back = await states.WaitForAsync(e => e.State == ComponentState.Connected, Wait);
        Assert.Contains("restart.example.com", back.Reason, StringComparison.Ordinal);
        Assert.False(string.IsNullOrEmpty(lost.Reason));
        await DeliverAsync(component, "after restart");
    }

    private static Message Note(string body) =>
        new(MessageType.Chat, Jid.Parse("romeo@example.net"), Jid.Parse("restart.example.com")) { Body = body };

    private async Task DeliverAsync(XmppComponent component, string body)
    {
        await using var romeo = await SlixmppClient.ConnectAsync("romeo@example.net", ProsodyServer.Users["romeo@example.net"], _prosody.C2sPort);
        await component.SendAsync(Note(body), CancellationToken.None);
        var received = await romeo.WaitForAsync(e => (string?)e["event"] == "message", Wait);
        Assert.Equal(body, (string?)received["body"]);
        Assert.Equal("restart.example.com", (string?)received["from"]);
    }
}
