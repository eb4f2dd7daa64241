using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Tests;

public sealed class WatchStateTests
{
    private static MailboxUpdate Inbox(uint messages, uint unseen, uint uidnext, UpdateKind kind = UpdateKind.Event) =>
        new("INBOX", messages, unseen, uidnext, 7, kind);

    [Fact]
    public void Live_after_the_first_counts_and_stale_after_two_heartbeats_without_news()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(10), time);
        Assert.Equal(WatchStatus.Connecting, state.Status);
        state.Apply(Inbox(5, 2, 6, UpdateKind.Current));
        Assert.Equal(WatchStatus.Live, state.Status);

        time.Advance(TimeSpan.FromSeconds(19));
        Assert.False(state.Evaluate());
        Assert.Equal(WatchStatus.Live, state.Status);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(state.Evaluate());
        var stale = state.Snapshot();
        Assert.Equal(WatchStatus.Stale, stale.Status);
        Assert.Contains("20 s", stale.Reason, StringComparison.Ordinal);
        Assert.Equal(time.GetUtcNow(), stale.StaleSince);
        Assert.False(state.Evaluate()); // already stale: no second change

        // A heartbeat brings it back, with the counts it carries.
        state.Apply(Inbox(5, 1, 6, UpdateKind.Heartbeat));
        var live = state.Snapshot();
        Assert.Equal(WatchStatus.Live, live.Status);
        Assert.Null(live.StaleSince);
        Assert.Equal(1u, Assert.Single(live.Mailboxes).Unseen);
    }

    [Fact]
    public void A_heartbeat_every_interval_keeps_it_live()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(10), time);
        for (var i = 0; i < 20; i++)
        {
            state.Apply(Inbox(1, 1, 2, UpdateKind.Heartbeat));
            time.Advance(TimeSpan.FromSeconds(12)); // late, but not two intervals late
            Assert.False(state.Evaluate());
        }
    }

    [Fact]
    public void Lost_connection_is_stale_but_keeps_the_last_counts()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(10), time);
        state.Lost("cannot connect");
        Assert.Equal(WatchStatus.Connecting, state.Status); // nothing known yet
        state.Apply(Inbox(3, 3, 4));
        state.Lost("XMPP connection lost");
        var s = state.Snapshot();
        Assert.Equal(WatchStatus.Stale, s.Status);
        Assert.Equal("XMPP connection lost", s.Reason);
        Assert.Equal(3u, Assert.Single(s.Mailboxes).Unseen);
    }

    [Fact]
    public void New_mail_is_an_event_that_raises_uidnext_or_unseen()
    {
        var state = new WatchState(TimeSpan.FromSeconds(10), new ManualTimeProvider());
        Assert.Null(state.Apply(Inbox(1, 1, 2, UpdateKind.Initial))); // first sight is not news
        var news = state.Apply(Inbox(3, 3, 4));
        Assert.Equal(new NewMail("INBOX", 3, 2), news);
        Assert.Null(state.Apply(Inbox(3, 2, 4)));                     // read
        Assert.Null(state.Apply(Inbox(4, 3, 5, UpdateKind.Heartbeat))); // counts change without an event: not announced
        Assert.Null(state.Apply(Inbox(3, 3, 5)));                     // expunge
    }

    [Fact]
    public void Imap_counts_sit_beside_notified_ones_and_do_not_make_it_live()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(10), time);
        state.Apply(Inbox(2, 1, 3));
        time.Advance(TimeSpan.FromSeconds(30));
        state.Evaluate();
        state.Verified(new ImapCounts("INBOX", 4, 2, 5, time.GetUtcNow()));
        state.Verified(new ImapCounts("Work", 1, 0, 2, time.GetUtcNow()));
        var s = state.Snapshot();
        Assert.Equal(WatchStatus.Stale, s.Status);
        var inbox = s.Mailboxes.Single(m => m.Mailbox == "INBOX");
        Assert.Equal((1u, 2u), (inbox.Unseen, inbox.Imap!.Unseen));
        Assert.False(s.Mailboxes.Single(m => m.Mailbox == "Work").Notified);
    }

    [Fact]
    public void Heartbeat_must_be_positive()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new WatchState(TimeSpan.Zero));
    }
}
