using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Subscriptions;

namespace Aggregators.Pna.Alerts;

/// <summary>
/// Decides whether a target wants an alert (issue 7, "consent"): unsolicited alerts go only to
/// targets that said so, either in configuration (<see cref="AlertOptions.Targets"/>: allowed
/// sources and mail senders) or by holding an active subscription that covers the mailbox the
/// alert is about (INBOX when it names none). Default deny; every answer carries its reason.
/// </summary>
public sealed class AlertConsent
{
    private readonly Dictionary<string, List<AlertTargetConsent>> _byTarget = new(StringComparer.Ordinal);
    private readonly bool _allowSubscribers;
    private readonly Func<AccountId, MailboxPath, IEnumerable<string>> _subscribers;

    /// <param name="subscribers">The subscriber URIs whose active subscriptions cover (account, mailbox).</param>
    public AlertConsent(AlertOptions options, Func<AccountId, MailboxPath, IEnumerable<string>> subscribers)
    {
        ArgumentNullException.ThrowIfNull(options);
        _allowSubscribers = options.AllowSubscribers;
        _subscribers = subscribers;
        foreach (var entry in options.Targets)
        {
            if (AlertTarget.TryParse(entry.Target, out var target, out _))
            {
                if (!_byTarget.TryGetValue(target.Key, out var list))
                {
                    _byTarget[target.Key] = list = [];
                }
                list.Add(entry);
            }
        }
    }

    /// <summary>The subscribers of the registry, the way the dispatcher would match a new message.</summary>
    public static Func<AccountId, MailboxPath, IEnumerable<string>> FromRegistry(SubscriptionRegistry registry) => (account, mailbox) =>
    {
        var found = new List<Subscription>();
        registry.Match(account, mailbox, MailEventType.MessageNew, found);
        return found.Select(s => s.Subscriber);
    };

    public AuthorizationDecision Decide(AlertTarget target, string source, string? from, AccountId? account, MailboxPath? mailbox)
    {
        ArgumentNullException.ThrowIfNull(target);
        var sender = NormaliseSender(from);
        if (_byTarget.TryGetValue(target.Key, out var entries))
        {
            foreach (var entry in entries)
            {
                if (entry.AllowSources.Any(s => s == "*" || string.Equals(s, source, StringComparison.Ordinal)))
                {
                    return AuthorizationDecision.Allow($"{target.Key} allows source '{source}' (Pna:Alerts:Targets)");
                }
                if (sender is not null && entry.AllowSenders.Any(p => SenderMatches(p, sender)))
                {
                    return AuthorizationDecision.Allow($"{target.Key} allows sender '{sender}' (Pna:Alerts:Targets)");
                }
            }
        }
        if (_allowSubscribers && account is { } a)
        {
            var box = mailbox ?? MailboxPath.Inbox;
            foreach (var subscriber in _subscribers(a, box))
            {
                if (SubscriberUri.TryParse(subscriber, out var uri, out _) && SameIdentity(uri, target.Identity))
                {
                    return AuthorizationDecision.Allow($"{target.Key} is subscribed to {a.Value}/{box.Value}");
                }
            }
        }
        var why = entries is null
            ? $"{target.Key} has no entry in Pna:Alerts:Targets"
            : $"{target.Key} allows neither source '{source}' nor sender '{sender ?? "(none given)"}'";
        var subs = !_allowSubscribers
            ? "consent by subscription is off"
            : account is { } acc ? $"holds no subscription covering {acc.Value}/{(mailbox ?? MailboxPath.Inbox).Value}" : "the alert names no account";
        return AuthorizationDecision.Deny($"no consent: {why}, and {subs}");
    }

    // sips: and sip: name the same address of record (RFC 3261 §19.1).
    private static bool SameIdentity(SubscriberUri a, SubscriberUri b) =>
        (a.Scheme == b.Scheme || (a.Scheme is "sip" or "sips" && b.Scheme is "sip" or "sips"))
        && string.Equals(a.User, b.User, StringComparison.Ordinal)
        && string.Equals(a.Host, b.Host, StringComparison.Ordinal);

    /// <summary>The address inside a From value ("Romeo &lt;romeo@example.com&gt;" → romeo@example.com), lower-cased.</summary>
    public static string? NormaliseSender(string? from)
    {
        if (string.IsNullOrWhiteSpace(from))
        {
            return null;
        }
        var s = from.Trim();
        var open = s.LastIndexOf('<');
        var close = s.LastIndexOf('>');
        if (open >= 0 && close > open)
        {
            s = s[(open + 1)..close].Trim();
        }
        return s.ToLowerInvariant();
    }

    private static bool SenderMatches(string pattern, string sender)
    {
        if (pattern == "*")
        {
            return true;
        }
        var p = pattern.Trim().ToLowerInvariant();
        return p.StartsWith("*@", StringComparison.Ordinal)
            ? sender.EndsWith(p[1..], StringComparison.Ordinal)
            : string.Equals(p, sender, StringComparison.Ordinal);
    }
}
