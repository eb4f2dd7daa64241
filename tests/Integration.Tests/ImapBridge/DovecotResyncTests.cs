using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>
/// Resync and reconnects against a real Dovecot (pieces 4 and 5): changes made while the watcher was
/// away give exactly the corrective events, nothing already reported comes again. Own fixture, as
/// Dovecot is restarted.
/// </summary>
public sealed class DovecotResyncTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    private DovecotServer Dovecot => fixture.Server;

    private static string T(uint messages, uint unseen, uint uidnext, uint uv) => new MailboxTotals(messages, unseen, uidnext, uv).ToString();

    [Fact]
    public async Task Restarted_watcher_with_the_sqlite_state_emits_only_the_corrective_events()
    {
        var user = Dovecot.NewUser();
        var dbDir = Path.Combine(Path.GetTempPath(), "bridge-tests-" + Guid.NewGuid().ToString("N"));
        using var store = new SqliteWatcherStateStore(Path.Combine(dbDir, SqliteWatcherStateStore.DefaultFileName));
        await using var other = await Dovecot.ConnectAsync();
        await other.LoginAsync(user.User, user.Password);

        IReadOnlyList<MailEvent> first;
        await using (var w1 = new WatcherHarness(Dovecot, user, WatchMode.Auto, store))
        {
            await w1.StartAsync();
            await Dovecot.DeliverAsync(user.User, "a");
            await other.CreateAsync("Other");
            first = await w1.Sink.WaitAsync(e => e.Count >= 2, what: "MessageNew + MailboxCreate");
            Assert.Equal([MailEventType.MessageNew, MailEventType.MailboxCreate], first.Select(e => e.Type).Order());
        }

        // While no watcher runs: two new messages, uid 1 read, mail in Other, a new mailbox, a gone one.
        await Dovecot.DeliverAsync(user.User, "b");
        await Dovecot.DeliverAsync(user.User, "c");
        await other.SelectAsync("INBOX");
        await other.UidStoreAsync(ImapSequenceSet.Single(1), "+FLAGS", ["\\Seen"]);
        await Dovecot.DeliverAsync(user.User, "d", "Other");
        await other.CreateAsync("New");
        var inbox = await other.StatusAsync("INBOX");
        var uv = inbox.UidValidity!.Value;
        var otherUv = (await other.StatusAsync("Other")).UidValidity!.Value;
        var newUv = (await other.StatusAsync("New")).UidValidity!.Value;

        await using var w2 = new WatcherHarness(Dovecot, user, WatchMode.Auto, store);
        await w2.StartAsync();
        // Resync delivers before the watcher reports Watching: the events are there already.
        var got = w2.Sink.Events.Select(RecordingSink.Describe).Order(StringComparer.Ordinal).ToArray();
        string[] expected =
        [
            $"MailboxCreate New uidset= flags= totals={T(0, 0, 1, newUv)}",
            $"MessageNew INBOX uidset=2 flags= totals={T(3, 2, 4, uv)}",
            $"MessageNew INBOX uidset=3 flags= totals={T(3, 2, 4, uv)}",
            $"MessageNew Other uidset=1 flags= totals={T(1, 1, 2, otherUv)}",
            $"MessageRead INBOX uidset= flags= totals={T(3, 2, 4, uv)}",
        ];
        Assert.Equal(expected.Order(StringComparer.Ordinal), got);
        Assert.Empty(w2.Sink.Events.Select(e => e.Id).Intersect(first.Select(e => e.Id)));

        // And it watches: a new message is reported once, live.
        await Dovecot.DeliverAsync(user.User, "e");
        var live = await w2.Sink.WaitCountAsync(expected.Length, 1, "live MessageNew");
        Assert.Equal($"MessageNew INBOX uidset=4 flags= totals={T(4, 3, 5, uv)}", RecordingSink.Describe(live[0]));
        try
        {
            Directory.Delete(dbDir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Killed_connection_reconnects_resyncs_and_reports_nothing_twice()
    {
        var user = Dovecot.NewUser();
        await using var h = new WatcherHarness(Dovecot, user, WatchMode.Auto);
        await h.StartAsync();
        await Dovecot.DeliverAsync(user.User, "before");
        await h.Sink.WaitCountAsync(0, 1, "MessageNew before the kick");

        await Dovecot.DoveadmAsync("kick", user.User);
        // Mail while the watcher reconnects (or just after: then it is reported live, the same event).
        await Dovecot.DeliverAsync(user.User, "during");
        await h.WaitForStateAsync(WatcherState.Watching, sessions: 2);
        await Dovecot.DeliverAsync(user.User, "after");

        var events = await h.Sink.WaitAsync(e => e.Count(x => x.Type == MailEventType.MessageNew) >= 3, what: "three MessageNew");
        var news = events.Where(e => e.Type == MailEventType.MessageNew).Select(e => e.Uidset ?? "").ToArray();
        Assert.Equal(["1", "2", "3"], news);
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.All(events, e => Assert.Equal(MailEventType.MessageNew, e.Type));
        Assert.NotNull(h.Watcher.Status.LastError);
    }

    [Fact]
    public async Task Dovecot_restart_is_survived_with_backoff_and_no_duplicates()
    {
        var user = Dovecot.NewUser();
        await using var h = new WatcherHarness(Dovecot, user, WatchMode.Auto);
        await h.StartAsync();
        await Dovecot.DeliverAsync(user.User, "before");
        await h.Sink.WaitCountAsync(0, 1, "MessageNew before the restart");

        await Dovecot.StopAsync();
        await h.WaitForStateAsync(WatcherState.BackingOff, sessions: 2);
        await Dovecot.RestartAsync();
        await Dovecot.DeliverAsync(user.User, "after restart");
        await h.WaitForStateAsync(WatcherState.Watching, sessions: 3, timeout: TimeSpan.FromSeconds(30));
        await Dovecot.DeliverAsync(user.User, "watching again");

        var events = await h.Sink.WaitAsync(e => e.Count(x => x.Type == MailEventType.MessageNew) >= 3, what: "three MessageNew");
        Assert.Equal(["1", "2", "3"], events.Where(e => e.Type == MailEventType.MessageNew).Select(e => e.Uidset ?? "").ToArray());
        Assert.Equal(events.Count, events.Select(e => e.Id).Distinct().Count());
        Assert.All(events, e => Assert.Equal(MailEventType.MessageNew, e.Type));
        var last = events[^1].Totals!.Value;
        Assert.Equal((3u, 3u, 4u), (last.Messages, last.Unseen, last.UidNext));
    }
}
