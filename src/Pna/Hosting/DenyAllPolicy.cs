using Aggregators.EventModel;

using Aggregators.Pna.Authorization;

namespace Aggregators.Pna.Hosting;

/// <summary>The default when no policy is configured: nobody may subscribe (default deny).</summary>
internal sealed class DenyAllPolicy : IAuthorizationPolicy
{
    public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AuthorizationDecision.Deny("no authorization policy is configured (default deny)"));
}
