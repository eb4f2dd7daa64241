using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Dns;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Alerts;

/// <summary>
/// The SIP alert sender over TCP and TLS against a scripted peer on loopback: the next hop by
/// RFC 3263 (SRV through a scripted DNS), the Via and Route it sends, and one retry with digest
/// credentials on 401/407 (RFC 3261 §22.2, §22.3).
/// </summary>
public sealed class SipAlertStreamTests
{
    private const string Realm = "proxy.example.com";

    private static AlertRecord Alert() => new() { Id = 7, Source = "sieve", Target = "x", Text = "Mail from Romeo", Importance = AlertImportance.Normal };

    private static AlertTarget Target(string uri)
    {
        Assert.True(AlertTarget.TryParse(uri, out var target, out var error), error);
        return target;
    }

    private static SipAlertChannel Channel(AlertSipOptions sip, ISipAlertDns? dns = null) =>
        new(Microsoft.Extensions.Options.Options.Create(new AlertOptions { Sip = sip }), TimeProvider.System, NullLoggerFactory.Instance, dns ?? new SipAlertRoutingTests.ScriptedDns());

    /// <summary>A scripted SIP peer on one accepted TCP (or TLS) connection: reads requests, answers as told.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly X509Certificate2? _certificate;
        private Stream? _stream;
        private SipStreamFramer? _framer;

        public Peer(X509Certificate2? certificate = null)
        {
            _certificate = certificate;
            _listener.Start();
        }

        public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

        public async Task<SipRequest> NextRequestAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            if (_stream is null)
            {
                var client = await _listener.AcceptTcpClientAsync(timeout.Token);
                _stream = client.GetStream();
                if (_certificate is not null)
                {
                    var ssl = new SslStream(_stream);
                    await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, timeout.Token);
                    _stream = ssl;
                }
                _framer = new SipStreamFramer(PipeReader.Create(_stream));
            }
            while (true)
            {
                var frame = await _framer!.ReadAsync(timeout.Token);
                if (frame.Kind == SipFrameKind.EndOfStream)
                {
                    throw new EndOfStreamException("the alert sender closed the connection");
                }
                if (frame.Message is SipRequest request)
                {
                    return request;
                }
            }
        }

        public async Task AnswerAsync(SipResponse response) => await _stream!.WriteAsync(SipMessageWriter.ToBytes(response));

        public async ValueTask DisposeAsync()
        {
            if (_stream is not null)
            {
                await _stream.DisposeAsync();
            }
            _listener.Stop();
            _listener.Dispose();
        }
    }

    [Fact]
    public async Task Over_tcp_through_the_proxy_a_407_is_answered_once_with_the_realms_credentials()
    {
        await using var proxy = new Peer();
        var digest = new DigestServer(new DigestServerOptions { Realm = Realm, Secret = RandomNumberGenerator.GetBytes(32) });
        await using var channel = Channel(new AlertSipOptions
        {
            OutboundProxy = $"sip:127.0.0.1:{proxy.Port};transport=tcp",
            From = "sip:alerts@example.com",
            Credentials = [new AlertSipCredential { Realm = "other.example.com", Username = "x", Password = "y" },
                new AlertSipCredential { Realm = Realm, Username = "alerts", Password = "s3cret" }],
        });
        var sending = channel.SendAsync(Alert(), Target("sip:juliet@example.com"), CancellationToken.None).AsTask();

        var first = await proxy.NextRequestAsync();
        Assert.Equal(("MESSAGE", "sip:juliet@example.com"), (first.Method, first.RequestUri.ToString()));
        Assert.StartsWith("SIP/2.0/TCP 127.0.0.1:", first.Headers.GetFirstValue(SipHeaderNames.Via), StringComparison.Ordinal);
        Assert.Equal($"<sip:127.0.0.1:{proxy.Port};transport=tcp;lr>", first.Headers.GetFirstValue(SipHeaderNames.Route));
        var challenge = SipResponse.CreateFor(first, 407, toTag: "p1");
        foreach (var c in digest.CreateChallenges())
        {
            challenge.Headers.Add(SipHeaderNames.ProxyAuthenticate, c.ToString());
        }
        await proxy.AnswerAsync(challenge);

        // §8.1.3.5: the same Call-ID and From tag, the next CSeq, credentials of the proxy's realm.
        var second = await proxy.NextRequestAsync();
        Assert.Equal(first.CallId, second.CallId);
        Assert.Equal(first.From.Tag, second.From.Tag);
        Assert.Equal("2 MESSAGE", second.Headers.GetFirstValue(SipHeaderNames.CSeq));
        Assert.Equal(DigestVerification.Ok, digest.Verify(second, (user, algorithm) =>
            user == "alerts" ? DigestComputation.Ha1(algorithm, user, Realm, "s3cret") : null, proxy: true));
        await proxy.AnswerAsync(SipResponse.CreateFor(second, 200, toTag: "ua"));

        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(DeliveryResult.Delivered, outcome.Result);
        Assert.Contains($"tcp 127.0.0.1:{proxy.Port}", outcome.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(false, "no Pna:Alerts:Sip:Credentials for realm proxy.example.com")]
    [InlineData(true, "the credentials for realm proxy.example.com were refused")]
    public async Task A_challenge_without_credentials_or_refusing_them_is_permanent(bool haveCredentials, string reason)
    {
        await using var target = new Peer();
        var digest = new DigestServer(new DigestServerOptions { Realm = Realm, Secret = RandomNumberGenerator.GetBytes(32) });
        await using var channel = Channel(new AlertSipOptions
        {
            Credentials = haveCredentials ? [new AlertSipCredential { Realm = "*", Username = "alerts", Password = "wrong" }] : [],
        });
        var sending = channel.SendAsync(Alert(), Target($"sip:juliet@127.0.0.1:{target.Port};transport=tcp"), CancellationToken.None).AsTask();
        for (var i = 0; i < (haveCredentials ? 2 : 1); i++)
        {
            var request = await target.NextRequestAsync();
            var challenge = SipResponse.CreateFor(request, 401, toTag: "t");
            challenge.Headers.Add(SipHeaderNames.WwwAuthenticate, digest.CreateChallenges()[0].ToString());
            await target.AnswerAsync(challenge);
        }
        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(DeliveryResult.Permanent, outcome.Result);
        Assert.Contains("SIP 401", outcome.Reason, StringComparison.Ordinal);
        Assert.Contains(reason, outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_domain_without_a_port_is_found_by_srv_and_reached_over_tcp()
    {
        await using var pna = new Peer();
        var dns = new SipAlertRoutingTests.ScriptedDns();
        dns.Srv["_sip._tcp.example.com"] = [new SrvRecord(0, 0, (ushort)pna.Port, "sip.example.com", TimeSpan.FromHours(1))];
        dns.Hosts["sip.example.com"] = IPAddress.Loopback;
        await using var channel = Channel(new AlertSipOptions(), dns);
        var sending = channel.SendAsync(Alert(), Target("sip:juliet@example.com"), CancellationToken.None).AsTask();
        var request = await pna.NextRequestAsync();
        Assert.Equal("sip:juliet@example.com", request.RequestUri.ToString());
        await pna.AnswerAsync(SipResponse.CreateFor(request, 202, toTag: "x"));
        Assert.Equal(DeliveryResult.Delivered, (await sending.WaitAsync(TimeSpan.FromSeconds(30))).Result);
    }

    private static int ClosedPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    [Fact]
    public async Task A_refused_srv_target_is_followed_by_the_next_in_rfc_2782_order()
    {
        await using var pna = new Peer();
        var dns = new SipAlertRoutingTests.ScriptedDns();
        // RFC 3263 §4.3: the lower priority is tried first; it refuses the connection, so the next one gets the MESSAGE.
        dns.Srv["_sip._tcp.example.com"] =
        [
            new SrvRecord(10, 0, (ushort)pna.Port, "up.example.com", TimeSpan.FromHours(1)),
            new SrvRecord(0, 0, (ushort)ClosedPort(), "down.example.com", TimeSpan.FromHours(1)),
        ];
        dns.Hosts["up.example.com"] = IPAddress.Loopback;
        dns.Hosts["down.example.com"] = IPAddress.Loopback;
        await using var channel = Channel(new AlertSipOptions(), dns);
        var sending = channel.SendAsync(Alert(), Target("sip:juliet@example.com"), CancellationToken.None).AsTask();
        var request = await pna.NextRequestAsync();
        await pna.AnswerAsync(SipResponse.CreateFor(request, 200, toTag: "x"));
        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Result == DeliveryResult.Delivered, outcome.Reason);
        Assert.Contains($"tcp 127.0.0.1:{pna.Port}", outcome.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task When_every_srv_target_fails_at_the_transport_the_attempt_is_temporary_and_names_each()
    {
        var first = ClosedPort();
        var second = ClosedPort();
        var dns = new SipAlertRoutingTests.ScriptedDns();
        dns.Srv["_sip._tcp.example.com"] =
        [
            new SrvRecord(0, 0, (ushort)first, "a.example.com", TimeSpan.FromHours(1)),
            new SrvRecord(5, 0, (ushort)second, "b.example.com", TimeSpan.FromHours(1)),
        ];
        dns.Hosts["a.example.com"] = IPAddress.Loopback;
        dns.Hosts["b.example.com"] = IPAddress.Loopback;
        await using var channel = Channel(new AlertSipOptions(), dns);
        var outcome = await channel.SendAsync(Alert(), Target("sip:juliet@example.com"), CancellationToken.None).AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(DeliveryResult.Temporary, outcome.Result);
        Assert.Matches($"cannot connect.*127.0.0.1:{first}.*; then cannot connect.*127.0.0.1:{second}", outcome.Reason);
    }

    [Fact]
    public async Task Over_tcp_a_long_text_is_sent_whole()
    {
        await using var ua = new Peer();
        await using var channel = Channel(new AlertSipOptions());
        var text = new string('é', 1024);
        var alert = new AlertRecord { Id = 8, Source = "sieve", Target = "x", Text = text, Importance = AlertImportance.Normal };
        var sending = channel.SendAsync(alert, Target($"sip:juliet@127.0.0.1:{ua.Port};transport=tcp"), CancellationToken.None).AsTask();
        var request = await ua.NextRequestAsync();
        Assert.Equal(text, System.Text.Encoding.UTF8.GetString(request.Body.Span));
        await ua.AnswerAsync(SipResponse.CreateFor(request, 200, toTag: "x"));
        Assert.Equal(DeliveryResult.Delivered, (await sending.WaitAsync(TimeSpan.FromSeconds(30))).Result);
    }

    [Fact]
    public async Task With_DnsSrv_on_the_configured_dns_server_is_asked_and_its_srv_target_gets_the_message()
    {
        await using var pna = new Peer();
        await using var dns = new LoopbackDnsServer();
        dns.Srv["_sip._tcp.example.com"] = [(0, 0, (ushort)pna.Port, "127.0.0.1")];
        await using var channel = new SipAlertChannel(Microsoft.Extensions.Options.Options.Create(new AlertOptions
        {
            Sip = new AlertSipOptions { DnsSrv = true, DnsServer = dns.EndPoint.ToString() },
        }), TimeProvider.System, NullLoggerFactory.Instance);
        var sending = channel.SendAsync(Alert(), Target("sip:juliet@example.com"), CancellationToken.None).AsTask();
        var request = await pna.NextRequestAsync();
        await pna.AnswerAsync(SipResponse.CreateFor(request, 200, toTag: "x"));
        var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(outcome.Result == DeliveryResult.Delivered, outcome.Reason);
        // RFC 3263 §4.1 without NAPTR: TLS first, then TCP, which answered.
        Assert.Equal(["_sips._tcp.example.com", "_sip._tcp.example.com"], dns.Asked);
    }

    private static X509Certificate2 SelfSigned(string name)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=" + name, key, HashAlgorithmName.SHA256);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(name);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        // SslStream on Linux needs the key exportable through a PKCS#12 round trip.
        return X509CertificateLoader.LoadPkcs12(certificate.Export(X509ContentType.Pfx), null);
    }

    [Theory]
    [InlineData("sip.example.com", DeliveryResult.Delivered)]
    [InlineData("other.example.org", DeliveryResult.Temporary)] // RFC 5922 §7.2: the certificate must name the domain
    public async Task A_sips_target_goes_over_tls_and_the_certificate_must_name_its_domain(string certificateName, DeliveryResult expected)
    {
        using var certificate = SelfSigned(certificateName);
        var ca = Path.Combine(Path.GetTempPath(), "alert-ca-" + Guid.NewGuid().ToString("N") + ".pem");
        await File.WriteAllTextAsync(ca, certificate.ExportCertificatePem());
        try
        {
            await using var ua = new Peer(certificate);
            var dns = new SipAlertRoutingTests.ScriptedDns();
            dns.Hosts["sip.example.com"] = IPAddress.Loopback;
            await using var channel = Channel(new AlertSipOptions { TlsCaFile = ca }, dns);
            var sending = channel.SendAsync(Alert(), Target($"sips:juliet@sip.example.com:{ua.Port}"), CancellationToken.None).AsTask();
            if (expected == DeliveryResult.Delivered)
            {
                var request = await ua.NextRequestAsync();
                Assert.StartsWith("SIP/2.0/TLS ", request.Headers.GetFirstValue(SipHeaderNames.Via), StringComparison.Ordinal);
                await ua.AnswerAsync(SipResponse.CreateFor(request, 200, toTag: "x"));
            }
            else
            {
                // Accept; the handshake fails on the client side, and so the server's.
                await Assert.ThrowsAnyAsync<Exception>(ua.NextRequestAsync);
            }
            var outcome = await sending.WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(expected == outcome.Result, outcome.Reason);
            if (expected != DeliveryResult.Delivered)
            {
                Assert.Contains("TLS with sip.example.com failed", outcome.Reason, StringComparison.Ordinal);
            }
        }
        finally
        {
            File.Delete(ca);
        }
    }
}
