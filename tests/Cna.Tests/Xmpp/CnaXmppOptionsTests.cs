using Aggregators.Cna.Hosting;
using Aggregators.Cna.Xmpp;
using Microsoft.Extensions.Configuration;

namespace Aggregators.Cna.Tests.Xmpp;

public sealed class CnaXmppOptionsTests
{
    private static CnaXmppOptions Valid()
    {
        var o = new CnaXmppOptions { Enabled = true, ComponentDomain = "events.example.net", Secret = "s" };
        o.Routes["example.com"] = "events.example.com";
        return o;
    }

    [Fact]
    public void A_complete_configuration_is_valid_and_local_domains_default_to_the_parent_domain()
    {
        var o = Valid();
        Assert.True(new CnaXmppOptionsValidator().Validate(null, o).Succeeded);
        Assert.Equal(["example.net"], o.EffectiveLocalDomains);
    }

    [Fact]
    public void Off_needs_nothing() => Assert.True(new CnaXmppOptionsValidator().Validate(null, new CnaXmppOptions()).Succeeded);

    [Theory]
    [InlineData("ComponentDomain")]
    [InlineData("Secret")]
    [InlineData("Routes")]
    [InlineData("Allow")]
    [InlineData("Heartbeat")]
    [InlineData("UpstreamLocalpart")]
    [InlineData("ResubscribeDelay")]
    [InlineData("Port")]
    public void Each_wrong_setting_is_named(string key)
    {
        var o = Valid();
        switch (key)
        {
            case "ComponentDomain": o.ComponentDomain = "not a domain"; break;
            case "Secret": o.Secret = ""; break;
            case "Routes": o.Routes.Clear(); break;
            case "Allow": o.Allow.Add(new CnaXmppAllowRule { User = "rom*eo@example.net", Account = "*" }); break;
            case "Heartbeat": o.Heartbeat = TimeSpan.Zero; break;
            case "UpstreamLocalpart": o.UpstreamLocalpart = @"a\40b"; break;
            case "ResubscribeDelay": o.ResubscribeDelay = TimeSpan.FromMinutes(5); break;
            case "Port": o.Port = 0; break;
        }
        var result = new CnaXmppOptionsValidator().Validate(null, o);
        Assert.True(result.Failed);
        Assert.Contains("Cna:Xmpp:" + key, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_host_refuses_to_start_with_an_incomplete_xmpp_configuration()
    {
        await using var app = CnaApplication.Build(["--urls=http://127.0.0.1:0", "--Cna:Xmpp:Enabled=true", "--Logging:LogLevel:Default=None",
            "--Cna:DataDirectory=" + Path.Combine(Path.GetTempPath(), "cna-opt-" + Guid.NewGuid().ToString("N"))]);
        var ex = await Assert.ThrowsAnyAsync<Exception>(() => app.StartAsync());
        Assert.Contains("Cna:Xmpp:ComponentDomain", ex.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void The_documented_keys_bind_onto_the_component_connection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Cna:Xmpp:Host"] = "xmpp.example.net",
            ["Cna:Xmpp:Port"] = "5275",
            ["Cna:Xmpp:ComponentDomain"] = "events.example.net",
            ["Cna:Xmpp:Secret"] = "s3cret",
            ["Cna:Xmpp:ReconnectDelay"] = "00:00:02",
            ["Cna:Xmpp:MaxReconnectDelay"] = "00:00:30",
            ["Cna:Xmpp:SendQueueCapacity"] = "1024",
            ["Cna:Xmpp:UpstreamLocalpart"] = "proxy",
        }).Build();
        var options = new CnaXmppOptions();
        ConfigurationBinder.Bind(configuration.GetSection(CnaXmppOptions.SectionName), options);
        var component = options.ToComponentOptions();
        Assert.Equal(("xmpp.example.net", 5275, "events.example.net", "s3cret"), (component.Host, component.Port, component.Domain, component.Secret));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 1024), (component.ReconnectDelay, component.MaxReconnectDelay, component.SendQueueCapacity));
        Assert.Equal("proxy", options.UpstreamLocalpart);
    }
}
