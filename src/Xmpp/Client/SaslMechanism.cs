namespace Aggregators.Xmpp.Client;

/// <summary>
/// The client side of one SASL exchange (RFC 4422 §3), without I/O: the initial response, then
/// one answer per server challenge, then a check of the additional data of &lt;success/&gt;.
/// Data is raw bytes; the stream carries it base64-encoded (RFC 6120 §6.4.2).
/// </summary>
public abstract class SaslMechanism
{
    /// <summary>The IANA mechanism name, as in &lt;mechanism/&gt;.</summary>
    public abstract string Name { get; }

    /// <summary>The initial response sent with &lt;auth/&gt; (RFC 4422 §3.3).</summary>
    public abstract byte[] InitialResponse();

    /// <summary>The answer to a &lt;challenge/&gt;; throws <see cref="SaslException"/> for a bad challenge.</summary>
    public abstract byte[] Respond(ReadOnlySpan<byte> challenge);

    /// <summary>Checks the additional data with success (RFC 6120 §6.3.10); throws <see cref="SaslException"/> when it does not verify.</summary>
    public abstract void Complete(ReadOnlySpan<byte> additionalData);
}

/// <summary>A SASL exchange the client must abort: the server's data is malformed or does not verify.</summary>
public sealed class SaslException : Exception
{
    public SaslException(string message) : base(message) { }

    public SaslException() : base("SASL exchange failed") { }

    public SaslException(string message, Exception inner) : base(message, inner) { }
}
