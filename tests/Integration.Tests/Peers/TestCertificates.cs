using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Throwaway certificates made by the tests (.NET CertificateRequest, no openssl needed): a CA,
/// and a server certificate it issued for <c>localhost</c> and 127.0.0.1, written as PEM files
/// a peer (Dovecot's ssl_cert/ssl_key) and the bridge's TlsCaFile can read.
/// </summary>
public sealed class TestCertificates
{
    private TestCertificates(string caFile, string certificateFile, string keyFile, X509Certificate2 server)
    {
        CaFile = caFile;
        CertificateFile = certificateFile;
        KeyFile = keyFile;
        Server = server;
    }

    /// <summary>The issuing CA's certificate (PEM).</summary>
    public string CaFile { get; }

    /// <summary>The server certificate (PEM).</summary>
    public string CertificateFile { get; }

    /// <summary>The server certificate's private key (PKCS#8 PEM).</summary>
    public string KeyFile { get; }

    public X509Certificate2 Server { get; }

    public const string ServerName = "localhost";

    /// <summary>Creates a CA and a server certificate under <paramref name="directory"/> (files ca.pem, server.pem, server.key).</summary>
    public static TestCertificates Create(string directory, string caName = "Aggregators test CA")
    {
        using var caKey = RSA.Create(2048);
        var caRequest = new CertificateRequest($"CN={caName}", caKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        caRequest.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        caRequest.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign, true));
        caRequest.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(caRequest.PublicKey, false));
        var now = DateTimeOffset.UtcNow;
        using var ca = caRequest.CreateSelfSigned(now.AddDays(-1), now.AddDays(30));

        using var serverKey = RSA.Create(2048);
        var request = new CertificateRequest($"CN={ServerName}", serverKey, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var san = new SubjectAlternativeNameBuilder();
        san.AddDnsName(ServerName);
        san.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(san.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, false));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], false)); // serverAuth
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(ca, true, false));
        var serial = RandomNumberGenerator.GetBytes(12);
        serial[0] &= 0x7F;
        using var issued = request.Create(ca, now.AddDays(-1), now.AddDays(29), serial);

        Directory.CreateDirectory(directory);
        var caFile = Path.Combine(directory, "ca.pem");
        var certFile = Path.Combine(directory, "server.pem");
        var keyFile = Path.Combine(directory, "server.key");
        File.WriteAllText(caFile, ca.ExportCertificatePem() + "\n");
        File.WriteAllText(certFile, issued.ExportCertificatePem() + "\n");
        File.WriteAllText(keyFile, serverKey.ExportPkcs8PrivateKeyPem() + "\n");
        File.SetUnixFileMode(keyFile, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return new TestCertificates(caFile, certFile, keyFile, X509CertificateLoader.LoadCertificate(issued.RawData));
    }
}
