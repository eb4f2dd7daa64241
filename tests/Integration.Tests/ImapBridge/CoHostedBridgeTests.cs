using Aggregators.EventModel;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.State;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>The bridge co-hosted in the PNA (piece 6, in-process half): configuration, IEventIngest delivery, bridge.db.</summary>
public sealed class CoHostedBridgeTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    private static WebApplication Build(string dataDirectory, IDictionary<string, string> settings)
    {
        var values = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = dataDirectory,
            ["Pna:State:FlushInterval"] = "00:00:00.050",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in settings)
        {
            values[k] = v;
        }
        return PnaApplication.Build(values.Select(p => $"--{p.Key}={p.Value}").ToArray());
    }

    [Fact]
    public async Task Pna_without_bridge_configuration_starts_without_the_bridge()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pna-bridge-" + Guid.NewGuid().ToString("N"));
        await using var app = Build(dir, new Dictionary<string, string>());
        await app.StartAsync();
        Assert.Null(app.Services.GetService<BridgeService>());
        await app.StopAsync();
    }

    [Fact]
    public async Task Co_hosted_bridge_with_a_master_user_delivers_events_into_the_pna_state()
    {
        var dovecot = fixture.Server;
        var user = dovecot.NewUser();
        var dir = Path.Combine(Path.GetTempPath(), "pna-bridge-" + Guid.NewGuid().ToString("N"));
        await using var app = Build(dir, new Dictionary<string, string>
        {
            ["Bridge:Enabled"] = "true",
            ["Bridge:Servers:0:Name"] = "dovecot",
            ["Bridge:Servers:0:Host"] = "127.0.0.1",
            ["Bridge:Servers:0:Port"] = dovecot.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["Bridge:Servers:0:Security"] = "None",
            ["Bridge:Servers:0:MasterUser:User"] = DovecotServer.Master.User,
            ["Bridge:Servers:0:MasterUser:Password"] = DovecotServer.Master.Password,
            ["Bridge:Servers:0:Users:0"] = user.User,
            ["Bridge:Servers:0:IncludeEnvelope"] = "true",
        });
        await app.StartAsync();
        var bridge = app.Services.GetRequiredService<BridgeService>();
        var watcher = Assert.Single(bridge.Watchers);
        await WaitUntil(() => watcher.Status.State == WatcherState.Watching, () => $"watcher watching: {watcher.Status}");

        await dovecot.DeliverAsync(user.User, "Dinner?", from: "romeo@example.net");
        var state = app.Services.GetRequiredService<MailboxStateStore>();
        var account = AccountId.Parse(user.User);
        await WaitUntil(
            () => state.GetAccount(account).Any(m => m.Mailbox == MailboxPath.Inbox && m.LastEventType == MailEventType.MessageNew),
            () => "MessageNew in the PNA state");
        var inbox = state.GetAccount(account).Single(m => m.Mailbox == MailboxPath.Inbox);
        Assert.Equal((1u, 1u, 2u), (inbox.Totals!.Value.Messages, inbox.Totals.Value.Unseen, inbox.Totals.Value.UidNext));
        Assert.StartsWith("ib1-", inbox.LastEventId, StringComparison.Ordinal);
        // The PNA may apply the event before the watcher counts the delivery as done.
        await WaitUntil(() => watcher.Status.EventsDelivered == 1, () => $"one delivery counted: {watcher.Status}");

        await app.StopAsync();
        var saved = new SqliteWatcherStateStore(Path.Combine(dir, SqliteWatcherStateStore.DefaultFileName));
        using (saved)
        {
            var known = await saved.LoadAsync(user.User, CancellationToken.None);
            Assert.Equal(2u, known["INBOX"].UidNext);
        }
    }

    private static async Task WaitUntil(Func<bool> condition, Func<string> what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what());
            }
            await Task.Delay(20);
        }
    }
}
