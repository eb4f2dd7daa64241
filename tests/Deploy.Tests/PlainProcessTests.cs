using Aggregators.Cna.Hosting;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Delivery;
using Aggregators.ImapBridge.Hosting;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Deploy.Tests;

/// <summary>deploy/systemd units and deploy/examples configurations against the code.</summary>
public sealed class PlainProcessTests
{
    public static TheoryData<string, string, string> Units => new()
    {
        { "aggregators-pna.service", "Pna", "pna" },
        { "aggregators-cna.service", "Cna", "cna" },
        { "aggregators-imapbridge.service", "ImapBridge", "imapbridge" },
    };

    [Theory]
    [MemberData(nameof(Units))]
    public void A_unit_runs_its_project_as_a_dedicated_user_with_state_in_its_StateDirectory(string unit, string project, string name)
    {
        var lines = File.ReadAllLines(Repository.PathOf($"deploy/systemd/{unit}"))
            .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
            .Select(l => (Key: l[..l.IndexOf('=', StringComparison.Ordinal)], Value: l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..]))
            .ToList();
        string One(string key) => lines.Single(l => l.Key == key).Value;

        Assert.True(File.Exists(Repository.PathOf($"src/{project}/{project}.csproj")));
        Assert.Equal($"/usr/bin/dotnet /opt/aggregators/{name}/Aggregators.{project}.dll", One("ExecStart"));
        Assert.Equal("aggregators", One("User"));
        Assert.Equal($"aggregators/{name}", One("StateDirectory"));
        foreach (var (key, value) in new[] { ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"), ("PrivateTmp", "yes"), ("CapabilityBoundingSet", "") })
        {
            Assert.Equal(value, One(key));
        }
        var environment = lines.Where(l => l.Key == "Environment").Select(l => l.Value.Split('=', 2))
            .Where(kv => !kv[0].StartsWith("DOTNET_", StringComparison.Ordinal))
            .ToDictionary(kv => OptionKeys.FromEnvironmentName(kv[0]), kv => (string?)kv[1], StringComparer.OrdinalIgnoreCase);
        var errors = OptionKeys.Check(environment);
        Assert.True(errors.Count == 0, string.Join("\n", errors));
        // Every data directory the unit sets is its state directory (the only writable place under ProtectSystem=strict).
        Assert.Contains(environment, kv => kv.Key.EndsWith(":DataDirectory", StringComparison.Ordinal));
        Assert.All(environment.Where(kv => kv.Key.EndsWith(":DataDirectory", StringComparison.Ordinal)),
            kv => Assert.Equal($"/var/lib/aggregators/{name}", kv.Value));
    }

    [Theory]
    [InlineData("pna.json")]
    [InlineData("cna.json")]
    [InlineData("imapbridge.json")]
    public void Every_key_of_an_example_configuration_is_a_real_option(string example)
    {
        var errors = OptionKeys.Check(OptionKeys.FromJsonFile(Repository.PathOf($"deploy/examples/{example}")));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void The_PNA_example_is_valid_with_TLS_on_and_tokens_set()
    {
        var app = PnaApplication.Build(Args("pna.json"));
        var pna = app.Services.GetRequiredService<IOptions<PnaOptions>>().Value;
        Assert.NotEmpty(pna.Admin.Token);
        Assert.All(pna.Ingest.Sources, s => Assert.True(s.Token.Length >= 16));
        var sip = app.Services.GetRequiredService<IOptions<SipNotifierOptions>>().Value;
        Assert.NotEmpty(sip.Tls);
        Assert.True(app.Services.GetRequiredService<IOptions<XmppPubsubOptions>>().Value.Enabled);
        var bridge = app.Services.GetRequiredService<IOptions<BridgeOptions>>().Value;
        Assert.Empty(bridge.Validate());
        Assert.All(bridge.Servers, s => Assert.NotEqual(Aggregators.ImapBridge.Imap.ImapSecurity.None, s.Security));
        var configuration = app.Services.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>();
        Assert.StartsWith("https://", configuration["Kestrel:Endpoints:Https:Url"], StringComparison.Ordinal);
    }

    [Fact]
    public void The_standalone_bridge_example_is_valid_and_delivers_over_HTTPS()
    {
        var app = BridgeHost.Build(Args("imapbridge.json"));
        var http = app.Services.GetRequiredService<IOptions<HttpDeliveryOptions>>().Value;
        Assert.Equal("https", http.Url.Scheme);
        var bridge = app.Services.GetRequiredService<IOptions<BridgeOptions>>().Value;
        Assert.Empty(bridge.Validate());
        Assert.All(bridge.Servers, s => Assert.NotEqual(Aggregators.ImapBridge.Imap.ImapSecurity.None, s.Security));
    }

    [Fact]
    public void The_CNA_example_binds()
    {
        var app = CnaApplication.Build(Args("cna.json"));
        Assert.Equal("/var/lib/aggregators/cna", app.Services.GetRequiredService<IOptions<CnaOptions>>().Value.DataDirectory);
    }

    private static string[] Args(string example) =>
        OptionKeys.FromJsonFile(Repository.PathOf($"deploy/examples/{example}"))
            .Where(kv => !kv.Key.StartsWith("//", StringComparison.Ordinal))
            .Select(kv => $"--{kv.Key}={kv.Value}").ToArray();
}
