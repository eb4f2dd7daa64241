using System.Net;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip.Transport;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>
/// An in-process PNA with the SIP notifier on fixed loopback UDP/TCP ports (real peers need them
/// in their configs), a data directory that survives <see cref="RestartAsync"/>, juliet's digest
/// credentials, and events put in through <see cref="IEventIngest"/>.
/// </summary>
public sealed class SipPna : IAsyncDisposable
{
    public const string Password = "secret";
    private readonly Dictionary<string, string> _settings;
    private WebApplication? _app;

    private SipPna(string directory, int port, IDictionary<string, string>? extra, string extraCredentials)
    {
        DataDirectory = directory;
        Port = port;
        var credentials = Path.Combine(directory, "sip-users");
        File.WriteAllText(credentials, "juliet:" + Password + "\n" + extraCredentials);
        _settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = Path.Combine(directory, "data"),
            ["Logging:LogLevel:Default"] = "Warning",
            ["Pna:Ingest:Sources:0:Name"] = "test",
            ["Pna:Ingest:Sources:0:Token"] = "test-token-0123456789abcdef",
            ["Pna:Sip:Enabled"] = "true",
            ["Pna:Sip:Udp:0"] = $"127.0.0.1:{port}",
            ["Pna:Sip:Tcp:0"] = $"127.0.0.1:{port}",
            ["Pna:Sip:Domains:0"] = "example.com",
            ["Pna:Sip:Domains:1"] = "127.0.0.1",
            ["Pna:Sip:AccountDomains:127.0.0.1"] = "example.com",
            ["Pna:Sip:Authentication:Realm"] = "example.com",
            ["Pna:Sip:Authentication:CredentialsFile"] = credentials,
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            _settings[k] = v;
        }
    }

    public string DataDirectory { get; }
    public int Port { get; }
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);
    public IServiceProvider Services => _app!.Services;
    public SubscriptionManager Subscriptions => Services.GetRequiredService<SubscriptionManager>();
    public SipNotifier Notifier => Services.GetRequiredService<SipNotifier>();

    /// <param name="extraCredentials">More <c>user:password</c> lines for the digest credentials file, after juliet's.</param>
    public static async Task<SipPna> StartAsync(string directory, int port, IDictionary<string, string>? settings = null, string extraCredentials = "")
    {
        var pna = new SipPna(directory, port, settings, extraCredentials);
        await pna.StartAppAsync();
        return pna;
    }

    private async Task StartAppAsync()
    {
        _app = PnaApplication.Build([.. _settings.Select(p => $"--{p.Key}={p.Value}")]);
        await _app.StartAsync();
    }

    /// <summary>Stops the PNA (subscriptions stay stored) and starts it again on the same files and ports.</summary>
    public async Task RestartAsync()
    {
        await StopAsync();
        await StartAppAsync();
    }

    /// <summary>Juliet's INBOX now has these totals (a MessageNew, or a FlagsSet \Seen when unseen went down).</summary>
    public async Task MailboxChangedAsync(uint messages, uint unseen, string account = "juliet@example.com", MailEventType type = MailEventType.MessageNew)
    {
        var e = new MailEvent
        {
            Type = type,
            Account = AccountId.Parse(account),
            Mailbox = MailboxPath.Inbox,
            Id = Guid.NewGuid().ToString("N"),
            Totals = new MailboxTotals(messages, unseen, messages + 1, 7),
            Uidset = type == MailEventType.MessageNew ? messages.ToString(System.Globalization.CultureInfo.InvariantCulture) : "1:" + messages,
            FlagNames = type == MailEventType.FlagsSet ? ["\\Seen"] : null,
        };
        var result = await Services.GetRequiredService<IEventIngest>().SubmitAsync([e], "test", CancellationToken.None);
        if (result.Accepted != 1)
        {
            throw new InvalidOperationException("event not accepted: " + string.Join("; ", result.Rejected.Select(r => r.ToString())));
        }
    }

    public async Task StopAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
