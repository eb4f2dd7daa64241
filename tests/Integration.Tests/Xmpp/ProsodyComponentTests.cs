using System.Xml.Linq;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>Our XEP-0114 component against a real Prosody, with slixmpp as the real client.</summary>
public class ProsodyComponentTests : IClassFixture<ProsodyServer>
{
    private static readonly XNamespace Disco = XmppNamespaces.DiscoInfo;
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly ProsodyServer _prosody;

    public ProsodyComponentTests(ProsodyServer prosody) => _prosody = prosody;

    /// <summary>The test's own minimal XEP-0030 responder: disco#info answered, other requests refused.</summary>
    internal static Func<Stanza, CancellationToken, ValueTask> DiscoResponder(Func<XmppComponent> component) => async (stanza, ct) =>
    {
        if (stanza is not Iq { IsRequest: true } iq)
        {
            return;
        }
        if (iq.Type == IqType.Get && iq.Payload?.Name == Disco + "query")
        {
            await component().SendAsync(iq.CreateResult(new XElement(Disco + "query",
                new XElement(Disco + "identity", new XAttribute("category", "pubsub"), new XAttribute("type", "service"), new XAttribute("name", "Mail events")),
                new XElement(Disco + "feature", new XAttribute("var", XmppNamespaces.DiscoInfo)),
                new XElement(Disco + "feature", new XAttribute("var", "http://jabber.org/protocol/pubsub")))), ct);
        }
        else
        {
            await component().SendAsync(iq.CreateError(StanzaError.Of(StanzaErrorCondition.FeatureNotImplemented)), ct);
        }
    };

    [Fact]
    public async Task Component_connects_and_authenticates()
    {
        await using var connection = await ComponentConnection.ConnectAsync(_prosody.ComponentOptions("auth.example.com"), CancellationToken.None);
        Assert.False(string.IsNullOrEmpty(connection.StreamId));
        Assert.Equal("auth.example.com", connection.Domain.ToString());
    }

    [Fact]
    public async Task Wrong_secret_is_a_clear_not_authorized_error()
    {
        var ex = await Assert.ThrowsAsync<ComponentException>(() =>
            ComponentConnection.ConnectAsync(_prosody.ComponentOptions("auth.example.com", "wrong-secret"), CancellationToken.None));
        Assert.Equal(ComponentFailure.NotAuthorized, ex.Failure);
        Assert.Contains("not-authorized", ex.Message, StringComparison.Ordinal);

        // The long-lived component stops on it instead of hammering the server.
        await using var component = new XmppComponent(_prosody.ComponentOptions("auth.example.com", "wrong-secret"), (_, _) => ValueTask.CompletedTask);
        var states = new ComponentStates(component);
        component.Start();
        var stopped = await states.WaitForAsync(e => e.State == ComponentState.Stopped, Wait);
        Assert.Equal(ComponentFailure.NotAuthorized, stopped.Failure);
        await Assert.ThrowsAsync<ComponentException>(() => component.WaitUntilConnectedAsync(CancellationToken.None));
    }

    [Fact]
    public async Task Unknown_domain_is_a_clear_host_unknown_error()
    {
        var ex = await Assert.ThrowsAsync<ComponentException>(() =>
            ComponentConnection.ConnectAsync(_prosody.ComponentOptions("nowhere.example.com"), CancellationToken.None));
        Assert.True(ex.Failure == ComponentFailure.HostUnknown, ex.ToString());
    }

    [Fact]
    public async Task Slixmpp_disco_info_reaches_our_handler_and_gets_its_answer()
    {
        XmppComponent? component = null;
        component = new XmppComponent(_prosody.ComponentOptions("events.example.com"), DiscoResponder(() => component!));
        await using (component)
        {
            component.Start();
            await component.WaitUntilConnectedAsync(new CancellationTokenSource(Wait).Token);
            await using var juliet = await SlixmppClient.ConnectAsync("juliet@example.com", ProsodyServer.Users["juliet@example.com"], _prosody.C2sPort);
            await juliet.SendAsync(new { cmd = "disco_info", to = "events.example.com", tag = "d1" });
            var reply = await juliet.WaitForAsync(e => (string?)e["tag"] == "d1", Wait);
            Assert.True((string?)reply["event"] == "disco_info", reply.ToJsonString());
            Assert.Equal("events.example.com", (string?)reply["from"]);
            Assert.Contains("\"pubsub\",\"service\"", reply["identities"]!.ToJsonString(), StringComparison.Ordinal);
            Assert.Contains("Mail events", reply["identities"]!.ToJsonString(), StringComparison.Ordinal);
            var features = reply["features"]!.AsArray().Select(f => (string?)f).ToList();
            Assert.Contains("http://jabber.org/protocol/pubsub", features);
            Assert.Contains(XmppNamespaces.DiscoInfo, features);
        }
    }

    [Fact]
    public async Task Our_message_reaches_romeo_through_prosody()
    {
        await using var component = new XmppComponent(_prosody.ComponentOptions("events.example.com"), (_, _) => ValueTask.CompletedTask);
        var states = new ComponentStates(component);
        component.Start();
        await component.WaitUntilConnectedAsync(new CancellationTokenSource(Wait).Token);
        await using var romeo = await SlixmppClient.ConnectAsync("romeo@example.net", ProsodyServer.Users["romeo@example.net"], _prosody.C2sPort);
        var message = new Message(MessageType.Headline, Jid.Parse("romeo@example.net"), Jid.Parse("alerts@events.example.com"), "alert-1")
        {
            Body = "Urgent mail from Juliet <3 & more",
        };
        await component.SendAsync(message, CancellationToken.None);
        var received = await romeo.WaitForAsync(e => (string?)e["event"] == "message", Wait);
        Assert.Equal("alerts@events.example.com", (string?)received["from"]);
        Assert.Equal("headline", (string?)received["type"]);
        Assert.Equal("alert-1", (string?)received["id"]);
        Assert.Equal("Urgent mail from Juliet <3 & more", (string?)received["body"]);
    }

    [Fact]
    public async Task A_second_connection_for_the_same_domain_gets_conflict_and_the_component_retries_it()
    {
        await using var first = await ComponentConnection.ConnectAsync(_prosody.ComponentOptions("dup.example.com"), CancellationToken.None);
        var ex = await Assert.ThrowsAsync<ComponentException>(() =>
            ComponentConnection.ConnectAsync(_prosody.ComponentOptions("dup.example.com"), CancellationToken.None));
        Assert.Equal(ComponentFailure.Conflict, ex.Failure);
        Assert.Contains("conflict", ex.Message, StringComparison.Ordinal);

        // The reconnecting component treats it as "an old connection of ours is still
        // registered": it backs off and retries, and gets in once the first one is gone.
        await using var component = new XmppComponent(_prosody.ComponentOptions("dup.example.com"), (_, _) => ValueTask.CompletedTask);
        var states = new ComponentStates(component);
        component.Start();
        var refused = await states.WaitForAsync(e => e.State == ComponentState.Disconnected, Wait);
        Assert.Equal(ComponentFailure.Conflict, refused.Failure);
        Assert.NotNull(refused.RetryDelay);
        await first.DisposeAsync();
        await states.WaitForAsync(e => e.State == ComponentState.Connected, Wait);
    }
}
