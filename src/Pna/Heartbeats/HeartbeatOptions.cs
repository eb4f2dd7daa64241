using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Heartbeats;

/// <summary>
/// Heartbeat limits, bound from configuration section <see cref="SectionName"/>
/// (TimeSpan text, e.g. <c>"Min": "00:00:10"</c>). A subscriber's requested interval is clamped
/// into [<see cref="Min"/>, <see cref="Max"/>]; <see cref="Tick"/> is the scheduler's resolution.
/// </summary>
public sealed class HeartbeatOptions
{
    public const string SectionName = "Pna:Heartbeats";

    /// <summary>Shortest interval a subscriber gets (protects the PNA from heartbeat floods).</summary>
    public TimeSpan Min { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest interval a subscriber gets.</summary>
    public TimeSpan Max { get; set; } = TimeSpan.FromSeconds(3600);

    /// <summary>How often the scheduler looks for due heartbeats; heartbeats fire on these ticks.</summary>
    public TimeSpan Tick { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>What is wrong with these options, one message per problem; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Tick <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:Tick must be positive (is {Tick})");
        }
        if (Min <= TimeSpan.Zero)
        {
            errors.Add($"{SectionName}:Min must be positive (is {Min})");
        }
        if (Max < Min)
        {
            errors.Add($"{SectionName}:Max ({Max}) must not be shorter than Min ({Min})");
        }
        if (Tick > Min)
        {
            errors.Add($"{SectionName}:Tick ({Tick}) must not be longer than Min ({Min})");
        }
        return errors;
    }
}

/// <summary>Registration of <see cref="HeartbeatOptions"/>.</summary>
public static class HeartbeatServiceCollectionExtensions
{
    /// <summary>Binds <see cref="HeartbeatOptions"/> from "Pna:Heartbeats" and validates it at start.</summary>
    public static OptionsBuilder<HeartbeatOptions> AddHeartbeatOptions(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<HeartbeatOptions>, HeartbeatOptionsValidator>());
        return services.AddOptions<HeartbeatOptions>()
            .BindConfiguration(HeartbeatOptions.SectionName)
            .ValidateOnStart();
    }

    private sealed class HeartbeatOptionsValidator : IValidateOptions<HeartbeatOptions>
    {
        public ValidateOptionsResult Validate(string? name, HeartbeatOptions options) =>
            options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
