using Aggregators.Pna.Hosting;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Alerts;

/// <summary>Unsolicited alerts ("Pna:Alerts", docs/alerts.md): intake, consent, limits, delivery.</summary>
public sealed class AlertOptions
{
    public const string SectionName = "Pna:Alerts";

    /// <summary>Producers allowed to post alerts; empty: the ingest sources (Pna:Ingest:Sources or the generated token) are used.</summary>
    public List<IngestSource> Sources { get; set; } = [];

    /// <summary>Per-target consent by configuration.</summary>
    public List<AlertTargetConsent> Targets { get; set; } = [];

    /// <summary>A target holding an active subscription that covers the alert's mailbox consents to alerts about it.</summary>
    public bool AllowSubscribers { get; set; } = true;

    public long MaxBodyBytes { get; set; } = 64 * 1024;

    public int MaxTargets { get; set; } = 16;

    /// <summary>Longest alert text, in characters.</summary>
    public int MaxTextLength { get; set; } = 1024;

    public AlertRateOptions PerTarget { get; set; } = new() { Burst = 10, PerMinute = 20 };

    public AlertRateOptions PerSource { get; set; } = new() { Burst = 100, PerMinute = 600 };

    /// <summary>An alert identical to one accepted for the same target within this window is folded into it.</summary>
    public TimeSpan FoldWindow { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>An alert not delivered within this time after it was accepted is expired.</summary>
    public TimeSpan Expiry { get; set; } = TimeSpan.FromHours(1);

    /// <summary>First retry delay after a temporary failure; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Alerts being delivered or waiting for a retry; beyond it new alerts are refused ("delivery queue full").</summary>
    public int MaxPending { get; set; } = 10_000;

    /// <summary>Alerts older than this are deleted from the store.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>Local part of the XMPP sender: alerts come from &lt;local&gt;@&lt;component domain&gt;.</summary>
    public string XmppFrom { get; set; } = "alerts";

    public AlertSipOptions Sip { get; set; } = new();
}

/// <summary>Which sources and senders may alert one target (an xmpp:, sip: or sips: URI).</summary>
public sealed class AlertTargetConsent
{
    public string Target { get; set; } = "";

    /// <summary>Source names (as authenticated), or "*" for any source.</summary>
    public List<string> AllowSources { get; set; } = [];

    /// <summary>Mail senders (the alert's "from"): "romeo@example.com", "*@example.com", or "*".</summary>
    public List<string> AllowSenders { get; set; } = [];
}

/// <summary>A token bucket: <see cref="Burst"/> alerts at once, refilled at <see cref="PerMinute"/>.</summary>
public sealed class AlertRateOptions
{
    public int Burst { get; set; }

    public int PerMinute { get; set; }
}

public sealed class AlertSipOptions
{
    /// <summary>Where the alert sender's own UDP socket binds (port 0: any free port).</summary>
    public string LocalAddress { get; set; } = "127.0.0.1:0";

    /// <summary>
    /// The outbound proxy every MESSAGE is sent through (RFC 3261 §8.1.2): "host[:port]" (as
    /// <c>sip:host[:port]</c>) or a SIP URI such as <c>sip:proxy.example.com;transport=tcp</c> or
    /// <c>sips:proxy.example.com</c>; empty: straight to the target's host. Its transport and
    /// address are chosen as RFC 3263 §4 says (docs/alerts.md).
    /// </summary>
    public string OutboundProxy { get; set; } = "";

    /// <summary>The From of each MESSAGE.</summary>
    public string From { get; set; } = "sip:alerts@localhost";

    /// <summary>Look up DNS SRV records (RFC 3263 §4.1, §4.2 without NAPTR) for a next hop named by a domain without a port.</summary>
    public bool DnsSrv { get; set; }

    /// <summary>The DNS server for SRV ("address[:port]"); empty: the first nameserver of /etc/resolv.conf.</summary>
    public string DnsServer { get; set; } = "";

    /// <summary>Digest credentials (RFC 3261 §22.2, §22.3) answering a 401 or 407 of the realm they name.</summary>
    public List<AlertSipCredential> Credentials { get; set; } = [];

    /// <summary>TLS: a PEM file of the CA(s) a proxy's certificate must chain to (instead of the system store).</summary>
    public string TlsCaFile { get; set; } = "";

    /// <summary>TLS: the SHA-256 fingerprint of the one certificate accepted (64 hex digits, colons allowed).</summary>
    public string TlsPinnedSha256 { get; set; } = "";
}

/// <summary>Digest credentials for one realm (a proxy's or a domain's); realm "*" answers any.</summary>
public sealed class AlertSipCredential
{
    public string Realm { get; set; } = "";

    public string Username { get; set; } = "";

    public string Password { get; set; } = "";
}

internal sealed class AlertOptionsValidator : IValidateOptions<AlertOptions>
{
    public ValidateOptionsResult Validate(string? name, AlertOptions o)
    {
        var errors = new List<string>();
        for (var i = 0; i < o.Sources.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(o.Sources[i].Name) || o.Sources[i].Token is not { Length: >= 16 })
            {
                errors.Add($"Pna:Alerts:Sources:{i} needs a Name and a Token of at least 16 characters.");
            }
        }
        for (var i = 0; i < o.Targets.Count; i++)
        {
            if (!AlertTarget.TryParse(o.Targets[i].Target, out _, out var error))
            {
                errors.Add($"Pna:Alerts:Targets:{i}:Target '{o.Targets[i].Target}': {error}.");
            }
        }
        Check(errors, o.PerTarget, "PerTarget");
        Check(errors, o.PerSource, "PerSource");
        if (o.MaxBodyBytes is < 1024 or > 16 * 1024 * 1024)
        {
            errors.Add($"Pna:Alerts:MaxBodyBytes must be between 1024 and 16777216 (was {o.MaxBodyBytes}).");
        }
        if (o.MaxTargets is < 1 or > 1000)
        {
            errors.Add($"Pna:Alerts:MaxTargets must be between 1 and 1000 (was {o.MaxTargets}).");
        }
        if (o.MaxTextLength is < 16 or > 65536)
        {
            errors.Add($"Pna:Alerts:MaxTextLength must be between 16 and 65536 (was {o.MaxTextLength}).");
        }
        if (o.FoldWindow < TimeSpan.Zero || o.FoldWindow > TimeSpan.FromHours(1))
        {
            errors.Add($"Pna:Alerts:FoldWindow must be between 00:00:00 (off) and 01:00:00 (was {o.FoldWindow}).");
        }
        if (o.Expiry < TimeSpan.FromSeconds(1) || o.Expiry > TimeSpan.FromDays(7))
        {
            errors.Add($"Pna:Alerts:Expiry must be between 00:00:01 and 7.00:00:00 (was {o.Expiry}).");
        }
        if (o.RetryDelay < TimeSpan.FromMilliseconds(10) || o.MaxRetryDelay < o.RetryDelay)
        {
            errors.Add($"Pna:Alerts:RetryDelay must be at least 00:00:00.010 and at most MaxRetryDelay (were {o.RetryDelay}, {o.MaxRetryDelay}).");
        }
        if (o.MaxPending is < 1 or > 10_000_000)
        {
            errors.Add($"Pna:Alerts:MaxPending must be between 1 and 10000000 (was {o.MaxPending}).");
        }
        if (!Aggregators.Xmpp.Jid.TryParse(o.XmppFrom + "@example.com", out _))
        {
            errors.Add($"Pna:Alerts:XmppFrom '{o.XmppFrom}' is not a valid JID localpart.");
        }
        if (!System.Net.IPEndPoint.TryParse(o.Sip.LocalAddress, out _))
        {
            errors.Add($"Pna:Alerts:Sip:LocalAddress '{o.Sip.LocalAddress}' is not an address:port.");
        }
        if (o.Sip.OutboundProxy.Length > 0 && !Transports.Sip.SipAlertRouting.TryParseProxy(o.Sip.OutboundProxy, out _, out var proxyError))
        {
            errors.Add($"Pna:Alerts:Sip:OutboundProxy '{o.Sip.OutboundProxy}': {proxyError}.");
        }
        if (o.Sip.DnsServer.Length > 0 && !System.Net.IPEndPoint.TryParse(o.Sip.DnsServer, out _))
        {
            errors.Add($"Pna:Alerts:Sip:DnsServer '{o.Sip.DnsServer}' is not an address[:port].");
        }
        for (var i = 0; i < o.Sip.Credentials.Count; i++)
        {
            var c = o.Sip.Credentials[i];
            if (string.IsNullOrWhiteSpace(c.Realm) || string.IsNullOrEmpty(c.Username) || string.IsNullOrEmpty(c.Password))
            {
                errors.Add($"Pna:Alerts:Sip:Credentials:{i} needs a Realm (or \"*\"), a Username and a Password.");
            }
        }
        if (o.Sip.TlsCaFile.Length > 0 && !File.Exists(o.Sip.TlsCaFile))
        {
            errors.Add($"Pna:Alerts:Sip:TlsCaFile '{o.Sip.TlsCaFile}' does not exist.");
        }
        if (o.Sip.TlsPinnedSha256.Length > 0)
        {
            try
            {
                _ = Aggregators.ImapBridge.Imap.ImapTlsTrust.ParsePin(o.Sip.TlsPinnedSha256);
            }
            catch (ArgumentException e)
            {
                errors.Add($"Pna:Alerts:Sip:TlsPinnedSha256: {e.Message}.");
            }
        }
        try
        {
            _ = Aggregators.Sip.SipUri.Parse(o.Sip.From);
        }
        catch (Aggregators.Sip.SipParseException)
        {
            errors.Add($"Pna:Alerts:Sip:From '{o.Sip.From}' is not a SIP URI.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static void Check(List<string> errors, AlertRateOptions r, string name)
    {
        if (r.Burst is < 1 or > 1_000_000 || r.PerMinute is < 1 or > 6_000_000)
        {
            errors.Add($"Pna:Alerts:{name} needs Burst 1..1000000 and PerMinute 1..6000000 (were {r.Burst}, {r.PerMinute}).");
        }
    }
}
