using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Authorization;

/// <summary>
/// Configuration of <see cref="GrantPolicy"/>, bound from section <see cref="SectionName"/>:
/// <code>
/// "Pna": { "Authorization": {
///   "OwnerAccess": true,
///   "DomainAliases": { "events.example.com": "example.com" },
///   "Grants": [ { "Subscriber": "xmpp:*@example.net", "Account": "*@example.com", "Mailbox": "Shared" } ] } }
/// </code>
/// </summary>
public sealed class GrantPolicyOptions
{
    public const string SectionName = "Pna:Authorization";

    /// <summary>
    /// A subscriber whose <c>user@host</c> is the account itself (compared as an
    /// <see cref="EventModel.AccountId"/>, after <see cref="DomainAliases"/>) may see all of its mailboxes.
    /// </summary>
    public bool OwnerAccess { get; set; } = true;

    /// <summary>
    /// Subscriber domain to mail domain, for owner access: with <c>events.example.com</c> →
    /// <c>example.com</c>, <c>sip:juliet@events.example.com</c> owns <c>juliet@example.com</c>.
    /// </summary>
    public Dictionary<string, string> DomainAliases { get; init; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Explicit grants, checked in order; the first that matches allows.</summary>
    public List<GrantOptions> Grants { get; init; } = [];
}

/// <summary>One grant: who (subscriber pattern) may see what (account pattern, mailbox prefix).</summary>
public sealed class GrantOptions
{
    /// <summary>
    /// <c>sip:romeo@example.net</c> (that subscriber), <c>xmpp:*@example.net</c> (anyone at that host
    /// with that scheme), <c>*@example.net</c> (any scheme), <c>sip:*</c> (anyone with that scheme)
    /// or <c>*</c> (anyone).
    /// </summary>
    public string Subscriber { get; set; } = "";

    /// <summary><c>juliet@example.com</c>, <c>*@example.com</c> or <c>*</c>.</summary>
    public string Account { get; set; } = "";

    /// <summary>
    /// Mailbox prefix in whole segments: <c>Shared</c> covers <c>Shared</c> and <c>Shared/x</c>,
    /// not <c>Shared2</c>. Empty (the default) covers the whole account.
    /// </summary>
    public string Mailbox { get; set; } = "";
}

/// <summary>Registration of <see cref="GrantPolicy"/> as the PNA's <see cref="IAuthorizationPolicy"/>.</summary>
public static class GrantPolicyServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="GrantPolicyOptions"/> from "Pna:Authorization", validates every pattern at
    /// start (a bad pattern stops the host with a message naming it) and registers
    /// <see cref="GrantPolicy"/> as the <see cref="IAuthorizationPolicy"/> singleton.
    /// </summary>
    public static IServiceCollection AddGrantPolicy(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<GrantPolicyOptions>, GrantPolicyOptionsValidator>());
        services.AddOptions<GrantPolicyOptions>().BindConfiguration(GrantPolicyOptions.SectionName).ValidateOnStart();
        services.TryAddSingleton<IAuthorizationPolicy>(sp => new GrantPolicy(sp.GetRequiredService<IOptions<GrantPolicyOptions>>().Value));
        return services;
    }

    private sealed class GrantPolicyOptionsValidator : IValidateOptions<GrantPolicyOptions>
    {
        public ValidateOptionsResult Validate(string? name, GrantPolicyOptions options) =>
            GrantPolicy.Validate(options) is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
