using System.Xml.Linq;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Client;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>Our c2s client (src/Xmpp/Client) against real Prosody 0.12 (no TLS configured: c2s_require_encryption = false).</summary>
public sealed class ProsodyClientTests(ProsodyServer prosody) : IClassFixture<ProsodyServer>
{
    private XmppClientOptions Options(string password = "juliet-pw", IReadOnlyList<string>? mechanisms = null) => new()
    {
        Jid = "juliet@example.com",
        Password = password,
        Host = "127.0.0.1",
        Port = prosody.C2sPort,
        Tls = ClientTlsMode.WhenOffered,
        AllowPlainWithoutTls = true,
        Mechanisms = mechanisms ?? [ScramSha1.MechanismName, SaslPlain.MechanismName],
        ConnectTimeout = TimeSpan.FromSeconds(20),
    };

    [Theory]
    [InlineData(ScramSha1.MechanismName)]
    [InlineData(SaslPlain.MechanismName)]
    public async Task Logs_in_binds_pings_the_server_and_closes_cleanly(string mechanism)
    {
        await using var client = await XmppClientConnection.ConnectAsync(Options(mechanisms: [mechanism]), (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        Assert.Equal(mechanism, client.Mechanism);
        Assert.Equal("juliet@example.com", client.BoundJid.Bare.ToString());
        Assert.False(client.BoundJid.IsBare);
        // XEP-0199 ping to the server, and XEP-0030 disco#info of the server (Prosody serves both).
        var pong = await client.IqAsync(client.CreateIq(IqType.Get, Jid.Parse("example.com"), new XElement(XName.Get("ping", ClientNamespaces.Ping))), CancellationToken.None);
        Assert.Equal(IqType.Result, pong.Type);
        var info = await client.IqAsync(client.CreateIq(IqType.Get, Jid.Parse("example.com"), new XElement(XName.Get("query", XmppNamespaces.DiscoInfo))), CancellationToken.None);
        Assert.Contains(info.Payload!.Elements(), e => e.Name.LocalName == "identity");
        await client.CloseAsync();
        Assert.True(client.Completion.IsCompletedSuccessfully, "the server answered our closing tag");
    }

    [Fact]
    public async Task A_wrong_password_is_not_authorized()
    {
        var ex = await Assert.ThrowsAsync<XmppClientException>(() =>
            XmppClientConnection.ConnectAsync(Options("wrong"), (_, _) => ValueTask.CompletedTask, CancellationToken.None));
        Assert.Equal(ClientFailure.AuthenticationFailed, ex.Failure);
        Assert.Equal("not-authorized", ex.Condition);
    }

    [Fact]
    public async Task Messages_between_two_sessions_reach_the_handler()
    {
        var received = new TaskCompletionSource<Message>(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var juliet = await XmppClientConnection.ConnectAsync(Options(), (s, _) =>
        {
            if (s is Message m)
            {
                received.TrySetResult(m);
            }
            return ValueTask.CompletedTask;
        }, CancellationToken.None);
        // Initial presence to the server (RFC 6121 §4.2.1): the session becomes available for chat.
        await juliet.SendAsync(new Presence(null, null, null, null, ClientNamespaces.Client), CancellationToken.None);
        await using var romeo = await XmppClientConnection.ConnectAsync(Options() with { Jid = "romeo@example.net", Password = "romeo-pw" },
            (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        var message = new Message(MessageType.Chat, juliet.BoundJid, null, "m1", ClientNamespaces.Client) { Body = "wherefore art thou" };
        await romeo.SendAsync(message, CancellationToken.None);
        var got = await received.Task.WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal("wherefore art thou", got.Body);
        Assert.Equal("romeo@example.net", got.From!.Bare.ToString());
    }
}
