using Aggregators.ImapBridge.State;
using Microsoft.Data.Sqlite;

namespace Aggregators.ImapBridge.Tests.State;

/// <summary>The delivery generation is stored with the state; a bridge.db from before it gets the column.</summary>
public sealed class GenerationStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bridge-gen-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Generation_round_trips()
    {
        var path = Path.Combine(_dir, SqliteWatcherStateStore.DefaultFileName);
        using (var store = new SqliteWatcherStateStore(path))
        {
            await store.SaveAsync("juliet", [new("INBOX", 7, 10, 9, 2, Generation: ulong.MaxValue - 1)], [], default);
        }
        using (var store = new SqliteWatcherStateStore(path))
        {
            Assert.Equal(ulong.MaxValue - 1, (await store.LoadAsync("juliet", default))["INBOX"].Generation);
        }
    }

    [Fact]
    public async Task An_older_bridge_db_gets_the_column_with_generation_zero()
    {
        Directory.CreateDirectory(_dir);
        var path = Path.Combine(_dir, SqliteWatcherStateStore.DefaultFileName);
        using (var old = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString()))
        {
            old.Open();
            using var cmd = old.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE mailbox_state (account TEXT NOT NULL, mailbox TEXT NOT NULL, uidvalidity INTEGER NOT NULL,
                    uidnext INTEGER NOT NULL, messages INTEGER NOT NULL, unseen INTEGER NOT NULL, subscribed INTEGER NOT NULL,
                    highestmodseq INTEGER NULL, PRIMARY KEY (account, mailbox)) WITHOUT ROWID;
                INSERT INTO mailbox_state VALUES ('juliet', 'INBOX', 7, 10, 9, 2, 0, NULL);
                """;
            cmd.ExecuteNonQuery();
        }
        using var store = new SqliteWatcherStateStore(path);
        Assert.Equal(new MailboxSnapshot("INBOX", 7, 10, 9, 2), (await store.LoadAsync("juliet", default))["INBOX"]);
        await store.SaveAsync("juliet", [new("INBOX", 7, 11, 10, 3, Generation: 5)], [], default);
        Assert.Equal(5ul, (await store.LoadAsync("juliet", default))["INBOX"].Generation);
    }

    public void Dispose()
    {
        if (Directory.Exists(_dir))
        {
            Directory.Delete(_dir, recursive: true);
        }
    }
}
