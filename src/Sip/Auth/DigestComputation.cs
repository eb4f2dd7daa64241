using System.Security.Cryptography;
using System.Text;

namespace Aggregators.Sip.Auth;

/// <summary>The digest algorithms SIP uses: MD5 (RFC 3261 §22.4) and SHA-256 (RFC 8760, RFC 7616).</summary>
public enum DigestAlgorithm
{
    Md5,
    Sha256,
}

/// <summary>The request-digest computations of RFC 7616 §3.4.1 (RFC 2617 §3.2.2 for MD5).</summary>
public static class DigestComputation
{
    public static string Name(DigestAlgorithm algorithm) => algorithm == DigestAlgorithm.Md5 ? "MD5" : "SHA-256";

    public static bool TryParseName(string? name, out DigestAlgorithm algorithm)
    {
        // An absent algorithm parameter means MD5 (RFC 7616 §3.3).
        if (name is null || name.Equals("MD5", StringComparison.OrdinalIgnoreCase))
        {
            algorithm = DigestAlgorithm.Md5;
            return true;
        }
        algorithm = DigestAlgorithm.Sha256;
        return name.Equals("SHA-256", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>H(data) as lower-case hex.</summary>
    public static string Hash(DigestAlgorithm algorithm, string data)
    {
        var bytes = Encoding.UTF8.GetBytes(data);
        return Convert.ToHexStringLower(algorithm == DigestAlgorithm.Md5 ? MD5.HashData(bytes) : SHA256.HashData(bytes));
    }

    /// <summary>A1 = username ":" realm ":" passwd.</summary>
    public static string Ha1(DigestAlgorithm algorithm, string username, string realm, string password) =>
        Hash(algorithm, $"{username}:{realm}:{password}");

    /// <summary>A2 = Method ":" request-uri (qop=auth or no qop).</summary>
    public static string Ha2(DigestAlgorithm algorithm, string method, string uri) => Hash(algorithm, $"{method}:{uri}");

    /// <summary>
    /// With qop=auth: KD(H(A1), nonce ":" nc ":" cnonce ":" qop ":" H(A2)); without qop (RFC 2069
    /// clients): KD(H(A1), nonce ":" H(A2)).
    /// </summary>
    public static string Response(DigestAlgorithm algorithm, string ha1, string nonce, string? nc, string? cnonce, string? qop, string ha2) =>
        qop is null
            ? Hash(algorithm, $"{ha1}:{nonce}:{ha2}")
            : Hash(algorithm, $"{ha1}:{nonce}:{nc}:{cnonce}:{qop}:{ha2}");

    /// <summary>Compares two digests without leaking where they differ.</summary>
    public static bool FixedTimeEquals(string a, string b) =>
        CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(a.ToLowerInvariant()), Encoding.ASCII.GetBytes(b.ToLowerInvariant()));
}
