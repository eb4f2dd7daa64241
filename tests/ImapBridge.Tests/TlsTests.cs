using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge.Tests;

/// <summary>Implicit TLS, STARTTLS and certificate checks against the fake server with a throw-away certificate.</summary>
public sealed class TlsTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeImapServer _server = new();
    private readonly X509Certificate2 _certificate = CreateCertificate();

    public void Dispose()
    {
        _server.Dispose();
        _certificate.Dispose();
    }

    private static X509Certificate2 CreateCertificate()
    {
        using var rsa = RSA.Create(2048);
        var request = new CertificateRequest("CN=imap.test", rsa, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName("imap.test");
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        using var cert = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddDays(-1), DateTimeOffset.UtcNow.AddDays(1));
        return X509CertificateLoader.LoadPkcs12(cert.Export(X509ContentType.Pfx), null);
    }

    /// <summary>Trusts exactly the test certificate (pinning), as a deployment with its own CA would.</summary>
    private ImapClientOptions Pinned(ImapSecurity security) => new()
    {
        Port = _server.Port,
        Security = security,
        TlsTargetHost = "imap.test",
        CheckCertificateRevocation = false,
        CertificateValidation = (_, cert, _, _) => cert is not null && cert.GetCertHashString() == _certificate.GetCertHashString(),
    };

    [Fact]
    public async Task Implicit_tls_with_a_pinned_certificate()
    {
        var connecting = ImapClient.ConnectAsync(Pinned(ImapSecurity.Tls));
        using var server = await _server.AcceptAsync();
        await server.StartTlsAsync(_certificate);
        await server.GreetAsync();
        await using var client = await connecting.WaitAsync(Wait);
        var noop = client.NoopAsync();
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{tag} OK done");
        await noop.WaitAsync(Wait);
    }

    [Fact]
    public async Task Untrusted_certificate_is_refused()
    {
        var options = Pinned(ImapSecurity.Tls) with { CertificateValidation = null };
        var connecting = ImapClient.ConnectAsync(options);
        using var server = await _server.AcceptAsync();
        await server.StartTlsAsync(_certificate);
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => connecting.WaitAsync(Wait));
        Assert.Contains("TLS handshake", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Starttls_upgrades_and_discards_the_clear_text_capabilities()
    {
        var connecting = ImapClient.ConnectAsync(Pinned(ImapSecurity.StartTls));
        using var server = await _server.AcceptAsync();
        await server.GreetAsync("IMAP4rev1 STARTTLS LOGINDISABLED");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("STARTTLS", cmd);
        await server.SendLinesAsync($"{tag} OK Begin TLS negotiation now.");
        await server.StartTlsAsync(_certificate);
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("CAPABILITY", cmd); // RFC 3501 §6.2.1: ask again over TLS
        await server.SendLinesAsync("* CAPABILITY IMAP4rev1 AUTH=PLAIN IDLE", $"{tag} OK done");
        await using var client = await connecting.WaitAsync(Wait);
        Assert.False(client.Supports("LOGINDISABLED"));
        Assert.False(client.Supports("STARTTLS"));
        Assert.True(client.Supports("IDLE"));
    }

    [Fact]
    public async Task Clear_text_injected_after_the_starttls_ok_is_refused()
    {
        var connecting = ImapClient.ConnectAsync(Pinned(ImapSecurity.StartTls));
        using var server = await _server.AcceptAsync();
        await server.GreetAsync("IMAP4rev1 STARTTLS");
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendAsync($"{tag} OK Begin TLS\r\n* CAPABILITY IMAP4rev1 AUTH=PLAIN\r\n");
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => connecting.WaitAsync(Wait));
        Assert.Contains("clear text followed the STARTTLS response", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unsolicited_overflow_is_counted_not_buffered()
    {
        var connecting = ImapClient.ConnectAsync(new ImapClientOptions { Port = _server.Port, UnsolicitedCapacity = 2 });
        using var server = await _server.AcceptAsync();
        await server.GreetAsync();
        await using var client = await connecting.WaitAsync(Wait);
        var noop = client.KeepAliveAsync();
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("* 1 EXISTS", "* 2 EXISTS", "* 3 EXISTS", "* 4 EXISTS", "* 5 EXISTS", $"{tag} OK done");
        await noop.WaitAsync(Wait);
        Assert.Equal(3, client.UnsolicitedDropped);
        Assert.True(client.Unsolicited.TryRead(out var first));
        Assert.Equal(1u, Assert.IsType<ImapExistsResponse>(first).Count);
    }
}
