using System.Net.Security;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Client;

/// <summary>When the client uses STARTTLS (RFC 6120 §5).</summary>
public enum ClientTlsMode
{
    /// <summary>Never, even when offered (test servers on loopback).</summary>
    Never,

    /// <summary>When the server offers it (RFC 6120 §5.3.1: the client SHOULD).</summary>
    WhenOffered,

    /// <summary>Always: a server that does not offer STARTTLS is refused.</summary>
    Required,
}

/// <summary>Settings of one client-to-server session.</summary>
public sealed record XmppClientOptions
{
    /// <summary>The account, a bare JID (<c>juliet@example.com</c>); its domain is the stream's <c>to</c>.</summary>
    public required string Jid { get; init; }

    public required string Password { get; init; }

    /// <summary>Host to connect to; default the JID's domain (no DNS SRV lookup, RFC 6120 §3.2 fallback).</summary>
    public string? Host { get; init; }

    public int Port { get; init; } = 5222;

    /// <summary>Resource to ask for when binding (RFC 6120 §7.6); null lets the server choose.</summary>
    public string? Resource { get; init; }

    public ClientTlsMode Tls { get; init; } = ClientTlsMode.WhenOffered;

    /// <summary>Certificate check for STARTTLS; null means the system's validation.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    /// <summary>
    /// Allow SASL PLAIN over a stream without TLS (sends the password in clear text; for test
    /// servers on loopback). SCRAM-SHA-1 is allowed without TLS: it never sends the password.
    /// </summary>
    public bool AllowPlainWithoutTls { get; init; }

    /// <summary>SASL mechanisms in order of preference; only those the server offers are tried.</summary>
    public IReadOnlyList<string> Mechanisms { get; init; } = [ScramSha1.MechanismName, SaslPlain.MechanismName];

    /// <summary>TCP connect plus the whole negotiation (TLS, SASL, bind, session).</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long <see cref="XmppClientConnection.IqAsync"/> waits for the response.</summary>
    public TimeSpan IqTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>A whitespace keepalive (RFC 6120 §4.6.1) after this long without sending anything.</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>A socket write taking longer than this fails the stream.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public int SendQueueCapacity { get; init; } = 1024;

    public XmlStreamLimits Limits { get; init; } = XmlStreamLimits.Default;
}
