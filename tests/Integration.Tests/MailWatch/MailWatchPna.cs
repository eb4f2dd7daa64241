using System.Globalization;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp.Component;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>
/// The PNA MailWatch talks to, in process: the IMAP bridge co-hosted (Bridge:Enabled, Dovecot's
/// juliet watched as account juliet@example.com with her own password), a short heartbeat
/// minimum (<see cref="HeartbeatMin"/>) so STALE shows within seconds, and XMPP (component of a
/// Prosody) or SIP (fixed loopback port, digest user juliet). Stop and start again on the same
/// data directory: subscriptions survive.
/// </summary>
public sealed class MailWatchPna : IAsyncDisposable
{
    public const string Account = "juliet@example.com";
    public const string SipPassword = "sip-secret";
    public static readonly TimeSpan HeartbeatMin = TimeSpan.FromSeconds(2);

    private readonly Dictionary<string, string> _settings;
    private WebApplication? _app;

    private MailWatchPna(Dictionary<string, string> settings) => _settings = settings;

    public IServiceProvider Services => _app?.Services ?? throw new InvalidOperationException("the PNA is stopped");

    public static MailWatchPna Create(string directory, DovecotServer dovecot, ProsodyServer? prosody = null, int? sipPort = null)
    {
        Directory.CreateDirectory(directory);
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = Path.Combine(directory, "data"),
            ["Pna:State:FlushInterval"] = "00:00:00.050",
            ["Pna:Heartbeats:Min"] = HeartbeatMin.ToString("c", CultureInfo.InvariantCulture),
            ["Pna:Heartbeats:Tick"] = "00:00:00.200",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Bridge:Enabled"] = "true",
            ["Bridge:Servers:0:Name"] = "dovecot",
            ["Bridge:Servers:0:Host"] = "127.0.0.1",
            ["Bridge:Servers:0:Port"] = dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Bridge:Servers:0:Security"] = "None",
            ["Bridge:Servers:0:Accounts:0:Login"] = DovecotServer.Juliet.User,
            ["Bridge:Servers:0:Accounts:0:Password"] = DovecotServer.Juliet.Password,
            ["Bridge:Servers:0:Accounts:0:Account"] = Account,
        };
        if (prosody is not null)
        {
            settings["Pna:Xmpp:Enabled"] = "true";
            settings["Pna:Xmpp:Host"] = "127.0.0.1";
            settings["Pna:Xmpp:Port"] = prosody.ComponentPort.ToString(CultureInfo.InvariantCulture);
            settings["Pna:Xmpp:ComponentDomain"] = "events.example.com";
            settings["Pna:Xmpp:Secret"] = ProsodyServer.Secret;
            settings["Pna:Xmpp:MailDomain"] = "example.com";
            settings["Pna:Xmpp:ReconnectDelay"] = "00:00:00.200";
            settings["Pna:Xmpp:MaxReconnectDelay"] = "00:00:01";
        }
        if (sipPort is { } port)
        {
            var credentials = Path.Combine(directory, "sip-users");
            File.WriteAllText(credentials, "juliet:" + SipPassword + "\n");
            settings["Pna:Sip:Enabled"] = "true";
            settings["Pna:Sip:Udp:0"] = $"127.0.0.1:{port}";
            settings["Pna:Sip:Tcp:0"] = $"127.0.0.1:{port}";
            settings["Pna:Sip:Domains:0"] = "example.com";
            settings["Pna:Sip:Authentication:Realm"] = "example.com";
            settings["Pna:Sip:Authentication:CredentialsFile"] = credentials;
            settings["Pna:Sip:MinExpiresSeconds"] = "10";
        }
        return new MailWatchPna(settings);
    }

    public async Task StartAsync()
    {
        if (_app is not null)
        {
            throw new InvalidOperationException("already running");
        }
        _app = PnaApplication.Build([.. _settings.Select(p => $"--{p.Key}={p.Value}")]);
        await _app.StartAsync();
        var bridge = _app.Services.GetRequiredService<BridgeService>();
        await Until.TrueAsync(() => bridge.Watchers.All(w => w.Status.State == WatcherState.Watching), "the bridge watches juliet");
        if (_app.Services.GetService<XmppPubsubTransport>() is { } xmpp)
        {
            await Until.TrueAsync(() => xmpp.State == ComponentState.Connected, $"the PNA's XMPP component is connected ({xmpp.State})");
        }
    }

    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public ValueTask DisposeAsync() => new(StopAsync());
}

/// <summary>Waits on a condition (the machine is loaded: generous timeouts, no fixed sleeps).</summary>
internal static class Until
{
    public static async Task TrueAsync(Func<bool> condition, string what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {seconds} s waiting for: {what}");
            }
            await Task.Delay(25);
        }
    }

    public static async Task TrueAsync(Func<bool> condition, Func<string> what, double seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"timed out after {seconds} s waiting for: {what()}");
            }
            await Task.Delay(25);
        }
    }
}
