using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Microsoft.Extensions.Options;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// The CNA's XMPP side, section <see cref="SectionName"/> (docs/cna-xmpp.md): an XEP-0114
/// component of the consumer's XMPP server (e.g. <c>events.example.net</c>) that proxies the
/// pubsub services of remote PNAs: the component's connection keys (<see cref="ComponentSettings"/>)
/// and the proxy's own. Off by default.
/// </summary>
public sealed class CnaXmppOptions : ComponentSettings
{
    public const string SectionName = "Cna:Xmpp";

    public bool Enabled { get; set; }

    /// <summary>
    /// The localpart of the CNA's own JID at the PNAs: subscriptions and requests upstream come
    /// from <c>cna@events.example.net</c> (one resource per upstream subscription), the subscriber
    /// a PNA grants (<c>xmpp:cna@events.example.net</c>).
    /// </summary>
    public string UpstreamLocalpart { get; set; } = "cna";

    /// <summary>
    /// Domains whose users are local (their server authenticated them). Empty: the component
    /// domain without its first label (<c>events.example.net</c> → <c>example.net</c>).
    /// </summary>
    public List<string> LocalDomains { get; } = [];

    /// <summary>Mail domain → the pubsub service (PNA component domain) that publishes it: <c>example.com</c> → <c>events.example.com</c>.</summary>
    public Dictionary<string, string> Routes { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Who may watch what; empty: any local user may watch any routed account.</summary>
    public List<CnaXmppAllowRule> Allow { get; } = [];

    /// <summary>Local subscriptions one user (bare JID) may hold; more are refused (policy-violation).</summary>
    public int MaxSubscriptionsPerUser { get; set; } = 100;

    /// <summary>Heartbeat interval asked of the PNA; no word from it for two intervals makes the upstream subscription stale.</summary>
    public TimeSpan Heartbeat { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// An active upstream subscription is subscribed again this often, so the PNA re-checks its
    /// grant (a revoked one ends the local subscriptions); zero turns it off.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>How often the watchdog looks at the upstream subscriptions.</summary>
    public TimeSpan WatchdogTick { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>First delay before re-subscribing after a failure (exponential with jitter up to <see cref="MaxResubscribeDelay"/>).</summary>
    public TimeSpan ResubscribeDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxResubscribeDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>How long an upstream request may take before it counts as failed (and the local one gets remote-server-timeout).</summary>
    public TimeSpan UpstreamTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long upstream disco answers are reused.</summary>
    public TimeSpan DiscoCacheTime { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The local domains, with the default applied.</summary>
    public IReadOnlyList<string> EffectiveLocalDomains =>
        LocalDomains.Count > 0 ? [.. LocalDomains.Select(d => d.ToLowerInvariant())]
        : ComponentDomain.IndexOf('.', StringComparison.Ordinal) is var dot and > 0 ? [ComponentDomain[(dot + 1)..].ToLowerInvariant()] : [];
}

/// <summary>
/// One allow rule: <see cref="User"/> (a bare JID, <c>*@domain</c> or <c>*</c>) may watch
/// <see cref="Account"/> (a mail account, <c>*@domain</c> or <c>*</c>).
/// </summary>
public sealed class CnaXmppAllowRule
{
    public string User { get; set; } = "";

    public string Account { get; set; } = "";
}

internal sealed class CnaXmppOptionsValidator : IValidateOptions<CnaXmppOptions>
{
    public ValidateOptionsResult Validate(string? name, CnaXmppOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }
        const string S = CnaXmppOptions.SectionName;
        var errors = new List<string>();
        options.ValidateComponent(S, errors);
        if (string.IsNullOrEmpty(options.UpstreamLocalpart) || options.UpstreamLocalpart.Contains('\\', StringComparison.Ordinal)
            || !Jid.TryParse(options.UpstreamLocalpart + "@" + options.ComponentDomain, out _))
        {
            errors.Add($"{S}:UpstreamLocalpart must be a JID localpart without '\\' (was '{options.UpstreamLocalpart}').");
        }
        if (options.EffectiveLocalDomains.Count == 0 || options.EffectiveLocalDomains.Any(d => !IsDomain(d)))
        {
            errors.Add($"{S}:LocalDomains must list the local users' domains (e.g. example.net).");
        }
        if (options.Routes.Count == 0)
        {
            errors.Add($"{S}:Routes must map at least one mail domain to its PNA's pubsub service (example.com → events.example.com).");
        }
        foreach (var (mailDomain, service) in options.Routes)
        {
            if (!IsDomain(mailDomain) || !IsDomain(service))
            {
                errors.Add($"{S}:Routes: '{mailDomain}' → '{service}' must map a mail domain to a service domain.");
            }
            else if (string.Equals(service, options.ComponentDomain, StringComparison.OrdinalIgnoreCase))
            {
                errors.Add($"{S}:Routes: '{mailDomain}' routes to the CNA itself.");
            }
        }
        foreach (var rule in options.Allow)
        {
            if (!AllowRules.IsPattern(rule.User) || !AllowRules.IsPattern(rule.Account))
            {
                errors.Add($"{S}:Allow: '{rule.User}' → '{rule.Account}': each side must be an address, *@domain or *.");
            }
        }
        if (options.Heartbeat < TimeSpan.FromSeconds(1) || options.Heartbeat > TimeSpan.FromDays(1))
        {
            errors.Add($"{S}:Heartbeat must be between 1 second and 1 day (was {options.Heartbeat}); the PNA's minimum (Pna:Heartbeats:Min, 10 s by default) applies too.");
        }
        if (options.MaxSubscriptionsPerUser < 1)
        {
            errors.Add($"{S}:MaxSubscriptionsPerUser must be at least 1 (was {options.MaxSubscriptionsPerUser}).");
        }
        if (options.RefreshInterval < TimeSpan.Zero)
        {
            errors.Add($"{S}:RefreshInterval must not be negative (zero: no periodic re-subscribe).");
        }
        if (options.WatchdogTick <= TimeSpan.Zero || options.UpstreamTimeout <= TimeSpan.Zero || options.DiscoCacheTime < TimeSpan.Zero)
        {
            errors.Add($"{S}:WatchdogTick and UpstreamTimeout must be positive, DiscoCacheTime not negative.");
        }
        if (options.ResubscribeDelay <= TimeSpan.Zero || options.MaxResubscribeDelay < options.ResubscribeDelay)
        {
            errors.Add($"{S}:ResubscribeDelay must be positive and not above MaxResubscribeDelay.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }

    private static bool IsDomain(string? text) =>
        Jid.TryParse(text, out var jid) && jid.Local is null && jid.Resource is null;
}
