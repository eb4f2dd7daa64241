using Aggregators.Xmpp.Component;

namespace Aggregators.Xmpp.Tests;

public class ComponentSettingsTests
{
    [Fact]
    public void Every_key_reaches_the_component_options()
    {
        var settings = new ComponentSettings
        {
            Host = "xmpp.example.com",
            Port = 5275,
            ComponentDomain = "events.example.com",
            Secret = "s3cret",
            ReconnectDelay = TimeSpan.FromSeconds(2),
            MaxReconnectDelay = TimeSpan.FromSeconds(30),
            SendQueueCapacity = 1024,
        };
        var options = settings.ToComponentOptions();
        Assert.Equal("xmpp.example.com", options.Host);
        Assert.Equal(5275, options.Port);
        Assert.Equal("events.example.com", options.Domain);
        Assert.Equal("s3cret", options.Secret);
        Assert.Equal(TimeSpan.FromSeconds(2), options.ReconnectDelay);
        Assert.Equal(TimeSpan.FromSeconds(30), options.MaxReconnectDelay);
        Assert.Equal(1024, options.SendQueueCapacity);
    }

    [Fact]
    public void A_complete_configuration_has_no_errors()
    {
        var errors = new List<string>();
        new ComponentSettings { ComponentDomain = "events.example.com", Secret = "s" }.ValidateComponent("Pna:Xmpp", errors);
        Assert.Empty(errors);
    }

    [Theory]
    [InlineData("Host", "Cna:Xmpp:Host")]
    [InlineData("Port", "Cna:Xmpp:Port")]
    [InlineData("ComponentDomain", "Cna:Xmpp:ComponentDomain")]
    [InlineData("Secret", "Cna:Xmpp:Secret")]
    [InlineData("ReconnectDelay", "Cna:Xmpp:ReconnectDelay")]
    [InlineData("SendQueueCapacity", "Cna:Xmpp:SendQueueCapacity")]
    public void Each_wrong_key_is_named_under_the_section(string key, string named)
    {
        var s = new ComponentSettings { ComponentDomain = "events.example.net", Secret = "s" };
        switch (key)
        {
            case "Host": s.Host = " "; break;
            case "Port": s.Port = 70000; break;
            case "ComponentDomain": s.ComponentDomain = "romeo@events.example.net"; break;
            case "Secret": s.Secret = ""; break;
            case "ReconnectDelay": s.ReconnectDelay = TimeSpan.FromMinutes(5); break;
            case "SendQueueCapacity": s.SendQueueCapacity = 1; break;
        }
        var errors = new List<string>();
        s.ValidateComponent("Cna:Xmpp", errors);
        Assert.StartsWith(named, Assert.Single(errors), StringComparison.Ordinal);
    }
}
