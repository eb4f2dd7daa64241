using System.Security.Cryptography;
using System.Text;

namespace Aggregators.Xmpp.Component;

/// <summary>XEP-0114 §3: the handshake value.</summary>
public static class ComponentHandshake
{
    /// <summary>Lowercase hex SHA-1 of the server's stream id concatenated with the shared secret.</summary>
    public static string Compute(string streamId, string secret)
    {
        ArgumentNullException.ThrowIfNull(streamId);
        ArgumentNullException.ThrowIfNull(secret);
#pragma warning disable CA5350 // XEP-0114 mandates SHA-1; it proves knowledge of the secret, nothing more.
        var hash = SHA1.HashData(Encoding.UTF8.GetBytes(streamId + secret));
#pragma warning restore CA5350
        return Convert.ToHexStringLower(hash);
    }
}
