using System.Net;
using Aggregators.Sip.Transport;

namespace Aggregators.Cna.Sip;

/// <summary>Configuration of the CNA's SIP side, section <c>Cna:Sip</c> (docs/cna.md).</summary>
public sealed class CnaSipOptions
{
    public const string SectionName = "Cna:Sip";

    /// <summary>The SIP side runs only when true.</summary>
    public bool Enabled { get; set; }

    /// <summary>UDP listen endpoints ("127.0.0.1:5070"; port 0 picks one). Local subscribers and upstream share them.</summary>
    public List<string> Udp { get; init; } = [];

    public List<string> Tcp { get; init; } = [];

    /// <summary>The CNA's own SIP domains (its local users are user@domain); the first is the default realm.</summary>
    public List<string> Domains { get; init; } = [];

    /// <summary>Digest realm for local users; empty: the first of <see cref="Domains"/>.</summary>
    public string Realm { get; set; } = "";

    /// <summary>Digest challenges offered to local users, preferred first: SHA-256, MD5 (set MD5 alone for baresip 1.0 and SIPp, docs/sip.md).</summary>
    public List<string> DigestAlgorithms { get; init; } = [];

    /// <summary>The users file (format in docs/cna.md): local users and their upstream credentials.</summary>
    public string? UsersFile { get; set; }

    /// <summary>Remote domain → how to reach its PNA.</summary>
    public Dictionary<string, CnaSipRoute> Routes { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Look up <c>_sip._udp.&lt;domain&gt;</c>, then <c>_sip._tcp</c> (RFC 3263 §4.2, RFC 2782) for domains without a route.</summary>
    public bool DnsSrv { get; set; }

    /// <summary>The DNS server for SRV lookups (address or address:port); empty: the first nameserver of /etc/resolv.conf.</summary>
    public string DnsServer { get; set; } = "";

    /// <summary>How to authenticate to PNAs found by SRV (a route without Target/Transport).</summary>
    public CnaSipRoute SrvDefaults { get; init; } = new();

    /// <summary>Which local users may watch which remote resources; empty: every authenticated user anything routed.</summary>
    public List<CnaSipAuthorizationRule> Authorization { get; init; } = [];

    /// <summary>Heartbeat interval the CNA asks upstream for (mail-event) or refreshes at (message-summary); silence for two intervals makes the state stale.</summary>
    public int HeartbeatSeconds { get; set; } = 60;

    /// <summary>Expires asked for upstream.</summary>
    public int UpstreamExpiresSeconds { get; set; } = 3600;

    /// <summary>Longest wait for a new upstream subscription's first answer before the local SUBSCRIBE is accepted anyway (stale).</summary>
    public double FirstAnswerTimeoutSeconds { get; set; } = 5;

    /// <summary>Re-subscribe backoff: first delay and cap (exponential with jitter).</summary>
    public double RetryBaseDelaySeconds { get; set; } = 1;

    public double RetryMaxDelaySeconds { get; set; } = 60;

    /// <summary>RFC 3261 T1 (ms); transaction timeouts are 64*T1. Lower only on a LAN or in tests.</summary>
    public int TimerT1Milliseconds { get; set; } = 500;

    public int MinExpiresSeconds { get; set; } = 60;
    public int MaxExpiresSeconds { get; set; } = 3600;
    public int DefaultExpiresSeconds { get; set; } = 3600;

    /// <summary>Minimal registrar for local users (softphones that subscribe only after registering).</summary>
    public bool RegistrarEnabled { get; set; }

    /// <summary>How long the registrar holds back its 200 (baresip floods a registrar that answers at once).</summary>
    public TimeSpan RegistrarResponseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    internal IReadOnlyList<Aggregators.Sip.Auth.DigestAlgorithm> ParsedAlgorithms() =>
        DigestAlgorithms.Count == 0
            ? [Aggregators.Sip.Auth.DigestAlgorithm.Sha256, Aggregators.Sip.Auth.DigestAlgorithm.Md5]
            : [.. DigestAlgorithms.Select(a => Aggregators.Sip.Auth.DigestComputation.TryParseName(a, out var p) ? p : throw new FormatException($"Cna:Sip:DigestAlgorithms: '{a}' is not SHA-256 or MD5"))];

    internal string RealmOrDefault => Realm.Length > 0 ? Realm : Domains.FirstOrDefault() ?? "cna";

    internal IEnumerable<(SipTransportProtocol Protocol, IPEndPoint EndPoint)> Listeners()
    {
        var none = Udp.Count == 0 && Tcp.Count == 0;
        foreach (var u in none ? ["127.0.0.1:5070"] : Udp)
        {
            yield return (SipTransportProtocol.Udp, IPEndPoint.Parse(u));
        }
        foreach (var t in none ? ["127.0.0.1:5070"] : Tcp)
        {
            yield return (SipTransportProtocol.Tcp, IPEndPoint.Parse(t));
        }
    }

    internal IEnumerable<string> Validate()
    {
        foreach (var e in Udp.Concat(Tcp))
        {
            if (!IPEndPoint.TryParse(e, out _))
            {
                yield return $"Cna:Sip: '{e}' is not an address:port";
            }
        }
        if (string.IsNullOrEmpty(UsersFile))
        {
            yield return "Cna:Sip:UsersFile is required";
        }
        if (Domains.Count == 0)
        {
            yield return "Cna:Sip:Domains needs the CNA's own domain";
        }
        foreach (var a in DigestAlgorithms.Where(a => !Aggregators.Sip.Auth.DigestComputation.TryParseName(a, out _)))
        {
            yield return $"Cna:Sip:DigestAlgorithms: '{a}' is not SHA-256 or MD5";
        }
        if (HeartbeatSeconds < 1)
        {
            yield return "Cna:Sip:HeartbeatSeconds must be at least 1";
        }
        if (MinExpiresSeconds < 1 || MaxExpiresSeconds < MinExpiresSeconds || DefaultExpiresSeconds < MinExpiresSeconds || DefaultExpiresSeconds > MaxExpiresSeconds)
        {
            yield return "Cna:Sip: need 1 <= MinExpiresSeconds <= DefaultExpiresSeconds <= MaxExpiresSeconds";
        }
        if (TimerT1Milliseconds < 10)
        {
            yield return "Cna:Sip:TimerT1Milliseconds must be at least 10";
        }
        if (DnsSrv)
        {
            if (DnsServer.Length > 0 && !IPEndPoint.TryParse(DnsServer, out _))
            {
                yield return $"Cna:Sip:DnsServer '{DnsServer}' is not an address[:port]";
            }
            foreach (var error in new CnaSipRoute { Target = "0.0.0.0:0", Authentication = SrvDefaults.Authentication, PeerUsername = SrvDefaults.PeerUsername, PeerPassword = SrvDefaults.PeerPassword }.Validate("SrvDefaults"))
            {
                yield return error.Replace("Routes:SrvDefaults", "SrvDefaults", StringComparison.Ordinal);
            }
        }
        foreach (var (domain, route) in Routes)
        {
            foreach (var error in route.Validate(domain))
            {
                yield return error;
            }
        }
        for (var i = 0; i < Authorization.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(Authorization[i].User) || string.IsNullOrWhiteSpace(Authorization[i].Resource))
            {
                yield return $"Cna:Sip:Authorization:{i} needs User and Resource";
            }
        }
    }
}

/// <summary>How the CNA authenticates upstream to a domain's PNA.</summary>
public enum CnaUpstreamAuthentication
{
    /// <summary>The CNA is a trusted peer of the PNA: its own digest credentials plus P-Asserted-Identity (RFC 3325).</summary>
    TrustedPeer,

    /// <summary>Each local user's own credentials for the PNA's realm, from the users file.</summary>
    PerUser,

    /// <summary>No credentials (a PNA with authentication off, trusted networks only).</summary>
    None,
}

/// <summary>Whose identity a trusted-peer CNA asserts upstream.</summary>
public enum CnaAssertedIdentity
{
    /// <summary>The CNA's own identity (<see cref="CnaSipRoute.CnaIdentity"/>): one upstream subscription serves every local user; the CNA authorizes them.</summary>
    Cna,

    /// <summary>Each local user's identity: the PNA's per-user policy applies exactly, one upstream subscription per (user, resource).</summary>
    User,
}

/// <summary>One <c>Cna:Sip:Routes:&lt;domain&gt;</c> entry.</summary>
public sealed class CnaSipRoute
{
    /// <summary>The PNA's SIP address:port.</summary>
    public string Target { get; set; } = "";

    /// <summary><c>udp</c> or <c>tcp</c>.</summary>
    public string Transport { get; set; } = "udp";

    public CnaUpstreamAuthentication Authentication { get; set; } = CnaUpstreamAuthentication.TrustedPeer;

    /// <summary>TrustedPeer: the CNA's digest username and password at the PNA (Pna:Sip:TrustedPeers).</summary>
    public string? PeerUsername { get; set; }

    public string? PeerPassword { get; set; }

    public CnaAssertedIdentity AssertIdentity { get; set; } = CnaAssertedIdentity.Cna;

    /// <summary>The identity asserted for <see cref="CnaAssertedIdentity.Cna"/>; empty: sip:cna@&lt;first domain&gt;.</summary>
    public string CnaIdentity { get; set; } = "";

    internal IPEndPoint TargetEndPoint => IPEndPoint.Parse(Target);

    internal SipTransportProtocol Protocol => Transport.Equals("tcp", StringComparison.OrdinalIgnoreCase) ? SipTransportProtocol.Tcp : SipTransportProtocol.Udp;

    /// <summary>A copy of these settings towards <paramref name="target"/> (a PNA found by SRV).</summary>
    internal CnaSipRoute Towards(IPEndPoint target, string transport) => new()
    {
        Target = target.ToString(),
        Transport = transport,
        Authentication = Authentication,
        PeerUsername = PeerUsername,
        PeerPassword = PeerPassword,
        AssertIdentity = AssertIdentity,
        CnaIdentity = CnaIdentity,
    };

    internal IEnumerable<string> Validate(string domain)
    {
        if (!IPEndPoint.TryParse(Target, out _))
        {
            yield return $"Cna:Sip:Routes:{domain}:Target '{Target}' is not an address:port";
        }
        if (!Transport.Equals("udp", StringComparison.OrdinalIgnoreCase) && !Transport.Equals("tcp", StringComparison.OrdinalIgnoreCase))
        {
            yield return $"Cna:Sip:Routes:{domain}:Transport must be udp or tcp";
        }
        if (Authentication == CnaUpstreamAuthentication.TrustedPeer && (string.IsNullOrEmpty(PeerUsername) || string.IsNullOrEmpty(PeerPassword)))
        {
            yield return $"Cna:Sip:Routes:{domain}: TrustedPeer needs PeerUsername and PeerPassword";
        }
    }
}

/// <summary>
/// One authorization rule: local <see cref="User"/> (a user name or <c>*</c>) may watch
/// <see cref="Resource"/> (<c>juliet@example.com</c>, <c>*@example.com</c> or <c>*</c>).
/// </summary>
public sealed class CnaSipAuthorizationRule
{
    public string User { get; set; } = "";
    public string Resource { get; set; } = "";
}
