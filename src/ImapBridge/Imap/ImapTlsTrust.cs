using System.Globalization;
using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// How a server certificate is trusted, beyond the system trust store: a CA file of the site's own
/// CA (PEM), a pinned certificate (SHA-256 of the DER certificate), or, for tests only, anything.
/// Builds the <see cref="ImapClientOptions.CertificateValidation"/> callback.
/// </summary>
public static class ImapTlsTrust
{
    /// <summary>
    /// The validation callback: null (system trust store, name checked) when nothing is set.
    /// With <paramref name="caFile"/>: the chain must end at one of the file's certificates
    /// (the system store is not used) and the name must match. With <paramref name="pinnedSha256"/>:
    /// the server's certificate must be exactly that one (name and chain are not checked: the pin
    /// says which certificate). Both set: either suffices. <paramref name="allowInvalid"/> accepts
    /// any certificate (tests only).
    /// </summary>
    /// <exception cref="ArgumentException">The pin is not 32 bytes of hex, or the CA file holds no certificate.</exception>
    public static RemoteCertificateValidationCallback? Create(string? caFile, string? pinnedSha256, bool allowInvalid)
    {
        if (allowInvalid)
        {
            return static (_, _, _, _) => true;
        }
        var pin = string.IsNullOrWhiteSpace(pinnedSha256) ? null : ParsePin(pinnedSha256);
        var roots = string.IsNullOrWhiteSpace(caFile) ? null : LoadCaFile(caFile);
        if (pin is null && roots is null)
        {
            return null;
        }
        return (_, certificate, chain, errors) =>
        {
            if (certificate is null)
            {
                return false;
            }
            if (pin is not null && CryptographicOperations.FixedTimeEquals(SHA256.HashData(certificate.GetRawCertData()), pin))
            {
                return true;
            }
            if (roots is null || (errors & (SslPolicyErrors.RemoteCertificateNameMismatch | SslPolicyErrors.RemoteCertificateNotAvailable)) != 0)
            {
                return false;
            }
            using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
            using var custom = new X509Chain();
            custom.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            custom.ChainPolicy.CustomTrustStore.AddRange(roots);
            // A private CA seldom publishes revocation lists.
            custom.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (chain is not null)
            {
                foreach (var element in chain.ChainElements)
                {
                    custom.ChainPolicy.ExtraStore.Add(element.Certificate);
                }
            }
            return custom.Build(leaf);
        };
    }

    /// <summary>SHA-256 of the certificate as hex, with or without colons (openssl x509 -fingerprint -sha256).</summary>
    public static byte[] ParsePin(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var hex = text.Trim().Replace(":", "", StringComparison.Ordinal);
        if (hex.StartsWith("sha256/", StringComparison.OrdinalIgnoreCase) || hex.StartsWith("sha256=", StringComparison.OrdinalIgnoreCase))
        {
            hex = hex[7..];
        }
        if (hex.Length != 64 || !hex.All(char.IsAsciiHexDigit))
        {
            throw new ArgumentException($"pinned certificate '{text}' is not a SHA-256 fingerprint (64 hex digits, colons allowed)", nameof(text));
        }
        return Convert.FromHexString(hex);
    }

    /// <summary>The hex SHA-256 fingerprint of a certificate, as <see cref="ParsePin"/> reads it.</summary>
    public static string Fingerprint(X509Certificate certificate)
    {
        ArgumentNullException.ThrowIfNull(certificate);
        return Convert.ToHexString(SHA256.HashData(certificate.GetRawCertData())).ToLower(CultureInfo.InvariantCulture);
    }

    private static X509Certificate2Collection LoadCaFile(string path)
    {
        var roots = new X509Certificate2Collection();
        roots.ImportFromPemFile(path);
        if (roots.Count == 0)
        {
            throw new ArgumentException($"CA file '{path}' holds no PEM certificate", nameof(path));
        }
        return roots;
    }
}
