using System.Security.Cryptography;
using System.Text;

namespace Aggregators.Xmpp.Client;

/// <summary>
/// RFC 5802 SCRAM-SHA-1 without channel binding (gs2 header <c>n,,</c>). The password never
/// crosses the wire and the server proves it knows the salted password (server signature).
/// </summary>
/// <remarks>
/// The user name is escaped (RFC 5802 §5.1: <c>,</c> → <c>=2C</c>, <c>=</c> → <c>=3D</c>); SASLprep
/// (RFC 4013) is not applied, so non-ASCII names and passwords work only where the server does not
/// normalise them either.
/// </remarks>
public sealed class ScramSha1 : SaslMechanism
{
    public const string MechanismName = "SCRAM-SHA-1";

    /// <summary>Iteration counts above this are refused (a hostile server could make PBKDF2 run for minutes).</summary>
    public const int MaxIterations = 1_000_000;

    private const string Gs2Header = "n,,";
    private readonly string _password;
    private readonly string _clientFirstBare;
    private readonly string _clientNonce;
    private byte[]? _serverSignature;
    private int _step;

    /// <param name="clientNonce">For tests (RFC 5802 §5 example); default 24 random bytes, base64.</param>
    public ScramSha1(string user, string password, string? clientNonce = null)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        _password = password;
        _clientNonce = clientNonce ?? Convert.ToBase64String(RandomNumberGenerator.GetBytes(24));
        _clientFirstBare = "n=" + user.Replace("=", "=3D", StringComparison.Ordinal).Replace(",", "=2C", StringComparison.Ordinal)
            + ",r=" + _clientNonce;
    }

    public override string Name => MechanismName;

    public override byte[] InitialResponse() => Encoding.UTF8.GetBytes(Gs2Header + _clientFirstBare);

    public override byte[] Respond(ReadOnlySpan<byte> challenge)
    {
        if (_step++ != 0)
        {
            throw new SaslException("SCRAM-SHA-1: unexpected second challenge");
        }
        string serverFirst;
        try
        {
            serverFirst = new UTF8Encoding(false, true).GetString(challenge);
        }
        catch (DecoderFallbackException ex)
        {
            throw new SaslException("SCRAM-SHA-1: server-first-message is not UTF-8", ex);
        }
        // RFC 5802 §7: server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count ["," extensions]
        var attributes = ParseAttributes(serverFirst);
        if (attributes.ContainsKey('m'))
        {
            throw new SaslException("SCRAM-SHA-1: mandatory extension (m=) not supported (RFC 5802 §5.1)");
        }
        if (!attributes.TryGetValue('r', out var nonce) || !attributes.TryGetValue('s', out var saltText) || !attributes.TryGetValue('i', out var iterationText))
        {
            throw new SaslException("SCRAM-SHA-1: server-first-message lacks r=, s= or i=");
        }
        // RFC 5802 §5.1: the server's nonce starts with the client's.
        if (!nonce.StartsWith(_clientNonce, StringComparison.Ordinal) || nonce.Length == _clientNonce.Length)
        {
            throw new SaslException("SCRAM-SHA-1: the server nonce does not extend the client nonce");
        }
        byte[] salt;
        try
        {
            salt = Convert.FromBase64String(saltText);
        }
        catch (FormatException ex)
        {
            throw new SaslException("SCRAM-SHA-1: salt is not base64", ex);
        }
        if (!int.TryParse(iterationText, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var iterations)
            || iterations < 1 || iterations > MaxIterations)
        {
            throw new SaslException($"SCRAM-SHA-1: iteration count '{iterationText}' outside 1..{MaxIterations}");
        }
        // RFC 5802 §3.
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(_password), salt, iterations, HashAlgorithmName.SHA1, 20);
        var clientKey = HMACSHA1.HashData(salted, "Client Key"u8);
        var storedKey = SHA1.HashData(clientKey);
        var withoutProof = "c=" + Convert.ToBase64String(Encoding.ASCII.GetBytes(Gs2Header)) + ",r=" + nonce;
        var authMessage = Encoding.UTF8.GetBytes(_clientFirstBare + "," + serverFirst + "," + withoutProof);
        var clientSignature = HMACSHA1.HashData(storedKey, authMessage);
        var proof = new byte[clientKey.Length];
        for (var i = 0; i < proof.Length; i++)
        {
            proof[i] = (byte)(clientKey[i] ^ clientSignature[i]);
        }
        var serverKey = HMACSHA1.HashData(salted, "Server Key"u8);
        _serverSignature = HMACSHA1.HashData(serverKey, authMessage);
        return Encoding.UTF8.GetBytes(withoutProof + ",p=" + Convert.ToBase64String(proof));
    }

    public override void Complete(ReadOnlySpan<byte> additionalData)
    {
        if (_serverSignature is null)
        {
            throw new SaslException("SCRAM-SHA-1: success before the exchange was complete");
        }
        var attributes = ParseAttributes(Encoding.UTF8.GetString(additionalData));
        if (attributes.TryGetValue('e', out var error))
        {
            throw new SaslException("SCRAM-SHA-1: server error " + error);
        }
        if (!attributes.TryGetValue('v', out var verifier))
        {
            throw new SaslException("SCRAM-SHA-1: server-final-message lacks v=");
        }
        byte[] signature;
        try
        {
            signature = Convert.FromBase64String(verifier);
        }
        catch (FormatException ex)
        {
            throw new SaslException("SCRAM-SHA-1: server signature is not base64", ex);
        }
        // RFC 5802 §9: the client MUST verify the server signature (mutual authentication).
        if (!CryptographicOperations.FixedTimeEquals(signature, _serverSignature))
        {
            throw new SaslException("SCRAM-SHA-1: the server signature does not verify (the server does not know the password)");
        }
    }

    private static Dictionary<char, string> ParseAttributes(string message)
    {
        var result = new Dictionary<char, string>();
        foreach (var part in message.Split(','))
        {
            if (part.Length < 2 || part[1] != '=' || !char.IsAsciiLetter(part[0]))
            {
                throw new SaslException($"SCRAM-SHA-1: malformed attribute '{part}'");
            }
            if (!result.TryAdd(part[0], part[2..]))
            {
                throw new SaslException($"SCRAM-SHA-1: attribute '{part[0]}' repeated");
            }
        }
        return result;
    }
}
