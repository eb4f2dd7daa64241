using Aggregators.EventModel;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp.Component;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>
/// A real PNA (in process, Kestrel on 127.0.0.1 port 0) with the XMPP transport enabled as the
/// component <c>events.example.com</c> of a test server, grants romeo@example.net access to
/// juliet@example.com, and a data directory that outlives it (for restart tests).
/// </summary>
public sealed class PnaXmppHost : IAsyncDisposable
{
    public const string Source = "it";

    private PnaXmppHost(WebApplication app) => App = app;

    public WebApplication App { get; }

    public XmppPubsubTransport Transport => App.Services.GetRequiredService<XmppPubsubTransport>();

    /// <param name="extra">More settings (or overrides), e.g. another grant or Pna:Xmpp:NotificationType.</param>
    public static async Task<PnaXmppHost> StartAsync(string dataDirectory, int componentPort, string secret, string domain = "events.example.com",
        IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = dataDirectory,
            ["Pna:State:FlushInterval"] = "00:00:00.050",
            ["Pna:Ingest:Sources:0:Name"] = Source,
            ["Pna:Ingest:Sources:0:Token"] = "integration-token-0123456789",
            ["Pna:Authorization:Grants:0:Subscriber"] = "xmpp:romeo@example.net",
            ["Pna:Authorization:Grants:0:Account"] = "juliet@example.com",
            ["Pna:Xmpp:Enabled"] = "true",
            ["Pna:Xmpp:Host"] = "127.0.0.1",
            ["Pna:Xmpp:Port"] = componentPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Pna:Xmpp:ComponentDomain"] = domain,
            ["Pna:Xmpp:Secret"] = secret,
            ["Pna:Xmpp:MailDomain"] = "example.com",
            ["Pna:Xmpp:ReconnectDelay"] = "00:00:00.200",
            ["Pna:Xmpp:MaxReconnectDelay"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string>())
        {
            settings[key] = value;
        }
        var app = PnaApplication.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        var host = new PnaXmppHost(app);
        await host.WaitConnectedAsync();
        return host;
    }

    public async Task WaitConnectedAsync()
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (Transport.State != ComponentState.Connected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the PNA's XMPP component did not connect: {Transport.State} ({Transport.StateReason})");
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Ingests one MessageNew with the mailbox's totals after it (as an IMAP bridge would).</summary>
    public async Task MessageNewAsync(string account, string mailbox, uint messages, uint unseen, uint uidnext)
    {
        var e = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = AccountId.Parse(account),
            Mailbox = MailboxPath.Parse(mailbox),
            Totals = new MailboxTotals(messages, unseen, uidnext, 1),
            Id = Guid.NewGuid().ToString("N"),
        };
        var result = await App.Services.GetRequiredService<IEventIngest>().SubmitAsync([e], Source, CancellationToken.None);
        Assert.True(result.Accepted == 1, $"event not accepted: {result}");
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
