using Aggregators.EventModel;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Configuration of the XMPP publish-subscribe transport, section <see cref="SectionName"/>
/// (docs/xmpp.md). Off by default: the PNA needs no XMPP server unless asked.
/// </summary>
public sealed class XmppPubsubOptions
{
    public const string SectionName = "Pna:Xmpp";

    public bool Enabled { get; set; }

    /// <summary>The XMPP server's component listener (XEP-0114).</summary>
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5347;

    /// <summary>The component's domain, e.g. <c>events.example.com</c>; account JIDs live in it.</summary>
    public string ComponentDomain { get; set; } = "";

    /// <summary>The shared secret of the component (the server's component_secret / password).</summary>
    public string Secret { get; set; } = "";

    /// <summary>
    /// The mail domain of the accounts: <c>juliet@events.example.com</c> stands for
    /// <c>juliet@example.com</c> when this is <c>example.com</c>.
    /// </summary>
    public string MailDomain { get; set; } = "";

    /// <summary>Delay before the first reconnect attempt (doubles up to <see cref="MaxReconnectDelay"/>).</summary>
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Stanzas queued towards the server before notifications are dropped (and counted).</summary>
    public int SendQueueCapacity { get; set; } = 65536;

    /// <summary>
    /// The &lt;message&gt; type of notifications (XEP-0060's node configuration field
    /// <c>pubsub#notification_type</c>; nodes here are not configurable, so the service chooses): <c>headline</c> (default;
    /// never stored offline, and dropped silently by Prosody for a subscriber who is offline or
    /// gone) or <c>normal</c> (RFC 6121 §8.5.2: bounced with service-unavailable for an account that
    /// does not exist, or that is offline on a server without offline storage, which ends the
    /// subscription; stored offline otherwise). See docs/xmpp.md, "Bounces".
    /// </summary>
    public string NotificationType { get; set; } = "headline";

    internal bool NormalNotifications => string.Equals(NotificationType, "normal", StringComparison.Ordinal);
}

internal sealed class XmppPubsubOptionsValidator : IValidateOptions<XmppPubsubOptions>
{
    public ValidateOptionsResult Validate(string? name, XmppPubsubOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.Host))
        {
            errors.Add("Pna:Xmpp:Host must name the XMPP server (e.g. 127.0.0.1).");
        }
        if (options.Port is < 1 or > 65535)
        {
            errors.Add($"Pna:Xmpp:Port must be between 1 and 65535 (was {options.Port}).");
        }
        if (!Aggregators.Xmpp.Jid.TryParse(options.ComponentDomain, out var domain) || domain.Local is not null || domain.Resource is not null)
        {
            errors.Add($"Pna:Xmpp:ComponentDomain must be a domain such as events.example.com (was '{options.ComponentDomain}').");
        }
        if (string.IsNullOrEmpty(options.Secret))
        {
            errors.Add("Pna:Xmpp:Secret must be set (the server's component secret).");
        }
        if (!AccountId.TryParse("user@" + options.MailDomain, out _, out _) || options.MailDomain.Length == 0)
        {
            errors.Add($"Pna:Xmpp:MailDomain must be the accounts' mail domain such as example.com (was '{options.MailDomain}').");
        }
        if (options.ReconnectDelay <= TimeSpan.Zero || options.MaxReconnectDelay < options.ReconnectDelay)
        {
            errors.Add("Pna:Xmpp:ReconnectDelay must be positive and not above Pna:Xmpp:MaxReconnectDelay.");
        }
        if (options.SendQueueCapacity is < 16 or > 1_048_576)
        {
            errors.Add($"Pna:Xmpp:SendQueueCapacity must be between 16 and 1048576 (was {options.SendQueueCapacity}).");
        }
        if (options.NotificationType is not ("headline" or "normal"))
        {
            errors.Add($"Pna:Xmpp:NotificationType must be headline or normal (was '{options.NotificationType}').");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
