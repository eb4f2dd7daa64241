using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge;

/// <summary>
/// Configuration of the IMAP bridge (configuration section <c>"Bridge"</c>, docs/imap-bridge.md): the
/// IMAP servers to watch and, per server, the accounts. Mutable classes so that
/// Microsoft.Extensions.Configuration can bind them; validated by <see cref="Validate"/>.
/// Shared contract between the watchers (wip/bridgewatch) and the bridge host/HTTP delivery (wip/bridgedeliver).
/// </summary>
public sealed class BridgeOptions
{
    public const string SectionName = "Bridge";

    /// <summary>Off by default: the PNA starts with zero configuration and no bridge.</summary>
    public bool Enabled { get; set; }

    /// <summary>Directory of the bridge's own files (the watcher state, <c>bridge.db</c>). Default: the host's data directory.</summary>
    public string? DataDirectory { get; set; }

    public List<ImapServerOptions> Servers { get; set; } = [];

    /// <summary>Problems that make this configuration unusable, empty when it is fine.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (!Enabled)
        {
            return errors;
        }
        if (Servers.Count == 0)
        {
            errors.Add("Bridge:Servers is empty: configure at least one IMAP server");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Servers.Count; i++)
        {
            var s = Servers[i];
            var at = $"Bridge:Servers:{i}";
            if (!names.Add(s.Name))
            {
                errors.Add($"{at}:Name '{s.Name}' is used twice");
            }
            if (string.IsNullOrWhiteSpace(s.Host))
            {
                errors.Add($"{at}:Host is empty");
            }
            if (s.Port is < 1 or > 65535)
            {
                errors.Add($"{at}:Port {s.Port} is not 1 to 65535");
            }
            if (s.TlsPinnedCertificate is { Length: > 0 } pin)
            {
                try
                {
                    Imap.ImapTlsTrust.ParsePin(pin);
                }
                catch (ArgumentException e)
                {
                    errors.Add($"{at}:TlsPinnedCertificate: {e.Message}");
                }
            }
            if (s.TlsCaFile is { Length: > 0 } ca && !File.Exists(ca))
            {
                errors.Add($"{at}:TlsCaFile '{ca}' does not exist");
            }
            if (s.Security == Imap.ImapSecurity.None && (s.TlsCaFile is { Length: > 0 } || s.TlsPinnedCertificate is { Length: > 0 }))
            {
                errors.Add($"{at}: TlsCaFile/TlsPinnedCertificate are set but Security is None (no TLS)");
            }
            if (s.Users.Count > 0 && s.MasterUser is null)
            {
                errors.Add($"{at}:Users needs MasterUser (the users are logged in through the master user)");
            }
            if (s.MasterUser is { } m && (string.IsNullOrEmpty(m.User) || string.IsNullOrEmpty(m.Password)))
            {
                errors.Add($"{at}:MasterUser needs User and Password");
            }
            for (var j = 0; j < s.Accounts.Count; j++)
            {
                var a = s.Accounts[j];
                if (string.IsNullOrEmpty(a.Login))
                {
                    errors.Add($"{at}:Accounts:{j}:Login is empty");
                }
                if (!Aggregators.EventModel.AccountId.TryParse(a.Account ?? a.Login, out _, out var why))
                {
                    errors.Add($"{at}:Accounts:{j}: account id '{a.Account ?? a.Login}' is not usable in events: {why}");
                }
                if (a.Password is null && s.MasterUser is null)
                {
                    errors.Add($"{at}:Accounts:{j}:Password is missing and there is no MasterUser");
                }
            }
            foreach (var u in s.Users)
            {
                if (!Aggregators.EventModel.AccountId.TryParse(u, out _, out var why))
                {
                    errors.Add($"{at}:Users: '{u}' is not usable as an account id in events: {why}");
                }
            }
            if (s.PollInterval <= TimeSpan.Zero)
            {
                errors.Add($"{at}:PollInterval must be positive");
            }
            if (s.IdleRenewInterval <= TimeSpan.Zero || s.IdleRenewInterval >= TimeSpan.FromMinutes(29))
            {
                errors.Add($"{at}:IdleRenewInterval must be below 29 minutes (RFC 2177 §3)");
            }
        }
        return errors;
    }
}

/// <summary>How a watcher learns about changes.</summary>
public enum WatchMode
{
    /// <summary>NOTIFY (RFC 5465) plus IDLE when the server offers NOTIFY after login, else <see cref="IdleOnly"/>.</summary>
    Auto,

    /// <summary>IDLE (RFC 2177) on INBOX and STATUS polling of the other mailboxes every <see cref="ImapServerOptions.PollInterval"/>.</summary>
    IdleOnly,
}

/// <summary>How the master user logs in for another user.</summary>
public enum MasterLoginMethod
{
    /// <summary>SASL PLAIN with the user as authorization identity (RFC 4616; Dovecot and Cyrus).</summary>
    SaslPlainAuthzid,

    /// <summary>LOGIN "user{Separator}master" (Dovecot's auth_master_user_separator).</summary>
    LoginSeparator,
}

public sealed class MasterUserOptions
{
    public string User { get; set; } = "";
    public string Password { get; set; } = "";
    public MasterLoginMethod Method { get; set; } = MasterLoginMethod.SaslPlainAuthzid;

    /// <summary>For <see cref="MasterLoginMethod.LoginSeparator"/>.</summary>
    public string Separator { get; set; } = "*";
}

/// <summary>One IMAP server and the accounts watched on it. One circuit breaker per server.</summary>
public sealed class ImapServerOptions
{
    /// <summary>Name for logs and the status page; unique.</summary>
    public string Name { get; set; } = "default";

    public string Host { get; set; } = "127.0.0.1";
    public int Port { get; set; } = 143;

    /// <summary>None (loopback/tests only), StartTls (required) or Tls (implicit, port 993).</summary>
    public ImapSecurity Security { get; set; } = ImapSecurity.StartTls;

    /// <summary>Name the server certificate must match; default <see cref="Host"/>.</summary>
    public string? TlsTargetHost { get; set; }

    /// <summary>
    /// PEM file of the CA(s) that issued the server certificate, trusted instead of the system
    /// store (a site's own CA, a self-signed server certificate). The name is still checked.
    /// </summary>
    public string? TlsCaFile { get; set; }

    /// <summary>SHA-256 fingerprint of the server certificate (hex, colons allowed): only that certificate is accepted.</summary>
    public string? TlsPinnedCertificate { get; set; }

    /// <summary>Accept any server certificate: anyone on the path can read the passwords. For tests only; never in production.</summary>
    public bool AllowInvalidCertificate { get; set; }

    /// <summary>Accounts with their own credentials (or, without a password, through <see cref="MasterUser"/>).</summary>
    public List<AccountOptions> Accounts { get; set; } = [];

    /// <summary>A master user that can log in as each of <see cref="Users"/>.</summary>
    public MasterUserOptions? MasterUser { get; set; }

    /// <summary>Logins watched through <see cref="MasterUser"/>.</summary>
    public List<string> Users { get; set; } = [];

    public WatchMode Mode { get; set; } = WatchMode.Auto;

    /// <summary>
    /// Mailboxes to watch, IMAP names with <c>*</c> (any characters) and <c>%</c> (any but the hierarchy
    /// delimiter) as in LIST (RFC 3501 §6.3.8). INBOX is always watched unless excluded.
    /// </summary>
    public List<string> IncludeMailboxes { get; set; } = ["*"];

    /// <summary>Mailboxes never watched (e.g. <c>Junk</c>, <c>Trash</c>), same wildcards; wins over include.</summary>
    public List<string> ExcludeMailboxes { get; set; } = [];

    /// <summary>STATUS polling of the other mailboxes in IDLE-only mode.</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>IDLE is ended and re-issued this often (RFC 2177 §3: servers may drop after 29 min).</summary>
    public TimeSpan IdleRenewInterval { get; set; } = TimeSpan.FromMinutes(25);

    /// <summary>With no traffic for this long the watcher sends NOOP; no answer within the command timeout means a dead connection.</summary>
    public TimeSpan KeepAliveInterval { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan CommandTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Fetch ENVELOPE for new messages and put From/Subject in MessageNew.</summary>
    public bool IncludeEnvelope { get; set; }

    /// <summary>Reconnect backoff: first delay, doubled with jitter up to <see cref="ReconnectMaxDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan ReconnectMaxDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retry delay after AUTHENTICATIONFAILED: slow, so a wrong password is not hammered.</summary>
    public TimeSpan AuthFailureRetryDelay { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// Per-server circuit breaker (shared by the server's accounts): when at least this share of
    /// connection attempts within <see cref="CircuitSamplingDuration"/> fail (and at least
    /// <see cref="CircuitMinimumThroughput"/> were made), nobody connects for <see cref="CircuitBreakDuration"/>.
    /// </summary>
    public double CircuitFailureRatio { get; set; } = 0.8;

    public int CircuitMinimumThroughput { get; set; } = 4;
    public TimeSpan CircuitSamplingDuration { get; set; } = TimeSpan.FromSeconds(30);
    public TimeSpan CircuitBreakDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The accounts this server's watchers log in as, in configuration order.</summary>
    public IEnumerable<AccountOptions> AllAccounts()
    {
        foreach (var a in Accounts)
        {
            yield return a;
        }
        foreach (var u in Users)
        {
            yield return new AccountOptions { Login = u };
        }
    }
}

/// <summary>One watched account.</summary>
public sealed class AccountOptions
{
    /// <summary>The IMAP login.</summary>
    public string Login { get; set; } = "";

    /// <summary>The account's own password; null to log in through the server's master user.</summary>
    public string? Password { get; set; }

    /// <summary>The account id in events (docs/events.md "account"); default <see cref="Login"/>.</summary>
    public string? Account { get; set; }

    /// <summary>Overrides the server's <see cref="ImapServerOptions.IncludeMailboxes"/> when set.</summary>
    public List<string>? IncludeMailboxes { get; set; }

    /// <summary>Overrides the server's <see cref="ImapServerOptions.ExcludeMailboxes"/> when set.</summary>
    public List<string>? ExcludeMailboxes { get; set; }

    /// <summary>Overrides the server's <see cref="ImapServerOptions.IncludeEnvelope"/> when set.</summary>
    public bool? IncludeEnvelope { get; set; }
}
