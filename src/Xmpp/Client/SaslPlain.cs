using System.Text;

namespace Aggregators.Xmpp.Client;

/// <summary>RFC 4616 PLAIN: <c>[authzid] NUL authcid NUL passwd</c> in one message.</summary>
public sealed class SaslPlain(string authenticationId, string password, string? authorizationId = null) : SaslMechanism
{
    public const string MechanismName = "PLAIN";

    public override string Name => MechanismName;

    public override byte[] InitialResponse()
    {
        // RFC 4616 §2: no NUL inside any of the three parts.
        if (authenticationId.Contains('\0', StringComparison.Ordinal) || password.Contains('\0', StringComparison.Ordinal)
            || (authorizationId?.Contains('\0', StringComparison.Ordinal) ?? false))
        {
            throw new SaslException("PLAIN credentials must not contain NUL (RFC 4616 §2)");
        }
        return Encoding.UTF8.GetBytes((authorizationId ?? "") + "\0" + authenticationId + "\0" + password);
    }

    public override byte[] Respond(ReadOnlySpan<byte> challenge) =>
        throw new SaslException("PLAIN has no challenges (RFC 4616 §2)");

    public override void Complete(ReadOnlySpan<byte> additionalData)
    {
        if (!additionalData.IsEmpty)
        {
            throw new SaslException("PLAIN success carries no additional data");
        }
    }
}
