using Aggregators.ImapBridge.Imap;

namespace Aggregators.Pna.Authorization;

/// <summary>Which <see cref="IAuthorizationPolicy"/> the PNA uses (key <c>Pna:Authorization:Policy</c>).</summary>
public enum AuthorizationPolicyKind
{
    /// <summary>Configured grants and owner access only (<see cref="GrantPolicy"/>); the default.</summary>
    Grants,

    /// <summary>The IMAP server's ACLs only (<see cref="ImapAclPolicy"/>).</summary>
    ImapAcl,

    /// <summary>Allowed when either allows: grants first (no I/O), then the IMAP ACLs.</summary>
    Either,
}

/// <summary>
/// Configuration of <see cref="ImapAclPolicy"/>, bound from <see cref="SectionName"/>:
/// <code>
/// "Pna": { "Authorization": { "Policy": "Either",
///   "ImapAcl": { "Host": "127.0.0.1", "Port": 143, "Security": "StartTls",
///                "AdminUser": "admin", "AdminPassword": "...",
///                "Identity": "{user}@{host}", "AccountUser": "{account}",
///                "RequiredRights": "lr", "CacheSeconds": 60 } } }
/// </code>
/// </summary>
public sealed class ImapAclOptions
{
    public const string SectionName = "Pna:Authorization:ImapAcl";

    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 143;

    public ImapSecurity Security { get; set; } = ImapSecurity.StartTls;

    /// <summary>Certificate name to expect, when it differs from <see cref="Host"/>.</summary>
    public string? TlsTargetHost { get; set; }

    /// <summary>PEM file of the CA(s) trusted for the server certificate instead of the system store (as the bridge's <c>TlsCaFile</c>).</summary>
    public string? TlsCaFile { get; set; }

    /// <summary>SHA-256 fingerprint of the one server certificate accepted (as the bridge's <c>TlsPinnedCertificate</c>).</summary>
    public string? TlsPinnedCertificate { get; set; }

    /// <summary>
    /// The admin that may act as any user: a Dovecot master user, a Cyrus admin (<c>admins:</c>).
    /// It logs in with SASL PLAIN, authorization identity = the account's IMAP user (RFC 4616 §2).
    /// </summary>
    public string AdminUser { get; set; } = "";

    public string AdminPassword { get; set; } = "";

    /// <summary>
    /// The IMAP identity of a subscriber, from <c>{user}</c>, <c>{host}</c> and <c>{scheme}</c> of its URI.
    /// Default <c>{user}@{host}</c>: <c>sip:romeo@example.com</c> is IMAP user <c>romeo@example.com</c>.
    /// </summary>
    public string Identity { get; set; } = "{user}@{host}";

    /// <summary>Explicit identities that win over <see cref="Identity"/>: subscriber <c>user@host</c> → IMAP identity.</summary>
    public Dictionary<string, string> Identities { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// The IMAP user that owns an account, from <c>{account}</c> (<c>juliet@example.com</c>),
    /// <c>{local}</c> and <c>{domain}</c>. Default <c>{account}</c>.
    /// </summary>
    public string AccountUser { get; set; } = "{account}";

    /// <summary>Rights the identity must hold (RFC 4314 §2.1): l (lookup) and r (read) by default.</summary>
    public string RequiredRights { get; set; } = "lr";

    /// <summary>How long an answer is reused: a revoked right stops new subscriptions after at most this long.</summary>
    public int CacheSeconds { get; set; } = 60;

    /// <summary>Longest wait for one ACL lookup (connect, login and GETACL together).</summary>
    public int TimeoutSeconds { get; set; } = 10;

    internal IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add($"{SectionName}:Host is empty");
        }
        if (Port is < 1 or > 65535)
        {
            errors.Add($"{SectionName}:Port {Port} is not a TCP port");
        }
        if (string.IsNullOrEmpty(AdminUser) || string.IsNullOrEmpty(AdminPassword))
        {
            errors.Add($"{SectionName}:AdminUser and AdminPassword are required (a Dovecot master user or a Cyrus admin)");
        }
        if (!Identity.Contains("{user}", StringComparison.Ordinal))
        {
            errors.Add($"{SectionName}:Identity '{Identity}' does not contain {{user}}");
        }
        if (string.IsNullOrEmpty(AccountUser))
        {
            errors.Add($"{SectionName}:AccountUser is empty");
        }
        if (string.IsNullOrEmpty(RequiredRights) || !ImapRights.IsValid(RequiredRights))
        {
            errors.Add($"{SectionName}:RequiredRights '{RequiredRights}' is not a set of RFC 4314 rights (a-z, 0-9)");
        }
        if (TlsPinnedCertificate is { Length: > 0 } pin)
        {
            try
            {
                ImapTlsTrust.ParsePin(pin);
            }
            catch (ArgumentException e)
            {
                errors.Add($"{SectionName}:TlsPinnedCertificate: {e.Message}");
            }
        }
        if (TlsCaFile is { Length: > 0 } ca && !File.Exists(ca))
        {
            errors.Add($"{SectionName}:TlsCaFile '{ca}' does not exist");
        }
        if (CacheSeconds is < 0 or > 3600)
        {
            errors.Add($"{SectionName}:CacheSeconds {CacheSeconds} is outside 0..3600");
        }
        if (TimeoutSeconds is < 1 or > 300)
        {
            errors.Add($"{SectionName}:TimeoutSeconds {TimeoutSeconds} is outside 1..300");
        }
        return errors;
    }
}
