using Aggregators.Cna.Hosting;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Delivery;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Heartbeats;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.Extensions.Configuration;

namespace Aggregators.Deploy.Tests;

/// <summary>
/// Checks configuration keys written in deployment files (environment variables such as
/// <c>Pna__Xmpp__Port</c>, JSON examples) against the options classes that bind them: each key
/// is bound into its section's class with <see cref="BinderOptions.ErrorOnUnknownConfiguration"/>,
/// so a misspelt or retired option fails here instead of being ignored at run time.
/// </summary>
public static class OptionKeys
{
    /// <summary>Configuration sections and the class bound from each (longest prefix wins).</summary>
    private static readonly (string Section, Type Type)[] Sections =
    [
        (PnaOptions.SectionName, typeof(PnaOptions)),
        (XmppPubsubOptions.SectionName, typeof(XmppPubsubOptions)),
        (SipNotifierOptions.SectionName, typeof(SipNotifierOptions)),
        (HeartbeatOptions.SectionName, typeof(HeartbeatOptions)),
        (AlertOptions.SectionName, typeof(AlertOptions)),
        (GrantPolicyOptions.SectionName, typeof(GrantPolicyOptions)),
        (ImapAclOptions.SectionName, typeof(ImapAclOptions)),
        (BridgeOptions.SectionName, typeof(BridgeOptions)),
        (HttpDeliveryOptions.SectionName, typeof(HttpDeliveryOptions)),
        (CnaOptions.SectionName, typeof(CnaOptions)),
    ];

    /// <summary>Host-level keys read by ASP.NET Core itself rather than by our options.</summary>
    private static readonly string[] HostKeys = ["Urls", "ASPNETCORE_URLS", "ASPNETCORE_ENVIRONMENT", "DOTNET_ENVIRONMENT"];

    private static readonly string[] HostPrefixes = ["Logging:", "Kestrel:", "HostOptions:"];

    /// <summary>An environment variable name as a configuration key (<c>__</c> separates levels).</summary>
    public static string FromEnvironmentName(string name) => name.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>Problems with <paramref name="settings"/> (configuration key → value), empty when every key names a real option.</summary>
    public static IReadOnlyList<string> Check(IReadOnlyDictionary<string, string?> settings)
    {
        var errors = new List<string>();
        var bySection = new Dictionary<string, Dictionary<string, string?>>(StringComparer.OrdinalIgnoreCase);
        foreach (var (key, value) in settings)
        {
            if (key.StartsWith("//", StringComparison.Ordinal) || // a comment in a JSON example
                HostKeys.Contains(key, StringComparer.OrdinalIgnoreCase) ||
                HostPrefixes.Any(p => key.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }
            var section = Sections
                .Where(s => key.StartsWith(s.Section + ":", StringComparison.OrdinalIgnoreCase))
                .OrderByDescending(s => s.Section.Length)
                .Select(s => s.Section)
                .FirstOrDefault();
            if (section is null)
            {
                errors.Add($"'{key}' is in no known configuration section ({string.Join(", ", Sections.Select(s => s.Section))})");
                continue;
            }
            if (!bySection.TryGetValue(section, out var keys))
            {
                bySection[section] = keys = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
            }
            keys[key[(section.Length + 1)..]] = value;
        }
        foreach (var (section, keys) in bySection)
        {
            var type = Sections.First(s => s.Section.Equals(section, StringComparison.OrdinalIgnoreCase)).Type;
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(keys).Build();
            try
            {
                configuration.Get(type, o => o.ErrorOnUnknownConfiguration = true);
            }
            catch (InvalidOperationException e)
            {
                // Nested classes (list elements) report the unknown key in an inner exception.
                var messages = new List<string>();
                for (Exception? x = e; x is not null; x = x.InnerException)
                {
                    messages.Add(x.Message);
                }
                errors.Add($"section {section} ({type.Name}): {string.Join(" <- ", messages)}");
            }
        }
        return errors;
    }

    /// <summary>Flattens a JSON configuration file to configuration keys, as the JSON provider reads it.</summary>
    public static IReadOnlyDictionary<string, string?> FromJsonFile(string path)
    {
        var configuration = new ConfigurationBuilder().AddJsonFile(path, optional: false).Build();
        return configuration.AsEnumerable().Where(kv => kv.Value is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.OrdinalIgnoreCase);
    }
}
