using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Client;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using System.Threading.Channels;

namespace Aggregators.Xmpp.Tests.Client;

/// <summary>The client against a scripted server speaking the RFC 6120 examples (§9.1-§9.3), minus TLS.</summary>
public sealed class XmppClientConnectionTests : IDisposable
{
    private const string ServerHeader = "<?xml version='1.0'?><stream:stream from='example.com' id='t7AMCin9zjMNwQKDnplntZPIDEI=' to='juliet@example.com' version='1.0' xml:lang='en' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    private const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly Channel<Stanza> _received = Channel.CreateUnbounded<Stanza>();

    public XmppClientConnectionTests() => _listener.Start();

    private int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    private XmppClientOptions Options(ClientTlsMode tls = ClientTlsMode.WhenOffered, bool allowPlain = true) => new()
    {
        Jid = "juliet@example.com",
        Password = "r0m30myr0m30",
        Host = "127.0.0.1",
        Port = Port,
        Resource = "balcony",
        Tls = tls,
        AllowPlainWithoutTls = allowPlain,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        IqTimeout = TimeSpan.FromSeconds(5),
    };

    private Task<XmppClientConnection> ConnectAsync(XmppClientOptions options) =>
        XmppClientConnection.ConnectAsync(options, (s, _) => _received.Writer.WriteAsync(s), CancellationToken.None);

    private async Task<FakePeer> AcceptAsync() => new(await _listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10)));

    /// <summary>Server side of PLAIN, restart, bind (RFC 6120 §9.2.3 and §7.6).</summary>
    private static async Task ServePlainSessionAsync(FakePeer peer, string features = "<mechanisms xmlns='" + Sasl + "'><mechanism>PLAIN</mechanism></mechanisms>")
    {
        var header = await peer.ReadUntilAsync("xml:lang='en'>");
        Assert.Contains("to='example.com'", header, StringComparison.Ordinal);
        Assert.Contains("version='1.0'", header, StringComparison.Ordinal);
        await peer.SendAsync(ServerHeader + "<stream:features>" + features + "</stream:features>");
        var auth = await peer.ReadUntilAsync("</auth>");
        Assert.Contains("mechanism='PLAIN'", auth, StringComparison.Ordinal);
        Assert.Contains(Convert.ToBase64String(Encoding.UTF8.GetBytes("\0juliet\0r0m30myr0m30")), auth, StringComparison.Ordinal);
        await peer.SendAsync($"<success xmlns='{Sasl}'/>");
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        var bind = await peer.ReadUntilAsync("</iq>");
        Assert.Contains("<resource>balcony</resource>", bind, StringComparison.Ordinal);
        await peer.SendAsync("<iq id='bind1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/balcony</jid></bind></iq>");
    }

    [Fact]
    public async Task Negotiates_plain_and_bind_then_correlates_iqs_and_delivers_messages()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await ServePlainSessionAsync(peer);
        await using var client = await connecting;
        Assert.Equal("juliet@example.com/balcony", client.BoundJid.ToString());
        Assert.Equal("PLAIN", client.Mechanism);
        Assert.False(client.IsEncrypted);

        // iq correlation: a response from another sender does not count (RFC 6120 §8.1.2.1).
        var iq = client.CreateIq(IqType.Get, Jid.Parse("pubsub.example.com"), new XElement(XName.Get("query", "http://jabber.org/protocol/disco#info")));
        var pending = client.IqAsync(iq, CancellationToken.None);
        var sent = await peer.ReadUntilAsync("</iq>");
        Assert.Contains($"id='{iq.Id}'", sent, StringComparison.Ordinal);
        await peer.SendAsync($"<iq from='evil.example.com' id='{iq.Id}' type='result'/>");
        await peer.SendAsync($"<message from='pubsub.example.com' to='juliet@example.com/balcony' type='headline'><body>hi</body></message>");
        await peer.SendAsync($"<iq from='pubsub.example.com' id='{iq.Id}' type='result'><query xmlns='http://jabber.org/protocol/disco#info'/></iq>");
        var result = await pending;
        Assert.Equal("pubsub.example.com", result.From!.ToString());
        var message = Assert.IsType<Message>(await _received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        Assert.Equal("hi", message.Body);

        // An error response throws with the condition.
        var failing = client.IqAsync(client.CreateIq(IqType.Set, Jid.Parse("pubsub.example.com"), new XElement("x")), CancellationToken.None);
        var second = await peer.ReadUntilAsync("</iq>");
        var id = XElement.Parse(second).Attribute("id")!.Value;
        await peer.SendAsync($"<iq from='pubsub.example.com' id='{id}' type='error'><error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>");
        var error = await Assert.ThrowsAsync<XmppIqErrorException>(() => failing);
        Assert.Equal(StanzaErrorCondition.ItemNotFound, error.Error!.Condition);

        // XEP-0199 ping from the server is answered; another request gets service-unavailable (RFC 6120 §8.4).
        await peer.SendAsync("<iq from='example.com' id='p1' type='get'><ping xmlns='urn:xmpp:ping'/></iq>");
        Assert.Contains("type='result'", await peer.ReadUntilAsync("/>"), StringComparison.Ordinal);
        await peer.SendAsync("<iq from='example.com' id='v1' type='get'><query xmlns='jabber:iq:version'/></iq>");
        Assert.Contains("service-unavailable", await peer.ReadUntilAsync("</iq>"), StringComparison.Ordinal);

        // Clean close: our closing tag, the server's, Completion succeeds.
        var closing = client.CloseAsync();
        await peer.ReadUntilAsync("</stream:stream>");
        await peer.SendAsync("</stream:stream>");
        await closing;
        Assert.True(client.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task Scram_sha1_is_preferred_and_the_server_signature_checked()
    {
        var connecting = ConnectAsync(Options(allowPlain: false));
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + $"<stream:features><mechanisms xmlns='{Sasl}'><mechanism>PLAIN</mechanism><mechanism>SCRAM-SHA-1</mechanism></mechanisms></stream:features>");
        var auth = await peer.ReadUntilAsync("</auth>");
        Assert.Contains("mechanism='SCRAM-SHA-1'", auth, StringComparison.Ordinal);
        var first = Encoding.UTF8.GetString(Convert.FromBase64String(XElement.Parse(auth).Value));
        var nonce = first[(first.IndexOf("r=", StringComparison.Ordinal) + 2)..];
        await peer.SendAsync($"<challenge xmlns='{Sasl}'>{Convert.ToBase64String(Encoding.UTF8.GetBytes($"r={nonce}srv,s=QSXCR+Q6sek8bf92,i=4096"))}</challenge>");
        await peer.ReadUntilAsync("</response>");
        // A made-up server signature: the client must not trust this server.
        await peer.SendAsync($"<success xmlns='{Sasl}'>{Convert.ToBase64String("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="u8.ToArray())}</success>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.AuthenticationFailed, ex.Failure);
        Assert.Contains("does not verify", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sasl_failure_reports_the_condition()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + $"<stream:features><mechanisms xmlns='{Sasl}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        await peer.ReadUntilAsync("</auth>");
        await peer.SendAsync($"<failure xmlns='{Sasl}'><not-authorized/><text xml:lang='en'>Unable to authorize you</text></failure>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.AuthenticationFailed, ex.Failure);
        Assert.Equal("not-authorized", ex.Condition);
        Assert.Contains("Unable to authorize you", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Plain_without_tls_is_refused_unless_allowed()
    {
        var connecting = ConnectAsync(Options(allowPlain: false));
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + $"<stream:features><mechanisms xmlns='{Sasl}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.NoMechanism, ex.Failure);
        Assert.Contains("PLAIN only over TLS", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Required_tls_not_offered_fails_before_authenticating()
    {
        var connecting = ConnectAsync(Options(ClientTlsMode.Required));
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + $"<stream:features><mechanisms xmlns='{Sasl}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.TlsFailed, ex.Failure);
        Assert.DoesNotContain("<auth", await peer.ReadToEndAsync(5), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starttls_refused_by_the_server_fails_with_tls_failed()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
        await peer.ReadUntilAsync("/>");
        await peer.SendAsync("<failure xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:stream>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.TlsFailed, ex.Failure);
    }

    [Fact]
    public async Task A_stream_error_ends_the_session_and_fails_pending_iqs()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await ServePlainSessionAsync(peer);
        await using var client = await connecting;
        var pending = client.IqAsync(client.CreateIq(IqType.Get, null, new XElement(XName.Get("ping", "urn:xmpp:ping"))), CancellationToken.None);
        await peer.ReadUntilAsync("</iq>");
        await peer.SendAsync("<stream:error><system-shutdown xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
        var ex = await Assert.ThrowsAsync<XmppStreamException>(() => pending);
        Assert.Equal(StreamErrorCondition.SystemShutdown, ex.Error!.Condition);
        await Assert.ThrowsAsync<XmppStreamException>(() => client.Completion);
    }

    [Fact]
    public async Task Hostile_input_during_negotiation_is_a_protocol_error()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync("<?xml version='1.0'?><!DOCTYPE x [<!ENTITY a 'aaaa'>]><stream:stream xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.ProtocolError, ex.Failure);
    }

    [Fact]
    public async Task A_server_that_binds_another_account_is_refused()
    {
        var connecting = ConnectAsync(Options());
        using var peer = await AcceptAsync();
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + $"<stream:features><mechanisms xmlns='{Sasl}'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        await peer.ReadUntilAsync("</auth>");
        await peer.SendAsync($"<success xmlns='{Sasl}'/>");
        await peer.ReadUntilAsync("xml:lang='en'>");
        await peer.SendAsync(ServerHeader + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        await peer.ReadUntilAsync("</iq>");
        await peer.SendAsync("<iq id='bind1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>romeo@example.net/x</jid></bind></iq>");
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.BindFailed, ex.Failure);
    }

    public void Dispose() => _listener.Stop();
}
