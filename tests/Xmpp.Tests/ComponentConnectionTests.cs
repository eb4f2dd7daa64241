using System.Xml.Linq;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Tests;

public class ComponentConnectionTests
{
    private static readonly XNamespace Accept = XmppNamespaces.ComponentAccept;

    [Fact]
    public void Handshake_value_matches_the_XEP_0114_example()
    {
        // XEP-0114 §3, Example 3: stream id 3BF96D32, secret "test".
        Assert.Equal("aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e", ComponentHandshake.Compute("3BF96D32", "test"));
    }

    private static async Task<(ComponentConnection Connection, FakePeer Peer)> ConnectAsync(FakeComponentServer server, ComponentOptions? options = null)
    {
        var connect = ComponentConnection.ConnectAsync(options ?? server.Options("test"), CancellationToken.None);
        var peer = await server.AcceptAsync();
        var handshake = await peer.HandshakeAsync();
        Assert.Equal("aaee83c26aeeafcbabeabfcbcd50df997e0a2a1e", handshake);
        return (await connect, peer);
    }

    [Fact]
    public async Task Connects_and_authenticates()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server);
        await using (connection)
        using (peer)
        {
            Assert.Equal(FakePeer.Id, connection.StreamId);
            Assert.Equal("events.example.com", connection.Domain.ToString());
        }
    }

    [Theory]
    [InlineData("not-authorized", ComponentFailure.NotAuthorized)]
    [InlineData("host-unknown", ComponentFailure.HostUnknown)]
    [InlineData("conflict", ComponentFailure.Conflict)]
    [InlineData("system-shutdown", ComponentFailure.ProtocolError)]
    public async Task Server_refusals_become_clear_errors(string condition, ComponentFailure expected)
    {
        using var server = new FakeComponentServer();
        var connect = ComponentConnection.ConnectAsync(server.Options(), CancellationToken.None);
        using var peer = await server.AcceptAsync();
        await peer.HandshakeAsync(FakePeer.StreamError(condition, "because"));
        var ex = await Assert.ThrowsAsync<ComponentException>(() => connect);
        Assert.Equal(expected, ex.Failure);
        Assert.Contains(condition, ex.Message, StringComparison.Ordinal);
        Assert.Contains("because", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silent_server_is_a_timeout()
    {
        using var server = new FakeComponentServer();
        var connect = ComponentConnection.ConnectAsync(server.Options() with { ConnectTimeout = TimeSpan.FromMilliseconds(300) }, CancellationToken.None);
        using var peer = await server.AcceptAsync();
        var ex = await Assert.ThrowsAsync<ComponentException>(() => connect.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(ComponentFailure.Timeout, ex.Failure);
    }

    [Fact]
    public async Task A_refused_port_is_a_connection_failure()
    {
        int port;
        using (var server = new FakeComponentServer())
        {
            port = server.Port;
        }
        var options = new ComponentOptions { Host = "127.0.0.1", Port = port, Domain = "events.example.com", Secret = "x" };
        var ex = await Assert.ThrowsAsync<ComponentException>(() => ComponentConnection.ConnectAsync(options, CancellationToken.None));
        Assert.Equal(ComponentFailure.ConnectionFailed, ex.Failure);
    }

    [Fact]
    public async Task Outgoing_stanzas_must_be_from_the_component_domain_and_addressed()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server);
        await using (connection)
        using (peer)
        {
            var foreign = new Message(MessageType.Normal, Jid.Parse("romeo@example.net"), Jid.Parse("example.com"));
            Assert.Contains("invalid-from", Assert.Throws<ArgumentException>(() => connection.TrySend(foreign)).Message, StringComparison.Ordinal);
            var unaddressed = new Message(MessageType.Normal, null, Jid.Parse("events.example.com"));
            Assert.Throws<ArgumentException>(() => connection.TrySend(unaddressed));
            var ok = new Message(MessageType.Normal, Jid.Parse("romeo@example.net"), Jid.Parse("alerts@events.example.com/x")) { Body = "hi" };
            await connection.SendAsync(ok, CancellationToken.None);
            Assert.Contains("<message to='romeo@example.net' from='alerts@events.example.com/x'><body>hi</body></message>",
                await peer.ReadUntilAsync("</message>"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Stanzas_reach_the_handler_and_a_failing_handler_answers_internal_server_error()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server);
        await using (connection)
        using (peer)
        {
            var run = connection.RunAsync(async (stanza, ct) =>
            {
                if (stanza is Iq { IsRequest: true } iq)
                {
                    if (iq.Id == "boom")
                    {
                        throw new InvalidOperationException("handler bug");
                    }
                    await connection.SendAsync(iq.CreateResult(new XElement(XName.Get("query", XmppNamespaces.DiscoInfo))), ct);
                }
            }, CancellationToken.None);
            await peer.SendAsync(" <iq type='get' id='q1' from='romeo@example.net/orchard' to='events.example.com' xml:lang='en'><query xmlns='http://jabber.org/protocol/disco#info'/></iq> ");
            Assert.Contains("<iq to='romeo@example.net/orchard' from='events.example.com' id='q1' type='result'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>",
                await peer.ReadUntilAsync("</iq>"), StringComparison.Ordinal);
            await peer.SendAsync("<iq type='set' id='boom' from='romeo@example.net/orchard' to='events.example.com'><x xmlns='urn:x'/></iq>");
            var error = await peer.ReadUntilAsync("</iq>");
            Assert.Contains("id='boom'", error, StringComparison.Ordinal);
            Assert.Contains("<internal-server-error", error, StringComparison.Ordinal);
            // A malformed iq (no payload) is answered with bad-request and the stream goes on.
            await peer.SendAsync("<iq type='get' id='bad' from='romeo@example.net/orchard' to='events.example.com'/>");
            Assert.Contains("<bad-request", await peer.ReadUntilAsync("</iq>"), StringComparison.Ordinal);
            Assert.False(run.IsCompleted);
            await peer.SendAsync("</stream:stream>");
            var ex = await Assert.ThrowsAsync<XmppStreamException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Contains("closed the stream", ex.Message, StringComparison.Ordinal);
            Assert.EndsWith("</stream:stream>", await peer.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }

    public static TheoryData<string, string> HostileServerInput => new()
    {
        { "<message><!-- x --></message>", "restricted-xml" },
        { "<message>" + string.Concat(Enumerable.Repeat("<a>", 100)), "policy-violation" },
        { "<message></iq>", "not-well-formed" },
        { "<features xmlns='urn:x'/>", "unsupported-stanza-type" },
    };

    [Theory]
    [MemberData(nameof(HostileServerInput))]
    public async Task Hostile_input_gets_a_stream_error_and_the_connection_closes(string input, string condition)
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server);
        await using (connection)
        using (peer)
        {
            var run = connection.RunAsync((_, _) => ValueTask.CompletedTask, CancellationToken.None);
            // The parser may need a few bytes of lookahead to see the fault (a mismatched end
            // tag shorter than the start tag): a live server always sends more (keepalives).
            await peer.SendAsync(input + "                ");
            var ex = await Assert.ThrowsAsync<XmppStreamException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(condition, ex.Error!.ConditionName);
            var rest = await peer.ReadToEndAsync();
            Assert.Contains($"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>", rest, StringComparison.Ordinal);
            Assert.EndsWith("</stream:stream>", rest, StringComparison.Ordinal);
            Assert.True(peer.Closed);
        }
    }

    [Fact]
    public async Task Idle_connections_send_whitespace_keepalives()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server, server.Options("test") with { KeepaliveInterval = TimeSpan.FromMilliseconds(100) });
        await using (connection)
        using (peer)
        {
            var run = connection.RunAsync((_, _) => ValueTask.CompletedTask, CancellationToken.None);
            Assert.Equal(" ", await peer.ReadUntilAsync(" "));
            Assert.Equal(" ", await peer.ReadUntilAsync(" "));
            Assert.False(run.IsCompleted);
        }
    }

    [Fact]
    public async Task A_server_that_sends_nothing_is_declared_dead()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server, server.Options("test") with { ReceiveTimeout = TimeSpan.FromMilliseconds(300) });
        await using (connection)
        using (peer)
        {
            var run = connection.RunAsync((_, _) => ValueTask.CompletedTask, CancellationToken.None);
            var ex = await Assert.ThrowsAsync<XmppStreamException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.Equal(StreamErrorCondition.ConnectionTimeout, ex.Error!.Condition);
            Assert.Contains("<connection-timeout", await peer.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Keepalives_from_the_server_keep_the_connection_alive()
    {
        using var server = new FakeComponentServer();
        // Keepalives every 250 ms for 2.5 s against a 1.5 s receive timeout: without them the
        // connection would be declared dead, and scheduling jitter on a loaded machine has a
        // full second of slack before it could fail the test.
        var (connection, peer) = await ConnectAsync(server, server.Options("test") with { ReceiveTimeout = TimeSpan.FromMilliseconds(1500) });
        await using (connection)
        using (peer)
        {
            var run = connection.RunAsync((_, _) => ValueTask.CompletedTask, CancellationToken.None);
            for (var i = 0; i < 10; i++)
            {
                await Task.Delay(250); // the server's keepalive cadence, not synchronisation
                await peer.SendAsync(" ");
            }
            Assert.False(run.IsCompleted);
        }
    }

    [Fact]
    public async Task Cancelling_run_closes_the_stream_politely()
    {
        using var server = new FakeComponentServer();
        var (connection, peer) = await ConnectAsync(server);
        await using (connection)
        using (peer)
        {
            using var cts = new CancellationTokenSource();
            var run = connection.RunAsync((_, _) => ValueTask.CompletedTask, cts.Token);
            await cts.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run.WaitAsync(TimeSpan.FromSeconds(10)));
            Assert.EndsWith("</stream:stream>", await peer.ReadToEndAsync(), StringComparison.Ordinal);
        }
    }
}
