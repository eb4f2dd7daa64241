using Aggregators.EventModel;
using Aggregators.Xmpp.Component;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Configuration of the XMPP publish-subscribe transport, section <see cref="SectionName"/>
/// (docs/xmpp.md): the component's connection keys (<see cref="ComponentSettings"/>) and the
/// pubsub service's own. Off by default: the PNA needs no XMPP server unless asked.
/// </summary>
public sealed class XmppPubsubOptions : ComponentSettings
{
    public const string SectionName = "Pna:Xmpp";

    public bool Enabled { get; set; }

    /// <summary>
    /// The mail domain of the accounts: <c>juliet@events.example.com</c> stands for
    /// <c>juliet@example.com</c> when this is <c>example.com</c>.
    /// </summary>
    public string MailDomain { get; set; } = "";

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
        options.ValidateComponent(XmppPubsubOptions.SectionName, errors);
        if (!AccountId.TryParse("user@" + options.MailDomain, out _, out _) || options.MailDomain.Length == 0)
        {
            errors.Add($"Pna:Xmpp:MailDomain must be the accounts' mail domain such as example.com (was '{options.MailDomain}').");
        }
        if (options.NotificationType is not ("headline" or "normal"))
        {
            errors.Add($"Pna:Xmpp:NotificationType must be headline or normal (was '{options.NotificationType}').");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
