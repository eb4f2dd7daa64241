using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Authorization;

/// <summary>Registration of the PNA's <see cref="IAuthorizationPolicy"/> chosen by <c>Pna:Authorization:Policy</c>.</summary>
public static class AuthorizationServiceCollectionExtensions
{
    public const string PolicyKey = "Pna:Authorization:Policy";

    /// <summary>
    /// Registers the policy named by <c>Pna:Authorization:Policy</c>: <c>Grants</c> (default,
    /// <see cref="GrantPolicy"/>), <c>ImapAcl</c> (<see cref="ImapAclPolicy"/>, options from
    /// <c>Pna:Authorization:ImapAcl</c>) or <c>Either</c>. Both option sets are validated at start.
    /// </summary>
    public static IServiceCollection AddAuthorizationPolicy(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var text = configuration[PolicyKey];
        var kind = AuthorizationPolicyKind.Grants;
        if (!string.IsNullOrEmpty(text) && (!Enum.TryParse(text, ignoreCase: true, out kind) || !Enum.IsDefined(kind)))
        {
            throw new InvalidOperationException($"{PolicyKey} '{text}' is not one of Grants, ImapAcl, Either");
        }
        if (kind == AuthorizationPolicyKind.Grants)
        {
            return services.AddGrantPolicy();
        }

        services.AddOptions<ImapAclOptions>().BindConfiguration(ImapAclOptions.SectionName).ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ImapAclOptions>, ImapAclOptionsValidator>());
        services.TryAddSingleton<IImapAclSource>(sp => new ImapServerAclSource(sp.GetRequiredService<IOptions<ImapAclOptions>>().Value));
        services.TryAddSingleton(sp => new ImapAclPolicy(
            sp.GetRequiredService<IOptions<ImapAclOptions>>().Value,
            sp.GetRequiredService<IImapAclSource>(),
            sp.GetService<TimeProvider>(),
            sp.GetService<ILogger<ImapAclPolicy>>()));
        // Live subscriptions are authorized again when their cached answer expires, so a revoked
        // ACL right ends them within Pna:Authorization:ImapAcl:CacheSeconds.
        services.TryAddSingleton<AuthorizationRecheck>();
        services.AddHostedService(sp => sp.GetRequiredService<AuthorizationRecheck>());
        if (kind == AuthorizationPolicyKind.ImapAcl)
        {
            services.TryAddSingleton<IAuthorizationPolicy>(sp => sp.GetRequiredService<ImapAclPolicy>());
            return services;
        }
        // Either: the grant policy's own options and validation, composed with the ACL policy.
        services.AddGrantPolicy();
        services.TryAddSingleton(sp => new GrantPolicy(sp.GetRequiredService<IOptions<GrantPolicyOptions>>().Value));
        services.Replace(ServiceDescriptor.Singleton<IAuthorizationPolicy>(sp =>
            new EitherPolicy(sp.GetRequiredService<GrantPolicy>(), sp.GetRequiredService<ImapAclPolicy>())));
        return services;
    }

    private sealed class ImapAclOptionsValidator : IValidateOptions<ImapAclOptions>
    {
        public ValidateOptionsResult Validate(string? name, ImapAclOptions options) =>
            options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
