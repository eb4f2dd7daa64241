using System.Net;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Storage;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Ingest;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Tests.Hosting;

public sealed class HostLifecycleTests : IDisposable
{
    private static readonly AccountId Alice = AccountId.Parse("alice@example.org");
    private readonly string _dir = PnaTestHost.NewDataDirectory();

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    private IPnaStore OpenStore()
    {
        var store = new SqlitePnaStore(Path.Combine(_dir, "pna.db"), NullLogger<SqlitePnaStore>.Instance);
        store.Open();
        return store;
    }

    [Fact]
    public async Task Graceful_shutdown_drains_every_accepted_event_into_state_and_store()
    {
        var transport = new RecordingTransport();
        var host = await PnaTestHost.StartAsync(_dir, transport: transport);
        var subscription = await host.SubscribeAsync("alice@example.org", "INBOX", SubscriptionDepth.One);
        transport.Gate = new ManualResetEventSlim(false); // hold the dispatcher so events pile up
        const int batches = 20, perBatch = 50;
        for (var b = 0; b < batches; b++)
        {
            var lines = new string[perBatch];
            for (var i = 0; i < perBatch; i++)
            {
                var n = (uint)((b * perBatch) + i + 1);
                lines[i] = Events.MessageNew("alice@example.org", "INBOX", n, n, n + 1, id: "e" + n);
            }
            var r = await host.PostAsync(Events.Ndjson(lines));
            Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        }
        var stop = host.StopAsync();
        await Task.Delay(50);
        transport.Gate.Set();
        await stop;
        await host.DisposeAsync();

        const uint total = batches * perBatch;
        Assert.Equal(total, (uint)transport.For(subscription).Count(n => n.Kind == NotificationKind.Event));
        using var store = OpenStore();
        var inbox = Assert.Single(store.LoadMailboxStates());
        Assert.Equal(new MailboxTotals(total, total, total + 1, 7), inbox.Totals);
        Assert.Equal("e" + total, inbox.LastEventId);
    }

    [Fact]
    public async Task The_dispatcher_brackets_each_batch_of_deliveries_in_one_burst_per_transport()
    {
        var transport = new RecordingTransport();
        var host = await PnaTestHost.StartAsync(_dir, transport: transport);
        var subscriptions = new List<Subscription>();
        for (var i = 0; i < 3; i++)
        {
            subscriptions.Add(await host.SubscribeAsync("alice@example.org", "INBOX", SubscriptionDepth.One));
        }
        var r = await host.PostAsync(Events.Ndjson([
            Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2, id: "b1"),
            Events.MessageNew("alice@example.org", "INBOX", 2, 2, 3, id: "b2"),
        ]));
        Assert.Equal(HttpStatusCode.Accepted, r.StatusCode);
        await PnaTestHost.WaitUntil(() => transport.Notifications.Count(n => n.Kind == NotificationKind.Event) == 6, "six event notifications");
        await PnaTestHost.WaitUntil(() => transport.BurstSizes.Sum() == transport.Notifications.Count, "the last burst to end");
        await host.DisposeAsync();

        Assert.Equal(0, transport.DeliveriesOutsideBursts);
        // Three initial notifications (one control item each), then the batch's six in one or two bursts.
        Assert.Equal([1, 1, 1], transport.BurstSizes.Take(3));
        Assert.Equal(6, transport.BurstSizes.Skip(3).Sum());
        Assert.All(subscriptions, s => Assert.Equal(2, transport.For(s).Count(n => n.Kind == NotificationKind.Event)));
    }

    [Fact]
    public async Task Restart_with_the_same_file_keeps_subscriptions_and_state()
    {
        long id;
        var sip = new RecordingTransport("sip");
        await using (var first = await PnaTestHost.StartAsync(_dir, services: s => s.AddSingleton<INotificationTransport>(sip)))
        {
            var filter = new SubscriptionFilter { Account = Alice, Mailbox = MailboxPath.Inbox, Heartbeat = TimeSpan.FromMinutes(5) };
            var result = await first.Subscriptions.SubscribeAsync("xmpp:romeo@example.net", filter, first.Transport, "{\"node\":\"mail_events/INBOX\"}", DateTimeOffset.UtcNow.AddHours(1), CancellationToken.None);
            id = result.Subscription!.Id;
            var viaSip = await first.Subscriptions.SubscribeAsync("sip:juliet@example.net", filter, sip, null, null, CancellationToken.None);
            Assert.True(viaSip.Succeeded);
            await first.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 8, 3, 20)));
            await PnaTestHost.WaitUntil(() => first.State.Get(Alice, MailboxPath.Inbox) is not null, "state");
        }

        // Second start: only the "test" transport is configured; the "sip" subscription stays stored, inactive.
        await using var second = await PnaTestHost.StartAsync(_dir);
        var restored = Assert.Single(second.Subscriptions.Snapshot());
        Assert.Equal(id, restored.Id);
        Assert.Same(second.Transport, restored.Transport);
        Assert.Equal("{\"node\":\"mail_events/INBOX\"}", restored.TransportState);
        Assert.Equal(TimeSpan.FromMinutes(5), restored.Filter.Heartbeat);
        var inactive = Assert.Single(second.Subscriptions.Inactive);
        Assert.Equal("sip", inactive.Transport);
        Assert.Equal(new MailboxTotals(8, 3, 20, 7), second.State.Get(Alice, MailboxPath.Inbox)!.Totals);

        await second.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 9, 4, 21)));
        await PnaTestHost.WaitUntil(() => second.Transport.For(restored).Count == 1, "notification to the restored subscription");
        Assert.Equal(new MailboxTotals(9, 4, 21, 7), second.Transport.For(restored)[0].Totals);

        using var admin = new HttpClient { BaseAddress = second.BaseAddress };
        using var doc = JsonDocument.Parse(await admin.GetStringAsync("/v1/subscriptions"));
        Assert.Equal(2, doc.RootElement.GetProperty("subscriptions").GetArrayLength());
    }

    [Fact]
    public async Task A_newer_schema_stops_the_host_at_start_with_a_clear_error()
    {
        using (var store = OpenStore())
        {
        }
        using (var c = new SqliteConnection($"Data Source={Path.Combine(_dir, "pna.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE schema_version SET version = 42;";
            cmd.ExecuteNonQuery();
        }
        var app = PnaTestHost.Build(_dir, null, null, new RecordingTransport());
        var ex = await Assert.ThrowsAsync<StoreSchemaException>(() => app.StartAsync());
        Assert.Contains("schema version 42", ex.Message, StringComparison.Ordinal);
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Invalid_options_fail_at_start_naming_the_key()
    {
        var app = PnaTestHost.Build(_dir, new Dictionary<string, string>
        {
            ["Pna:Ingest:MaxBodyBytes"] = "0",
            ["Pna:Ingest:Sources:1:Name"] = "test",
            ["Pna:Ingest:Sources:1:Token"] = "short",
        }, null, null);
        var ex = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Pna:Ingest:MaxBodyBytes must be between 1024 and 1073741824 (was 0)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Pna:Ingest:Sources:1:Name 'test' is used twice", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Pna:Ingest:Sources:1:Token (source 'test') must be at least 16 characters", ex.Message, StringComparison.Ordinal);
        await app.DisposeAsync();
    }

    [Fact]
    public async Task Without_configured_sources_a_local_token_is_generated_once_and_kept_private()
    {
        string token;
        await using (var host = await PnaTestHost.StartAsync(_dir, withSource: false))
        {
            var path = Path.Combine(_dir, IngestTokens.TokenFileName);
            Assert.True(File.Exists(path));
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
            }
            token = File.ReadAllText(path).Trim();
            Assert.True(token.Length >= 32);
            Assert.Equal(HttpStatusCode.Unauthorized, (await host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)))).StatusCode);
            using var client = host.NewClient(token);
            var ok = await client.PostAsync("/v1/events", new StringContent(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)), Encoding.UTF8, "application/x-ndjson"));
            Assert.Equal(HttpStatusCode.Accepted, ok.StatusCode);
        }
        await using (var again = await PnaTestHost.StartAsync(_dir, withSource: false))
        {
            Assert.Equal(token, File.ReadAllText(Path.Combine(_dir, IngestTokens.TokenFileName)).Trim());
        }
    }

    [Fact]
    public async Task Health_readiness_metrics_and_admin_state_are_served()
    {
        await using var host = await PnaTestHost.StartAsync(_dir);
        await host.SubscribeAsync("alice@example.org");
        await host.PostAsync(Events.Ndjson(
            Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2),
            Events.MessageNew("alice@example.org", "Work/Reports", 4, 0, 5),
            "{\"event\":\"Nope\"}"));
        await PnaTestHost.WaitUntil(() => host.State.Get(Alice, MailboxPath.Parse("Work/Reports")) is not null, "state");

        using var anonymous = new HttpClient { BaseAddress = host.BaseAddress };
        Assert.Equal("ok\n", await anonymous.GetStringAsync("/healthz"));
        Assert.Equal("ready\n", await anonymous.GetStringAsync("/readyz"));
        var metrics = await anonymous.GetStringAsync("/metrics");
        Assert.Contains("pna_events_received_total{source=\"test\",type=\"MessageNew\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("pna_events_accepted_total{source=\"test\",type=\"MessageNew\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("pna_events_rejected_total{source=\"test\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("pna_notifications_out_total{transport=\"test\",kind=\"event\"} 2", metrics, StringComparison.Ordinal);
        Assert.Contains("pna_notifications_out_total{transport=\"test\",kind=\"initial\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("# TYPE pna_subscriptions gauge\npna_subscriptions 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("pna_dispatcher_queue_depth 0", metrics, StringComparison.Ordinal);

        using var doc = JsonDocument.Parse(await anonymous.GetStringAsync("/v1/accounts/alice@example.org/mailboxes"));
        var mailboxes = doc.RootElement.GetProperty("mailboxes");
        Assert.Equal(["INBOX", "Work/Reports"], mailboxes.EnumerateArray().Select(m => m.GetProperty("mailbox").GetString()));
        Assert.Equal(4, mailboxes[1].GetProperty("totals").GetProperty("messages").GetInt32());
    }

    [Fact]
    public async Task Heartbeats_go_through_the_dispatcher_with_current_totals_and_the_next_sequence()
    {
        await using var host = await PnaTestHost.StartAsync(_dir, settings: new Dictionary<string, string>
        {
            ["Pna:Heartbeats:Min"] = "00:00:00.100",
            ["Pna:Heartbeats:Tick"] = "00:00:00.020",
        });
        await host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 3, 1, 4)));
        await PnaTestHost.WaitUntil(() => host.State.Get(Alice, MailboxPath.Inbox) is not null, "state");
        var filter = new SubscriptionFilter { Account = Alice, Heartbeat = TimeSpan.FromMilliseconds(100) };
        var s = (await host.Subscriptions.SubscribeAsync("sip:romeo@example.net", filter, host.Transport, null, null, CancellationToken.None)).Subscription!;
        await PnaTestHost.WaitUntil(() => host.Transport.For(s).Any(n => n.Kind == NotificationKind.Heartbeat), "a heartbeat");
        var notes = host.Transport.For(s);
        Assert.Equal(NotificationKind.Initial, notes[0].Kind);
        Assert.Equal(MailboxPath.Inbox, notes[0].Mailbox); // account-root subscription: INBOX totals
        Assert.Equal(new MailboxTotals(3, 1, 4, 7), notes[0].Totals);
        Assert.Equal(Enumerable.Range(1, notes.Count).Select(i => (long)i), notes.Select(n => n.Sequence));
        Assert.Equal(new MailboxTotals(3, 1, 4, 7), notes.First(n => n.Kind == NotificationKind.Heartbeat).Totals);
        Assert.True(host.Subscriptions.Unsubscribe(s.Id, "test over"));
        Assert.Empty(host.Subscriptions.Snapshot());
    }

    [Fact]
    public async Task Default_policy_allows_the_owner_and_denies_others_with_a_reason()
    {
        var app = Aggregators.Pna.Hosting.PnaApplication.Build(
            [$"--urls=http://127.0.0.1:0", $"--Pna:DataDirectory={_dir}", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        try
        {
            var manager = app.Services.GetRequiredService<SubscriptionManager>();
            var result = await manager.SubscribeAsync("sip:mallory@example.net", new SubscriptionFilter { Account = Alice }, new RecordingTransport(), null, null, CancellationToken.None);
            Assert.False(result.Succeeded);
            Assert.Equal("no grant matches sip:mallory@example.net for alice@example.org", result.Decision.Reason);
            Assert.Empty(manager.Snapshot());
            var owner = await manager.SubscribeAsync("sip:alice@example.org", new SubscriptionFilter { Account = Alice }, new RecordingTransport(), null, null, CancellationToken.None);
            Assert.True(owner.Succeeded, owner.Decision.Reason);
        }
        finally
        {
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }
}

public sealed class SubscriptionManagerTests
{
    private static readonly AccountId Carol = AccountId.Parse("carol@example.org");

    [Fact]
    public async Task Refresh_transport_state_unsubscribe_and_expiry_are_persisted()
    {
        var dir = PnaTestHost.NewDataDirectory();
        try
        {
            long kept, gone, expiring;
            var expires = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);
            await using (var host = await PnaTestHost.StartAsync(dir))
            {
                var m = host.Subscriptions;
                var filter = new SubscriptionFilter { Account = Carol, Mailbox = MailboxPath.Inbox };
                kept = (await m.SubscribeAsync("sip:carol@example.org", filter, host.Transport, "v1", null, CancellationToken.None)).Subscription!.Id;
                gone = (await m.SubscribeAsync("sip:carol@example.org", filter, host.Transport, null, null, CancellationToken.None)).Subscription!.Id;
                expiring = (await m.SubscribeAsync("sip:carol@example.org", filter, host.Transport, null, DateTimeOffset.UtcNow.AddMilliseconds(50), CancellationToken.None)).Subscription!.Id;
                Assert.True(m.Refresh(kept, expires));
                Assert.True(m.UpdateTransportState(kept, "v2"));
                Assert.True(m.Unsubscribe(gone, "client asked"));
                Assert.False(m.Unsubscribe(gone, "again"));
                Assert.False(m.Refresh(gone, null));
                await Task.Delay(100);
                Assert.Equal(1, m.SweepExpired());
                Assert.Null(m.Get(expiring));
                Assert.Equal([kept], m.Snapshot().Select(s => s.Id));
            }
            await using (var again = await PnaTestHost.StartAsync(dir))
            {
                var s = Assert.Single(again.Subscriptions.Snapshot());
                Assert.Equal(kept, s.Id);
                Assert.Equal("v2", s.TransportState);
                Assert.Equal(expires, s.Expires);
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }
    }
}
