using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Tests.Xmpp;

public class XmppPubsubOptionsTests
{
    [Fact]
    public async Task Off_by_default_the_pna_runs_without_an_xmpp_server()
    {
        await using var host = await PnaTestHost.StartAsync();
        Assert.Null(host.App.Services.GetService<XmppPubsubTransport>());
        Assert.DoesNotContain(host.App.Services.GetServices<INotificationTransport>(), t => t.Name == "xmpp");
    }

    [Theory]
    [InlineData("ComponentDomain", "", "Pna:Xmpp:ComponentDomain")]
    [InlineData("ComponentDomain", "juliet@events.example.com", "Pna:Xmpp:ComponentDomain")]
    [InlineData("Secret", "", "Pna:Xmpp:Secret")]
    [InlineData("MailDomain", "", "Pna:Xmpp:MailDomain")]
    [InlineData("Port", "0", "Pna:Xmpp:Port")]
    public void Enabled_needs_a_complete_configuration(string key, string value, string named)
    {
        var options = new XmppPubsubOptions
        {
            Enabled = true,
            ComponentDomain = "events.example.com",
            Secret = "s3cret",
            MailDomain = "example.com",
        };
        Assert.True(new XmppPubsubOptionsValidator().Validate(null, options).Succeeded);
        typeof(XmppPubsubOptions).GetProperty(key)!.SetValue(options, key == "Port" ? int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) : value);
        var result = new XmppPubsubOptionsValidator().Validate(null, options);
        Assert.True(result.Failed);
        Assert.Contains(named, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void A_disabled_transport_is_not_validated()
    {
        Assert.Equal(ValidateOptionsResult.Success, new XmppPubsubOptionsValidator().Validate(null, new XmppPubsubOptions()));
    }

    [Fact]
    public void The_documented_keys_bind_onto_the_component_connection()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Pna:Xmpp:Host"] = "xmpp.example.com",
            ["Pna:Xmpp:Port"] = "5275",
            ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
            ["Pna:Xmpp:Secret"] = "s3cret",
            ["Pna:Xmpp:ReconnectDelay"] = "00:00:02",
            ["Pna:Xmpp:MaxReconnectDelay"] = "00:00:30",
            ["Pna:Xmpp:SendQueueCapacity"] = "1024",
            ["Pna:Xmpp:MailDomain"] = "example.com",
        }).Build();
        var options = new XmppPubsubOptions();
        ConfigurationBinder.Bind(configuration.GetSection(XmppPubsubOptions.SectionName), options);
        var component = options.ToComponentOptions();
        Assert.Equal(("xmpp.example.com", 5275, "events.example.com", "s3cret"), (component.Host, component.Port, component.Domain, component.Secret));
        Assert.Equal((TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), 1024), (component.ReconnectDelay, component.MaxReconnectDelay, component.SendQueueCapacity));
        Assert.Equal("example.com", options.MailDomain);
    }
}
