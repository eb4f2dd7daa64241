using System.Net;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;
using Aggregators.Tests.Shared;

using static Aggregators.Sip.Tests.TransportTestKit;

namespace Aggregators.Sip.Tests;

/// <summary>
/// <see cref="SipStreamTransport"/>'s outgoing side: connect-only mode (no listener) and TLS
/// connections keyed by the server name the certificate was checked against (RFC 5922 §7.2).
/// </summary>
public sealed class StreamConnectionTests
{
    [Fact]
    public async Task Connect_only_opens_no_listener_and_receives_responses_on_its_connection()
    {
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var clientInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, serverInbox);
        await using var client = SipStreamTransport.ConnectOnly(SipTransportProtocol.Tcp, new SipTransportOptions { LocalEndPoint = AnyLoopback }, clientInbox);
        Assert.Equal(0, client.LocalEndPoint.Port); // nothing bound

        var local = await client.ConnectAsync(server.LocalEndPoint, tlsServerName: null);
        Assert.NotEqual(0, local.Port);
        await client.SendAsync(Notify(3), server.LocalEndPoint);
        var got = await Next(serverInbox);
        Assert.Equal(local, got.RemoteEndPoint); // the same connection
        await server.SendAsync(OkFor((SipRequest)got.Message), got.RemoteEndPoint);
        Assert.Equal(200, Assert.IsType<SipResponse>((await Next(clientInbox)).Message).StatusCode);
        Assert.Equal(1, client.ConnectionCount);
        Assert.True(client.IsConnected(server.LocalEndPoint));
    }

    [Fact]
    public async Task Connect_only_reports_a_refused_connection_as_an_IOException()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var closed = (IPEndPoint)probe.LocalEndpoint;
        probe.Stop();
        await using var client = SipStreamTransport.ConnectOnly(SipTransportProtocol.Tcp, new SipTransportOptions { LocalEndPoint = AnyLoopback }, Channel.CreateUnbounded<SipReceivedMessage>());
        var e = await Assert.ThrowsAsync<IOException>(() => client.ConnectAsync(closed, null));
        Assert.Contains("cannot connect (TCP " + closed + ")", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, client.ConnectionCount);
    }

    [Fact]
    public async Task Tls_connections_are_keyed_by_server_name_and_the_certificate_is_checked_against_it()
    {
        using var certificate = Certificate("sip.example.com");
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTls(new SipTransportOptions { LocalEndPoint = AnyLoopback, ServerCertificate = certificate }, serverInbox);
        var names = new List<string>();
        await using var client = SipStreamTransport.ConnectOnly(SipTransportProtocol.Tls, new SipTransportOptions
        {
            LocalEndPoint = AnyLoopback,
            // Trust this one certificate, but only for the names it carries.
            RemoteCertificateValidation = (sender, cert, _, errors) =>
            {
                lock (names) names.Add(((SslStream)sender).TargetHostName);
                return cert is not null && cert.GetCertHashString() == certificate.GetCertHashString()
                    && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
            },
        }, Channel.CreateUnbounded<SipReceivedMessage>());

        await client.ConnectAsync(server.LocalEndPoint, "sip.example.com");
        await client.ConnectAsync(server.LocalEndPoint, "SIP.example.com"); // the same name: the same connection
        Assert.Equal(1, client.ConnectionCount);

        // Another domain on the same address gets its own handshake, and this certificate does not name it.
        var e = await Assert.ThrowsAsync<IOException>(() => client.ConnectAsync(server.LocalEndPoint, "other.example.org"));
        Assert.Contains("TLS with other.example.org failed", e.Message, StringComparison.Ordinal);
        Assert.Equal(["sip.example.com", "other.example.org"], names);
        Assert.Equal(1, client.ConnectionCount);

        // A request sent through the view for the name goes over the checked connection.
        await client.Towards("sip.example.com").SendAsync(Notify(8), server.LocalEndPoint);
        Assert.Equal(8u, (await Next(serverInbox)).Message.CSeq.Sequence);
        Assert.Equal(1, client.ConnectionCount);
    }

    [Fact]
    public async Task Pins_count_and_keep_a_connection_from_the_idle_sweep_until_the_last_is_released()
    {
        var clock = new ManualTimeProvider();
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback, IdleTimeout = TimeSpan.FromMinutes(1), TimeProvider = clock }, inbox);
        using var peer = new System.Net.Sockets.TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await peer.ConnectAsync(server.LocalEndPoint);
        await peer.GetStream().WriteAsync(SipMessageWriter.ToBytes(Notify()));
        var remote = (await Next(inbox)).RemoteEndPoint;

        var first = server.Pin(remote); // two dialogs over one connection
        var second = server.Pin(remote);
        clock.Advance(TimeSpan.FromMinutes(3));
        first.Dispose();
        first.Dispose(); // releasing twice counts once
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(1, server.ConnectionCount);
        Assert.True(server.IsPinned(remote));

        second.Dispose();
        Assert.False(server.IsPinned(remote));
        clock.Advance(TimeSpan.FromMinutes(3));
        Assert.Equal(0, await peer.GetStream().ReadAsync(new byte[4]).AsTask().WaitAsync(Wait)); // closed by the sweep
    }

    [Fact]
    public async Task A_dialog_flow_that_lost_its_connection_reports_an_unreachable_next_hop_as_an_IOException()
    {
        using var probe = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        var closed = ((IPEndPoint)probe.LocalEndpoint).Port;
        probe.Stop();
        await using var transport = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, Channel.CreateUnbounded<SipReceivedMessage>());
        var gone = new IPEndPoint(IPAddress.Loopback, 40000);
        using var flow = new SipDialogFlow(transport, gone, () => SipUri.Parse($"sip:juliet@127.0.0.1:{closed};transport=tcp"), moved: null,
            Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
        Assert.True(transport.IsPinned(gone));
        var e = await Assert.ThrowsAsync<IOException>(() => flow.SendAsync(Notify(), gone).AsTask());
        Assert.Contains($"sip:juliet@127.0.0.1:{closed};transport=tcp cannot be reached", e.Message, StringComparison.Ordinal);
        flow.Dispose();
        Assert.False(transport.IsPinned(gone));
    }

    [Theory]
    [InlineData("sip:juliet@192.0.2.4:5070;transport=tcp", "Tcp", "192.0.2.4:5070")]
    [InlineData("sip:juliet@192.0.2.4;transport=tcp", "Tcp", "192.0.2.4:5060")]
    [InlineData("sips:juliet@[2001:db8::1]", "Tls", "[2001:db8::1]:5061")]
    [InlineData("sip:juliet@localhost:5071;transport=tcp", "Tcp", "127.0.0.1:5071")]
    public async Task A_next_hop_is_located_as_rfc_3263_says_for_a_chosen_transport(string uri, string protocol, string expected)
    {
        var found = await SipDialogFlow.ResolveAsync(SipUri.Parse(uri), Enum.Parse<SipTransportProtocol>(protocol), CancellationToken.None);
        Assert.Equal(IPEndPoint.Parse(expected), found);
    }

    private static X509Certificate2 Certificate(string dnsName)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + dnsName, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(dnsName);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
