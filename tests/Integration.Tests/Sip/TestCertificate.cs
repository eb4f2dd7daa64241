using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>A throwaway self-signed server certificate for 127.0.0.1, made per test (no openssl needed).</summary>
internal static class TestCertificate
{
    /// <summary>
    /// Writes <c>pna-tls.pem</c> (certificate then PKCS#8 key: the PNA's <c>TlsCertificateFile</c>)
    /// and <c>pna-ca.pem</c> (the certificate alone: what a peer trusts) into <paramref name="directory"/>.
    /// </summary>
    public static (string CertificateAndKey, string CaFile) WritePem(string directory)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: true, hasPathLengthConstraint: false, 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature | X509KeyUsageFlags.KeyEncipherment | X509KeyUsageFlags.KeyCertSign, critical: false));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false)); // serverAuth
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPem = certificate.ExportCertificatePem();
        var both = Path.Combine(directory, "pna-tls.pem");
        var ca = Path.Combine(directory, "pna-ca.pem");
        File.WriteAllText(both, certPem + "\n" + key.ExportPkcs8PrivateKeyPem() + "\n");
        File.SetUnixFileMode(both, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        File.WriteAllText(ca, certPem + "\n");
        return (both, ca);
    }
}
