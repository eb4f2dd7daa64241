using System.Net.Security;
using System.Security.Authentication;
using Microsoft.Extensions.Logging;

namespace Aggregators.ImapBridge.Imap;

/// <summary>How the connection is protected.</summary>
public enum ImapSecurity
{
    /// <summary>Clear text (tests, loopback, a trusted local socket).</summary>
    None,

    /// <summary>TLS from the first byte (RFC 8314 implicit TLS, port 993).</summary>
    Tls,

    /// <summary>STARTTLS is required (RFC 3501 §6.2.1): if the server does not offer it or it fails, the connection is closed.</summary>
    StartTls,
}

/// <summary>Settings of one <see cref="ImapClient"/> connection.</summary>
public sealed record ImapClientOptions
{
    public string Host { get; init; } = "127.0.0.1";

    public int Port { get; init; } = 143;

    public ImapSecurity Security { get; init; } = ImapSecurity.None;

    /// <summary>Name the certificate must carry (SNI too); defaults to <see cref="Host"/>.</summary>
    public string? TlsTargetHost { get; init; }

    /// <summary>Custom certificate check (e.g. pinning a test CA); null uses the system trust store.</summary>
    public RemoteCertificateValidationCallback? CertificateValidation { get; init; }

    /// <summary>Whether to check revocation of the server certificate.</summary>
    public bool CheckCertificateRevocation { get; init; } = true;

    /// <summary>TLS versions; None lets the operating system choose (recommended).</summary>
    public SslProtocols TlsProtocols { get; init; } = SslProtocols.None;

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for a command's tagged response; on expiry the connection is closed.</summary>
    public TimeSpan CommandTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Parser limits for this connection's responses.</summary>
    public ImapLimits Limits { get; init; } = ImapLimits.Default;

    /// <summary>
    /// How many unsolicited responses may wait unread on <see cref="ImapClient.Unsolicited"/>; more are
    /// dropped and counted in <see cref="ImapClient.UnsolicitedDropped"/> (the consumer must then resynchronise).
    /// </summary>
    public int UnsolicitedCapacity { get; init; } = 4096;

    /// <summary>
    /// Protocol trace: connection start/end at Information, commands at Debug (secrets masked),
    /// every response at Trace. Null logs nothing.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>Use LITERAL+ / LITERAL- (RFC 7888) when the server offers them.</summary>
    public bool UseNonSynchronizingLiterals { get; init; } = true;
}
