namespace Aggregators.Xmpp.Component;

/// <summary>
/// The configuration shape of an external component's connection (XEP-0114), shared by the hosts
/// that run one: each host's section class (<c>Pna:Xmpp</c>, <c>Cna:Xmpp</c>) derives from it, so
/// the keys <c>Host</c>, <c>Port</c>, <c>ComponentDomain</c>, <c>Secret</c>, <c>ReconnectDelay</c>,
/// <c>MaxReconnectDelay</c> and <c>SendQueueCapacity</c> sit at the top of that section, are bound
/// and checked the same way, and become <see cref="ComponentOptions"/> in one place.
/// </summary>
public class ComponentSettings
{
    /// <summary>The XMPP server's component listener (host name or address).</summary>
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5347;

    /// <summary>The component's domain (the stream header's to=), e.g. <c>events.example.com</c>.</summary>
    public string ComponentDomain { get; set; } = "";

    /// <summary>The shared secret configured on the server for <see cref="ComponentDomain"/> (XEP-0114 §3 handshake).</summary>
    public string Secret { get; set; } = "";

    /// <summary>Delay before the first reconnect attempt (doubles up to <see cref="MaxReconnectDelay"/>, with jitter).</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Stanzas queued towards the server; beyond, notifications are dropped (and counted).</summary>
    public int SendQueueCapacity { get; set; } = 65536;

    /// <summary>What the component connects with.</summary>
    public ComponentOptions ToComponentOptions() => new()
    {
        Host = Host,
        Port = Port,
        Domain = ComponentDomain,
        Secret = Secret,
        ReconnectDelay = ReconnectDelay,
        MaxReconnectDelay = MaxReconnectDelay,
        SendQueueCapacity = SendQueueCapacity,
    };

    /// <summary>Adds one message per bad key, each naming the key under <paramref name="section"/> (e.g. <c>Pna:Xmpp</c>).</summary>
    public void ValidateComponent(string section, ICollection<string> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        if (string.IsNullOrWhiteSpace(Host))
        {
            errors.Add($"{section}:Host must name the XMPP server's component listener (e.g. 127.0.0.1).");
        }
        if (Port is < 1 or > 65535)
        {
            errors.Add($"{section}:Port must be between 1 and 65535 (was {Port}).");
        }
        if (!Jid.TryParse(ComponentDomain, out var domain) || domain.Local is not null || domain.Resource is not null)
        {
            errors.Add($"{section}:ComponentDomain must be a domain such as events.example.com (was '{ComponentDomain}').");
        }
        if (string.IsNullOrEmpty(Secret))
        {
            errors.Add($"{section}:Secret must be set (the server's component secret).");
        }
        if (ReconnectDelay <= TimeSpan.Zero || MaxReconnectDelay < ReconnectDelay)
        {
            errors.Add($"{section}:ReconnectDelay must be positive and not above {section}:MaxReconnectDelay.");
        }
        if (SendQueueCapacity is < 16 or > 1_048_576)
        {
            errors.Add($"{section}:SendQueueCapacity must be between 16 and 1048576 (was {SendQueueCapacity}).");
        }
    }
}
