using Aggregators.EventModel;

namespace Aggregators.Pna.Authorization;

/// <summary>The answer to "may this subscriber see this resource?", with the reason for logs.</summary>
public readonly record struct AuthorizationDecision(bool Allowed, string Reason)
{
    /// <summary>
    /// When this answer may have changed: a policy whose answers come from elsewhere (the IMAP
    /// server's ACLs) sets it to the end of its cache expiry, and live subscriptions are
    /// authorized again then (<see cref="AuthorizationRecheck"/>). Null: the answer stands
    /// for the process's life (configured grants).
    /// </summary>
    public DateTimeOffset? ValidUntil { get; init; }

    /// <summary>No answer could be had (the server was unreachable): a deny now, but no reason to end a live subscription.</summary>
    public bool Unavailable { get; init; }

    public static AuthorizationDecision Allow(string reason) => new(true, reason);
    public static AuthorizationDecision Deny(string reason) => new(false, reason);
}

/// <summary>
/// Decides whether a subscriber (a <c>sip:</c> or <c>xmpp:</c> URI) may receive events about an
/// account's mailbox. Default deny. Implementations: configured grants (this project), the IMAP
/// server's own ACLs (the bridge).
/// </summary>
public interface IAuthorizationPolicy
{
    ValueTask<AuthorizationDecision> AuthorizeAsync(
        string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken);
}
