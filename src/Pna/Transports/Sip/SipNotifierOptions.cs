using System.Net;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>Configuration of the SIP notifier, section <c>Pna:Sip</c> (docs/sip.md).</summary>
public sealed class SipNotifierOptions
{
    public const string SectionName = "Pna:Sip";

    /// <summary>The notifier runs only when true (off by default, so a PNA without SIP needs no credentials file).</summary>
    public bool Enabled { get; set; }

    /// <summary>UDP listen endpoints ("127.0.0.1:5060"; port 0 picks one).</summary>
    public List<string> Udp { get; init; } = [];

    /// <summary>TCP listen endpoints.</summary>
    public List<string> Tcp { get; init; } = [];

    /// <summary>TLS listen endpoints; need <see cref="TlsCertificateFile"/>.</summary>
    public List<string> Tls { get; init; } = [];

    /// <summary>
    /// The host name or IP address put in the Via and Contact of what the notifier sends (with each
    /// listener's own port). Required when a listener binds an unspecified address (0.0.0.0 or ::);
    /// also for a PNA behind NAT. Empty: the bound address.
    /// </summary>
    public string AdvertisedHost { get; set; } = "";

    /// <summary>PEM or PKCS#12 file with the TLS certificate and its private key.</summary>
    public string? TlsCertificateFile { get; set; }

    public string? TlsCertificatePassword { get; set; }

    /// <summary>
    /// The SIP domains the PNA serves. A SUBSCRIBE whose Request-URI host is not one of them gets
    /// 404. Empty: any domain is served.
    /// </summary>
    public List<string> Domains { get; init; } = [];

    /// <summary>
    /// SIP domain → mail domain of the account (sip:juliet@sip.example.com → juliet@example.com).
    /// A domain not listed maps to itself.
    /// </summary>
    public Dictionary<string, string> AccountDomains { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Answer 404 for accounts the PNA has never had an event for.</summary>
    public bool RejectUnknownAccounts { get; set; } = true;

    /// <summary>
    /// The receive buffer asked for on each UDP listener, in bytes (SO_RCVBUF; Linux caps it at
    /// net.core.rmem_max). Every dialog may have a NOTIFY in flight, so a burst fanned out to many
    /// dialogs brings as many 200s back at once: those dropped for a full buffer cost a timer-E
    /// retransmission each. 0: the system default (about 200 KB on Linux).
    /// </summary>
    public int UdpReceiveBufferBytes { get; set; } = 4 << 20;

    /// <summary>
    /// TCP/TLS: a connection without traffic for this long is closed, unless a live subscription
    /// dialog pins it (docs/sip.md, "Stream connections and idleness").
    /// </summary>
    public int StreamIdleTimeoutSeconds { get; set; } = 300;

    public int MinExpiresSeconds { get; set; } = 60;
    public int MaxExpiresSeconds { get; set; } = 3600;
    public int DefaultExpiresSeconds { get; set; } = 3600;

    public SipAuthenticationOptions Authentication { get; init; } = new();

    /// <summary>RFC 3458 message-context class of the message-summary line (text-message for e-mail).</summary>
    public string MessageClass { get; set; } = "text-message";

    /// <summary>CNAs trusted to assert their users' identities with P-Asserted-Identity (RFC 3325), docs/sip.md.</summary>
    public List<SipTrustedPeerOptions> TrustedPeers { get; init; } = [];

    /// <summary>The optional minimal registrar (for softphones that insist on registering somewhere).</summary>
    public SipRegistrarOptions Registrar { get; init; } = new();

    internal IEnumerable<(Aggregators.Sip.Transport.SipTransportProtocol Protocol, IPEndPoint EndPoint)> Listeners()
    {
        var udp = Udp.Count == 0 && Tcp.Count == 0 && Tls.Count == 0 ? ["127.0.0.1:5060"] : Udp;
        var tcp = Udp.Count == 0 && Tcp.Count == 0 && Tls.Count == 0 ? ["127.0.0.1:5060"] : Tcp;
        foreach (var u in udp)
        {
            yield return (Aggregators.Sip.Transport.SipTransportProtocol.Udp, IPEndPoint.Parse(u));
        }
        foreach (var t in tcp)
        {
            yield return (Aggregators.Sip.Transport.SipTransportProtocol.Tcp, IPEndPoint.Parse(t));
        }
        foreach (var t in Tls)
        {
            yield return (Aggregators.Sip.Transport.SipTransportProtocol.Tls, IPEndPoint.Parse(t));
        }
    }

    internal IEnumerable<string> Validate()
    {
        foreach (var e in Udp.Concat(Tcp).Concat(Tls))
        {
            if (!IPEndPoint.TryParse(e, out _))
            {
                yield return $"Pna:Sip: '{e}' is not an address:port";
            }
        }
        if (AdvertisedHost.Length == 0 && Udp.Concat(Tcp).Concat(Tls).All(e => IPEndPoint.TryParse(e, out _)) && Listeners().Any(l => l.EndPoint.Address.Equals(IPAddress.Any) || l.EndPoint.Address.Equals(IPAddress.IPv6Any)))
        {
            yield return "Pna:Sip: a listener on 0.0.0.0 or :: needs Pna:Sip:AdvertisedHost (the address peers reach the PNA at, for Via and Contact)";
        }
        if (AdvertisedHost.Length > 0 && !IPAddress.TryParse(AdvertisedHost.Trim('[', ']'), out _) && Uri.CheckHostName(AdvertisedHost) != UriHostNameType.Dns)
        {
            yield return $"Pna:Sip:AdvertisedHost '{AdvertisedHost}' is not a host name or IP address";
        }
        if (Tls.Count > 0 && string.IsNullOrEmpty(TlsCertificateFile))
        {
            yield return "Pna:Sip:Tls needs Pna:Sip:TlsCertificateFile";
        }
        if (StreamIdleTimeoutSeconds < 1)
        {
            yield return "Pna:Sip:StreamIdleTimeoutSeconds: must be at least 1";
        }
        if (UdpReceiveBufferBytes < 0)
        {
            yield return "Pna:Sip:UdpReceiveBufferBytes: must be 0 (system default) or a size in bytes";
        }
        if (MinExpiresSeconds < 1 || MaxExpiresSeconds < MinExpiresSeconds || DefaultExpiresSeconds < MinExpiresSeconds || DefaultExpiresSeconds > MaxExpiresSeconds)
        {
            yield return "Pna:Sip: need 1 <= MinExpiresSeconds <= DefaultExpiresSeconds <= MaxExpiresSeconds";
        }
        if (!Aggregators.EventModel.Bodies.MessageSummary.IsMessageClass(MessageClass))
        {
            yield return $"Pna:Sip:MessageClass '{MessageClass}' is not an RFC 3458 message-context class";
        }
        foreach (var a in Authentication.Algorithms)
        {
            if (!Aggregators.Sip.Auth.DigestComputation.TryParseName(a, out _))
            {
                yield return $"Pna:Sip:Authentication:Algorithms: '{a}' is not SHA-256 or MD5";
            }
        }
        for (var i = 0; i < TrustedPeers.Count; i++)
        {
            var p = TrustedPeers[i];
            if (string.IsNullOrEmpty(p.Username) || string.IsNullOrEmpty(p.Password) || p.Domains.Count == 0)
            {
                yield return $"Pna:Sip:TrustedPeers:{i} needs Username, Password and Domains";
            }
            foreach (var a in p.Addresses.Where(a => !IPAddress.TryParse(a, out _)))
            {
                yield return $"Pna:Sip:TrustedPeers:{i}:Addresses: '{a}' is not an IP address";
            }
        }
        if (TrustedPeers.Count > 0 && !Authentication.Enabled)
        {
            yield return "Pna:Sip:TrustedPeers need Pna:Sip:Authentication:Enabled (peers authenticate with digest)";
        }
        if (Authentication.Enabled && string.IsNullOrEmpty(Authentication.CredentialsFile))
        {
            yield return "Pna:Sip:Authentication:CredentialsFile is required while authentication is on";
        }
    }
}

public sealed class SipAuthenticationOptions
{
    /// <summary>Digest authentication of every SUBSCRIBE (RFC 3261 §22); on by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Digest realm; the authenticated subscriber is sip:username@realm. Empty: the first of Domains, else "pna".</summary>
    public string Realm { get; set; } = "";

    /// <summary>The credentials file (format in docs/sip.md).</summary>
    public string? CredentialsFile { get; set; }

    public TimeSpan NonceLifetime { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Challenges offered, preferred first (RFC 8760 §2.4): SHA-256 and MD5; some UAs (SIPp) only do MD5.</summary>
    public List<string> Algorithms { get; init; } = [];

    internal IReadOnlyList<Aggregators.Sip.Auth.DigestAlgorithm> ParsedAlgorithms()
    {
        if (Algorithms.Count == 0)
        {
            return [Aggregators.Sip.Auth.DigestAlgorithm.Sha256, Aggregators.Sip.Auth.DigestAlgorithm.Md5];
        }
        var list = new List<Aggregators.Sip.Auth.DigestAlgorithm>();
        foreach (var a in Algorithms)
        {
            if (!Aggregators.Sip.Auth.DigestComputation.TryParseName(a, out var parsed))
            {
                throw new FormatException($"Pna:Sip:Authentication:Algorithms: '{a}' is not SHA-256 or MD5");
            }
            list.Add(parsed);
        }
        return list;
    }
}

public sealed class SipRegistrarOptions
{
    public bool Enabled { get; set; }

    /// <summary>How long the 200 to a REGISTER is held back (some UAs re-register in a loop when answered at once).</summary>
    public TimeSpan ResponseDelay { get; set; } = TimeSpan.FromMilliseconds(200);
}
