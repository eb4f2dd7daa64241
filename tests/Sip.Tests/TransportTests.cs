using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;

using static Aggregators.Sip.Tests.TransportTestKit;

namespace Aggregators.Sip.Tests;

/// <summary>UDP, TCP and TLS transports over loopback sockets.</summary>
public sealed class TransportTests
{
    [Fact]
    public async Task Udp_request_and_response_with_received_and_rport()
    {
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var clientInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback }, serverInbox);
        await using var client = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback }, clientInbox);
        var request = Notify();
        request.Headers.Set(SipHeaderNames.Via, $"SIP/2.0/UDP vmail.example.com;branch=z9hG4bK776sgdkse;rport");

        await client.SendAsync(request, server.LocalEndPoint);
        var got = await Next(serverInbox);
        Assert.Equal(client.LocalEndPoint, got.RemoteEndPoint);
        Assert.Equal(SipTransportProtocol.Udp, got.Protocol);
        var via = got.Message.TopVia!;
        Assert.Equal("127.0.0.1", via.Received);
        Assert.Equal(client.LocalEndPoint.Port, via.Rport);

        var destination = SipTransportRules.ResponseDestination(via)!;
        Assert.Equal(client.LocalEndPoint, destination);
        await server.SendAsync(OkFor((SipRequest)got.Message), destination);
        var response = Assert.IsType<SipResponse>((await Next(clientInbox)).Message);
        Assert.Equal(200, response.StatusCode);
    }

    [Fact]
    public async Task Udp_garbage_is_dropped_and_the_transport_keeps_working()
    {
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback }, inbox);
        using var raw = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        raw.Bind(AnyLoopback);
        await raw.SendToAsync("garbage\r\n\r\n"u8.ToArray(), server.LocalEndPoint);
        await raw.SendToAsync(new byte[] { 0, 1, 2, 0xFF }, server.LocalEndPoint);
        await raw.SendToAsync(SipMessageWriter.ToBytes(Notify(7)), server.LocalEndPoint);
        Assert.Equal(7u, (await Next(inbox)).Message.CSeq.Sequence);
    }

    [Fact]
    public async Task Tcp_connection_is_reused_in_both_directions()
    {
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var clientInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, serverInbox);
        await using var client = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, clientInbox);

        for (var i = 1; i <= 3; i++)
        {
            await client.SendAsync(Notify(i), server.LocalEndPoint);
            var got = await Next(serverInbox);
            Assert.Equal((uint)i, got.Message.CSeq.Sequence);
            // The response goes back over the connection the request came on (§18.2.2).
            await server.SendAsync(OkFor((SipRequest)got.Message), got.RemoteEndPoint);
            Assert.Equal((uint)i, (await Next(clientInbox)).Message.CSeq.Sequence);
        }
        Assert.Equal(1, client.ConnectionCount);
        Assert.Equal(1, server.ConnectionCount);
    }

    [Fact]
    public async Task Concurrent_sends_share_one_connection_and_do_not_interleave()
    {
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, serverInbox);
        await using var client = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, Channel.CreateUnbounded<SipReceivedMessage>());
        await Task.WhenAll(Enumerable.Range(1, 30).Select(i => Task.Run(() => client.SendAsync(Notify(i), server.LocalEndPoint).AsTask())));
        var received = new List<uint>();
        for (var i = 0; i < 30; i++) received.Add((await Next(serverInbox)).Message.CSeq.Sequence);
        Assert.Equal(Enumerable.Range(1, 30).Select(i => (uint)i), received.Order());
        Assert.Equal(1, client.ConnectionCount);
    }

    [Fact]
    public async Task Tcp_framing_error_closes_only_that_connection_and_pings_get_pongs()
    {
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback }, inbox);

        using var good = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await good.ConnectAsync(server.LocalEndPoint);
        using var bad = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await bad.ConnectAsync(server.LocalEndPoint);

        var goodStream = good.GetStream();
        await goodStream.WriteAsync("\r\n\r\n"u8.ToArray());
        var pong = new byte[2];
        await goodStream.ReadExactlyAsync(pong).AsTask().WaitAsync(Wait);
        Assert.Equal("\r\n"u8.ToArray(), pong);

        var badStream = bad.GetStream();
        await badStream.WriteAsync(Encoding.ASCII.GetBytes("HELLO\r\nnot sip\r\n\r\n"));
        var buffer = new byte[16];
        Assert.Equal(0, await badStream.ReadAsync(buffer).AsTask().WaitAsync(Wait)); // closed by the server

        await goodStream.WriteAsync(SipMessageWriter.ToBytes(Notify(9)));
        Assert.Equal(9u, (await Next(inbox)).Message.CSeq.Sequence);
    }

    [Fact]
    public async Task Idle_connections_are_closed()
    {
        var clock = new ManualTimeProvider();
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = AnyLoopback, IdleTimeout = TimeSpan.FromMinutes(1), TimeProvider = clock }, inbox);
        using var peer = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
        await peer.ConnectAsync(server.LocalEndPoint);
        await peer.GetStream().WriteAsync(SipMessageWriter.ToBytes(Notify()));
        await Next(inbox);
        Assert.Equal(1, server.ConnectionCount);
        clock.Advance(TimeSpan.FromMinutes(2));
        Assert.Equal(0, await peer.GetStream().ReadAsync(new byte[4]).AsTask().WaitAsync(Wait));
    }

    [Fact]
    public async Task Tls_request_and_response()
    {
        using var certificate = SelfSigned();
        var serverInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var clientInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipStreamTransport.BindTls(new SipTransportOptions { LocalEndPoint = AnyLoopback, ServerCertificate = certificate }, serverInbox);
        await using var client = SipStreamTransport.BindTls(new SipTransportOptions
        {
            LocalEndPoint = AnyLoopback,
            ServerCertificate = certificate,
            RemoteCertificateValidation = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == certificate.GetCertHashString(),
        }, clientInbox);

        await client.SendAsync(Notify(5), server.LocalEndPoint);
        var got = await Next(serverInbox);
        Assert.Equal(SipTransportProtocol.Tls, got.Protocol);
        await server.SendAsync(OkFor((SipRequest)got.Message), got.RemoteEndPoint);
        Assert.Equal(200, Assert.IsType<SipResponse>((await Next(clientInbox)).Message).StatusCode);
    }

    [Fact]
    public async Task Tls_client_refuses_an_untrusted_server()
    {
        using var certificate = SelfSigned();
        await using var server = SipStreamTransport.BindTls(new SipTransportOptions { LocalEndPoint = AnyLoopback, ServerCertificate = certificate }, Channel.CreateUnbounded<SipReceivedMessage>());
        await using var client = SipStreamTransport.BindTls(new SipTransportOptions { LocalEndPoint = AnyLoopback, ServerCertificate = certificate }, Channel.CreateUnbounded<SipReceivedMessage>());
        await Assert.ThrowsAsync<IOException>(() => client.SendAsync(Notify(), server.LocalEndPoint).AsTask());
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pkcs12), null);
    }
}
