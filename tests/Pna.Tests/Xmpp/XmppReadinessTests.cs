using System.Net;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Xmpp.Tests;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>With Pna:Xmpp:Enabled, /readyz follows the component's connection.</summary>
public sealed class XmppReadinessTests
{
    [Fact]
    public async Task Readyz_is_503_with_the_reason_until_the_component_is_connected_and_again_when_it_drops()
    {
        using var server = new FakeComponentServer();
        var dir = PnaTestHost.NewDataDirectory();
        try
        {
            await using var host = await PnaTestHost.StartAsync(dir, new Dictionary<string, string>
            {
                ["Pna:Xmpp:Enabled"] = "true",
                ["Pna:Xmpp:Port"] = server.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
                ["Pna:Xmpp:Secret"] = "s3cret",
                ["Pna:Xmpp:MailDomain"] = "example.com",
                ["Pna:Xmpp:ReconnectDelay"] = "00:00:00.050",
                ["Pna:Xmpp:MaxReconnectDelay"] = "00:00:00.200",
            });

            // The server has not answered yet: not ready, and the body says why.
            using (var response = await host.Client.GetAsync("/readyz"))
            {
                Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
                var body = await response.Content.ReadAsStringAsync();
                Assert.StartsWith("not ready\n", body, StringComparison.Ordinal);
                Assert.Contains("xmpp: XMPP component ", body, StringComparison.Ordinal);
            }

            using (var peer = await server.AcceptAsync())
            {
                await peer.HandshakeAsync();
                await WaitForReadyzAsync(host, HttpStatusCode.OK);
                Assert.Equal("ready\n", await host.Client.GetStringAsync("/readyz"));
            }

            // The server went away: not ready again until the component reconnects.
            var down = await WaitForReadyzAsync(host, HttpStatusCode.ServiceUnavailable);
            Assert.Contains("xmpp: XMPP component ", down, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    private static async Task<string> WaitForReadyzAsync(PnaTestHost host, HttpStatusCode status)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (true)
        {
            using var response = await host.Client.GetAsync("/readyz");
            var body = await response.Content.ReadAsStringAsync();
            if (response.StatusCode == status)
            {
                return body;
            }
            Assert.True(DateTime.UtcNow < deadline, $"/readyz still {(int)response.StatusCode}: {body}");
            await Task.Delay(20);
        }
    }
}
