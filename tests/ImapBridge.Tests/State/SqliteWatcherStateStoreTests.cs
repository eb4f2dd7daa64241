using Aggregators.ImapBridge.State;

namespace Aggregators.ImapBridge.Tests.State;

public sealed class SqliteWatcherStateStoreTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "bridge-state-" + Guid.NewGuid().ToString("N"));

    [Fact]
    public async Task Saves_upserts_removes_and_survives_reopening()
    {
        var path = Path.Combine(_dir, SqliteWatcherStateStore.DefaultFileName);
        using (var store = new SqliteWatcherStateStore(path))
        {
            Assert.Empty(await store.LoadAsync("juliet", default));
            await store.SaveAsync("juliet", [new("INBOX", 7, 10, 9, 2), new("Ünïcode/ä", uint.MaxValue, uint.MaxValue, 0, 0, true, ulong.MaxValue)], [], default);
            await store.SaveAsync("romeo", [new("INBOX", 1, 1, 0, 0)], [], default);
            await store.SaveAsync("juliet", [new("INBOX", 7, 11, 10, 3)], ["nothing"], default);
        }
        using (var store = new SqliteWatcherStateStore(path))
        {
            var j = await store.LoadAsync("juliet", default);
            Assert.Equal(new MailboxSnapshot("INBOX", 7, 11, 10, 3), j["INBOX"]);
            Assert.Equal(new MailboxSnapshot("Ünïcode/ä", uint.MaxValue, uint.MaxValue, 0, 0, true, ulong.MaxValue), j["Ünïcode/ä"]);
            await store.SaveAsync("juliet", [], ["Ünïcode/ä"], default);
            Assert.Single(await store.LoadAsync("juliet", default));
            Assert.Single(await store.LoadAsync("romeo", default));
        }
    }

    [Fact]
    public async Task In_memory_store_behaves_the_same()
    {
        var store = new InMemoryWatcherStateStore();
        await store.SaveAsync("a", [new("INBOX", 1, 2, 1, 1)], [], default);
        await store.SaveAsync("a", [new("X", 1, 2, 1, 1)], ["INBOX"], default);
        Assert.Equal(["X"], (await store.LoadAsync("a", default)).Keys);
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
