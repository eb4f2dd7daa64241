using Aggregators.EventModel;
using Aggregators.Pna.Storage;
using Aggregators.Pna.Tests.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Storage;

public sealed class SqlitePnaStoreTests : IDisposable
{
    private readonly string _dir = PnaTestHost.NewDataDirectory();

    private string DbPath => Path.Combine(_dir, "pna.db");

    private SqlitePnaStore Open()
    {
        var store = new SqlitePnaStore(DbPath, NullLogger<SqlitePnaStore>.Instance);
        store.Open();
        return store;
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_dir, recursive: true);
    }

    [Fact]
    public void Subscriptions_round_trip_and_survive_reopening()
    {
        var filter = new SubscriptionFilter
        {
            Account = AccountId.Parse("alice@example.org"),
            Mailbox = MailboxPath.Parse("Work/Reports"),
            Depth = SubscriptionDepth.Subtree,
            Events = EventTypeSet.MessageCounts,
            Heartbeat = TimeSpan.FromSeconds(90),
        };
        var expires = DateTimeOffset.FromUnixTimeMilliseconds(1_900_000_000_000);
        long id;
        using (var store = Open())
        {
            id = store.InsertSubscription(new StoredSubscription(0, "sip:romeo@example.net", "sip", filter, "{\"callId\":\"x\"}", expires, DateTimeOffset.FromUnixTimeMilliseconds(1_800_000_000_000)));
            Assert.True(store.UpdateSubscription(id, expires.AddHours(1), "{\"callId\":\"y\"}"));
            Assert.False(store.UpdateSubscription(id + 100, null, null));
        }
        using (var store = Open())
        {
            var s = Assert.Single(store.LoadSubscriptions());
            Assert.Equal(id, s.Id);
            Assert.Equal("sip:romeo@example.net", s.Subscriber);
            Assert.Equal("sip", s.Transport);
            Assert.Equal(filter, s.Filter);
            Assert.Equal("{\"callId\":\"y\"}", s.TransportState);
            Assert.Equal(expires.AddHours(1), s.Expires);
            Assert.True(store.DeleteSubscription(id));
            Assert.Empty(store.LoadSubscriptions());
        }
    }

    [Fact]
    public void Mailbox_state_upserts_and_deletes_in_one_write()
    {
        var alice = AccountId.Parse("alice@example.org");
        using var store = Open();
        var inbox = new StoredMailboxState(alice, MailboxPath.Inbox, new MailboxTotals(1, 1, 2, 3), MailEventType.MessageNew, DateTimeOffset.FromUnixTimeMilliseconds(5), "id1");
        var work = new StoredMailboxState(alice, MailboxPath.Parse("Work"), null, null, null, null);
        store.WriteMailboxStates([inbox, work], []);
        store.WriteMailboxStates([inbox with { Totals = new MailboxTotals(2, 0, 3, 3) }], [(alice, MailboxPath.Parse("Work"))]);
        var row = Assert.Single(store.LoadMailboxStates());
        Assert.Equal(inbox with { Totals = new MailboxTotals(2, 0, 3, 3) }, row);
    }

    [Fact]
    public void Uses_wal_and_records_the_schema_version()
    {
        using (Open())
        {
        }
        using var c = new SqliteConnection($"Data Source={DbPath};Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode;";
        Assert.Equal("wal", (string)cmd.ExecuteScalar()!);
        cmd.CommandText = "SELECT version FROM schema_version;";
        Assert.Equal((long)SqlitePnaStore.CurrentSchemaVersion, (long)cmd.ExecuteScalar()!);
    }

    [Fact]
    public void Refuses_a_newer_schema_with_a_clear_error()
    {
        using (Open())
        {
        }
        using (var c = new SqliteConnection($"Data Source={DbPath};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "UPDATE schema_version SET version = 99;";
            cmd.ExecuteNonQuery();
        }
        var store = new SqlitePnaStore(DbPath, NullLogger<SqlitePnaStore>.Instance);
        var ex = Assert.Throws<StoreSchemaException>(store.Open);
        Assert.Contains("schema version 99, newer than the " + SqlitePnaStore.CurrentSchemaVersion, ex.Message, StringComparison.Ordinal);
        Assert.False(store.IsOpen);
    }
}
