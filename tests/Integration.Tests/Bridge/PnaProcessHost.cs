using System.Collections.Concurrent;
using System.Globalization;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Bridge;

/// <summary>
/// A real PNA (PnaApplication.Build) on a fixed loopback port with a temporary data directory,
/// one ingest source and a subscription on a whole account that records every event notification,
/// so tests can count what reached the PNA's state and subscribers by event id.
/// </summary>
public sealed class PnaInProcess : IAsyncDisposable
{
    public const string Token = "bridge-test-token-0123456789";

    private readonly WebApplication _app;

    private PnaInProcess(WebApplication app, CountingTransport transport)
    {
        _app = app;
        Transport = transport;
    }

    public CountingTransport Transport { get; }

    public MailboxStateStore State => _app.Services.GetRequiredService<MailboxStateStore>();

    public static async Task<PnaInProcess> StartAsync(int port, string dataDirectory, string account, IDictionary<string, string>? settings = null)
    {
        var values = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:" + port.ToString(CultureInfo.InvariantCulture),
            ["Pna:DataDirectory"] = dataDirectory,
            ["Pna:State:FlushInterval"] = "00:00:00.050",
            ["Pna:Ingest:Sources:0:Name"] = "bridge",
            ["Pna:Ingest:Sources:0:Token"] = Token,
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            values[k] = v;
        }
        var transport = new CountingTransport();
        var app = PnaApplication.Build([.. values.Select(p => $"--{p.Key}={p.Value}")],
            s => s.AddSingleton<IAuthorizationPolicy>(new AllowAll()));
        await app.StartAsync();
        var filter = new SubscriptionFilter { Account = AccountId.Parse(account), Mailbox = MailboxPath.Root, Depth = SubscriptionDepth.Subtree };
        var result = await app.Services.GetRequiredService<SubscriptionManager>()
            .SubscribeAsync("xmpp:watcher@example.net", filter, transport, "{}", null, CancellationToken.None);
        Assert.True(result.Succeeded, result.Decision.Reason);
        return new PnaInProcess(app, transport);
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private sealed class AllowAll : IAuthorizationPolicy
    {
        public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
            new(AuthorizationDecision.Allow("test"));
    }
}

/// <summary>Counts event notifications by event id.</summary>
public sealed class CountingTransport : INotificationTransport
{
    public ConcurrentDictionary<string, int> ById { get; } = new();

    public ConcurrentQueue<MailEvent> Events { get; } = new();

    public string Name => "count";

    public void Deliver(in Notification notification)
    {
        if (notification.Kind == NotificationKind.Event && notification.Event is { } e)
        {
            Events.Enqueue(e);
        }
        if (notification.Kind == NotificationKind.Event && notification.Event?.Id is { } id)
        {
            ById.AddOrUpdate(id, 1, (_, n) => n + 1);
        }
    }
}
