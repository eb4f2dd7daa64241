using System.Globalization;
using Aggregators.Cna.Hosting;
using Aggregators.Cna.Xmpp;
using Aggregators.Xmpp.Component;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Cna.Xmpp;

/// <summary>
/// A real CNA (in process) with its XMPP side as component <c>events.example.net</c> of a test
/// server, routing example.com to the PNA's <c>events.example.com</c>. Every setting is passed
/// here: the test output's appsettings.json is the PNA's.
/// </summary>
internal sealed class CnaXmppHost : IAsyncDisposable
{
    private CnaXmppHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public XmppProxy Proxy => App.Services.GetRequiredService<XmppProxy>();

    public static async Task<CnaXmppHost> StartAsync(string dataDirectory, int componentPort, string secret, TimeSpan heartbeat, TimeSpan? refresh = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Cna:DataDirectory"] = dataDirectory,
            ["Cna:Xmpp:Enabled"] = "true",
            ["Cna:Xmpp:Host"] = "127.0.0.1",
            ["Cna:Xmpp:Port"] = componentPort.ToString(CultureInfo.InvariantCulture),
            ["Cna:Xmpp:ComponentDomain"] = "events.example.net",
            ["Cna:Xmpp:Secret"] = secret,
            ["Cna:Xmpp:Routes:example.com"] = "events.example.com",
            ["Cna:Xmpp:Heartbeat"] = heartbeat.ToString("c", CultureInfo.InvariantCulture),
            ["Cna:Xmpp:WatchdogTick"] = "00:00:00.200",
            ["Cna:Xmpp:ResubscribeDelay"] = "00:00:00.200",
            ["Cna:Xmpp:MaxResubscribeDelay"] = "00:00:01",
            ["Cna:Xmpp:UpstreamTimeout"] = "00:00:10",
            ["Cna:Xmpp:ReconnectDelay"] = "00:00:00.200",
            ["Cna:Xmpp:MaxReconnectDelay"] = "00:00:02",
            ["Cna:Xmpp:RefreshInterval"] = (refresh ?? TimeSpan.FromMinutes(10)).ToString("c", CultureInfo.InvariantCulture),
            ["Logging:LogLevel:Default"] = "Warning",
        };
        var app = CnaApplication.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        var host = new CnaXmppHost(app);
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (host.Proxy.ComponentState != ComponentState.Connected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the CNA's XMPP component did not connect: {host.Proxy.Status}");
            }
            await Task.Delay(20);
        }
        return host;
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }
        _disposed = true;
        await App.StopAsync();
        await App.DisposeAsync();
    }
}
