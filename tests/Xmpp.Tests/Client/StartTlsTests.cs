using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Aggregators.Xmpp.Client;

namespace Aggregators.Xmpp.Tests.Client;

/// <summary>STARTTLS (RFC 6120 §5.4) against a scripted server that really upgrades to TLS (self-signed certificate).</summary>
public sealed class StartTlsTests : IDisposable
{
    private const string Header = "<?xml version='1.0'?><stream:stream from='example.com' id='s1' version='1.0' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams'>";
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public StartTlsTests() => _listener.Start();

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=example.com", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("example.com");
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddHours(1));
        // Export and re-import: SslStream on Linux needs a certificate with an exportable private key.
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    private static async Task<string> ReadUntilAsync(Stream stream, StringBuilder buffer, string marker)
    {
        var bytes = new byte[4096];
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (true)
        {
            var text = buffer.ToString();
            var at = text.IndexOf(marker, StringComparison.Ordinal);
            if (at >= 0)
            {
                buffer.Remove(0, at + marker.Length);
                return text[..(at + marker.Length)];
            }
            var n = await stream.ReadAsync(bytes, timeout.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("closed before " + marker + ": " + text);
            }
            buffer.Append(Encoding.UTF8.GetString(bytes, 0, n));
        }
    }

    private static Task SendAsync(Stream stream, string text) => stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    [Fact]
    public async Task Upgrades_to_tls_then_authenticates_with_plain_over_it()
    {
        using var certificate = SelfSigned();
        var presented = new TaskCompletionSource<X509Certificate?>();
        var connecting = XmppClientConnection.ConnectAsync(new XmppClientOptions
        {
            Jid = "juliet@example.com",
            Password = "pw",
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            Tls = ClientTlsMode.Required,
            AllowPlainWithoutTls = false, // PLAIN is fine once the stream is encrypted
            Mechanisms = [SaslPlain.MechanismName],
            CertificateValidation = (_, cert, _, _) =>
            {
                presented.TrySetResult(cert);
                return true;
            },
        }, (_, _) => ValueTask.CompletedTask, CancellationToken.None);

        using var tcp = await _listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var plain = tcp.GetStream();
        var buffer = new StringBuilder();
        await ReadUntilAsync(plain, buffer, "xml:lang='en'>");
        await SendAsync(plain, Header + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'><required/></starttls></stream:features>");
        Assert.Contains("<starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'", await ReadUntilAsync(plain, buffer, "/>"), StringComparison.Ordinal);
        await SendAsync(plain, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        await using var tls = new SslStream(plain);
        await tls.AuthenticateAsServerAsync(certificate);
        buffer.Clear();

        // RFC 6120 §5.4.3.3: a new stream over TLS, then SASL, restart, bind.
        await ReadUntilAsync(tls, buffer, "xml:lang='en'>");
        await SendAsync(tls, Header + "<stream:features><mechanisms xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><mechanism>PLAIN</mechanism></mechanisms></stream:features>");
        Assert.Contains("mechanism='PLAIN'", await ReadUntilAsync(tls, buffer, "</auth>"), StringComparison.Ordinal);
        await SendAsync(tls, "<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>");
        await ReadUntilAsync(tls, buffer, "xml:lang='en'>");
        await SendAsync(tls, Header + "<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>");
        await ReadUntilAsync(tls, buffer, "</iq>");
        await SendAsync(tls, "<iq id='bind1' type='result'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>juliet@example.com/r1</jid></bind></iq>");

        await using var client = await connecting;
        Assert.True(client.IsEncrypted);
        Assert.Equal("PLAIN", client.Mechanism);
        Assert.Equal(certificate.GetCertHashString(), (await presented.Task)!.GetCertHashString());
        var closing = client.CloseAsync();
        await ReadUntilAsync(tls, buffer, "</stream:stream>");
        await SendAsync(tls, "</stream:stream>");
        await closing;
        Assert.True(client.Completion.IsCompletedSuccessfully);
    }

    [Fact]
    public async Task A_certificate_the_client_refuses_fails_with_tls_failed()
    {
        using var certificate = SelfSigned();
        var connecting = XmppClientConnection.ConnectAsync(new XmppClientOptions
        {
            Jid = "juliet@example.com",
            Password = "pw",
            Host = "127.0.0.1",
            Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
            CertificateValidation = (_, _, _, _) => false,
        }, (_, _) => ValueTask.CompletedTask, CancellationToken.None);
        using var tcp = await _listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10));
        var plain = tcp.GetStream();
        var buffer = new StringBuilder();
        await ReadUntilAsync(plain, buffer, "xml:lang='en'>");
        await SendAsync(plain, Header + "<stream:features><starttls xmlns='urn:ietf:params:xml:ns:xmpp-tls'/></stream:features>");
        await ReadUntilAsync(plain, buffer, "/>");
        await SendAsync(plain, "<proceed xmlns='urn:ietf:params:xml:ns:xmpp-tls'/>");
        await using var tls = new SslStream(plain);
        var server = tls.AuthenticateAsServerAsync(certificate);
        var ex = await Assert.ThrowsAsync<XmppClientException>(() => connecting);
        Assert.Equal(ClientFailure.TlsFailed, ex.Failure);
        await Task.WhenAny(server); // with TLS 1.3 the server may finish its side before the client refuses
    }

    public void Dispose() => _listener.Stop();
}
