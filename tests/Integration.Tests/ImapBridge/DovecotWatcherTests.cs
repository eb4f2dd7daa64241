using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>
/// The account watcher against a real Dovecot (pieces 2-4): mail delivered with dovecot-lda, flags
/// changed from another connection, expunge, mailbox create/rename/delete; the exact events and totals.
/// </summary>
public sealed class DovecotWatcherTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    private DovecotServer Dovecot => fixture.Server;

    private static string T(uint messages, uint unseen, uint uidnext, uint uv) => new MailboxTotals(messages, unseen, uidnext, uv).ToString();

    [Fact]
    public async Task Notify_mode_reports_new_mail_flags_expunge_and_mailbox_changes_with_totals()
    {
        var user = Dovecot.NewUser();
        await using var h = new WatcherHarness(Dovecot, user, WatchMode.Auto);
        await h.StartAsync();
        Assert.True(h.Watcher.Status.NotifyMode);
        await using var other = await Dovecot.ConnectAsync();
        await other.LoginAsync(user.User, user.Password);
        await RunScenarioAsync(h, other, user.User);
    }

    [Fact]
    public async Task Idle_only_mode_reports_the_same_for_a_user_without_notify()
    {
        var user = DovecotServer.NoList;
        await using var h = new WatcherHarness(Dovecot, user, WatchMode.Auto);
        await h.StartAsync();
        Assert.False(h.Watcher.Status.NotifyMode);
        await using var other = await Dovecot.ConnectAsync();
        await other.LoginAsync(user.User, user.Password);
        await RunScenarioAsync(h, other, user.User);
    }

    [Theory]
    [InlineData(WatchMode.Auto)]
    [InlineData(WatchMode.IdleOnly)]
    public async Task Mail_in_the_junk_special_use_mailbox_is_spam(WatchMode mode)
    {
        var user = Dovecot.NewUser();
        await using (var setup = await Dovecot.ConnectAsync())
        {
            await setup.LoginAsync(user.User, user.Password);
            await setup.CreateAsync("Junk");
            var junk = Assert.Single((await setup.ListAsync("", "Junk", new ImapListOptions { SpecialUse = true })).Mailboxes);
            Assert.True(junk.HasAttribute("\\Junk"), "the test Dovecot marks Junk as \\Junk (dovecot.conf namespace inbox)");
        }
        await using var h = new WatcherHarness(Dovecot, user, mode);
        await h.StartAsync();
        await Dovecot.DeliverAsync(user.User, "cheap pills", "Junk");
        var e = await h.Sink.WaitCountAsync(0, 1, "MessageNew in Junk");
        Assert.Equal($"MessageNew Junk uidset=1 flags= totals={T(1, 1, 2, e[0].Totals!.Value.UidValidity)} spam", RecordingSink.Describe(e[0]));
        await Dovecot.DeliverAsync(user.User, "ham");
        e = await h.Sink.WaitCountAsync(1, 1, "MessageNew in INBOX");
        Assert.False(e[0].Spam);
    }

    private async Task RunScenarioAsync(WatcherHarness h, ImapClient other, string user)
    {
        var sink = h.Sink;
        var inboxState = await other.StatusAsync("INBOX");
        var uv = inboxState.UidValidity!.Value;
        var n0 = inboxState.UidNext!.Value;
        var m0 = inboxState.Messages!.Value;
        var u0 = inboxState.Unseen!.Value;
        Assert.Empty(sink.Events);

        // New mail in INBOX: MessageNew with the UID and totals.
        await Dovecot.DeliverAsync(user, "hello");
        var e = await sink.WaitCountAsync(0, 1, "MessageNew");
        Assert.Equal($"MessageNew INBOX uidset={n0} flags= totals={T(m0 + 1, u0 + 1, n0 + 1, uv)}", RecordingSink.Describe(e[0]));
        Assert.StartsWith("ib1-", e[0].Id, StringComparison.Ordinal);

        // \Seen set from another connection: MessageRead only.
        await other.SelectAsync("INBOX");
        await other.UidStoreAsync(ImapSequenceSet.Single(n0), "+FLAGS", ["\\Seen"]);
        e = await sink.WaitCountAsync(1, 1, "MessageRead");
        Assert.Equal($"MessageRead INBOX uidset={n0} flags= totals={T(m0 + 1, u0, n0 + 1, uv)}", RecordingSink.Describe(e[0]));

        await other.UidStoreAsync(ImapSequenceSet.Single(n0), "-FLAGS", ["\\Seen"]);
        e = await sink.WaitCountAsync(2, 1, "FlagsClear");
        Assert.Equal($"FlagsClear INBOX uidset={n0} flags=\\Seen totals={T(m0 + 1, u0 + 1, n0 + 1, uv)}", RecordingSink.Describe(e[0]));

        await other.UidStoreAsync(ImapSequenceSet.Single(n0), "+FLAGS", ["\\Flagged"]);
        e = await sink.WaitCountAsync(3, 1, "FlagsSet");
        Assert.Equal($"FlagsSet INBOX uidset={n0} flags=\\Flagged totals={T(m0 + 1, u0 + 1, n0 + 1, uv)}", RecordingSink.Describe(e[0]));

        // \Deleted then expunge: MessageTrash, MessageExpunge.
        await other.UidStoreAsync(ImapSequenceSet.Single(n0), "+FLAGS", ["\\Deleted"]);
        e = await sink.WaitCountAsync(4, 1, "MessageTrash");
        Assert.Equal($"MessageTrash INBOX uidset={n0} flags= totals={T(m0 + 1, u0 + 1, n0 + 1, uv)}", RecordingSink.Describe(e[0]));
        await Dovecot.DoveadmAsync("expunge", "-u", user, "mailbox", "INBOX", "uid", n0.ToString(System.Globalization.CultureInfo.InvariantCulture));
        e = await sink.WaitCountAsync(5, 1, "MessageExpunge");
        Assert.Equal($"MessageExpunge INBOX uidset={n0} flags= totals={T(m0, u0, n0 + 1, uv)}", RecordingSink.Describe(e[0]));

        // Another mailbox: create, new mail there, rename, delete.
        var box = "Work" + Guid.NewGuid().ToString("N")[..6];
        await other.CreateAsync(box);
        e = await sink.WaitCountAsync(6, 1, "MailboxCreate");
        Assert.Equal(MailEventType.MailboxCreate, e[0].Type);
        Assert.Equal(box, e[0].Mailbox.Value);
        var boxUv = e[0].Totals!.Value.UidValidity;
        Assert.Equal(T(0, 0, 1, boxUv), e[0].Totals!.Value.ToString());

        await Dovecot.DeliverAsync(user, "work", box);
        e = await sink.WaitCountAsync(7, 1, "MessageNew in " + box);
        Assert.Equal($"MessageNew {box} uidset=1 flags= totals={T(1, 1, 2, boxUv)}", RecordingSink.Describe(e[0]));

        await other.RenameAsync(box, box + "Done");
        e = await sink.WaitCountAsync(8, 1, "MailboxRename");
        Assert.Equal($"MailboxRename {box}Done from {box} uidset= flags= totals=", RecordingSink.Describe(e[0]));

        await other.SubscribeAsync(box + "Done");
        e = await sink.WaitCountAsync(9, 1, "MailboxSubscribe");
        Assert.Equal($"MailboxSubscribe {box}Done uidset= flags= totals=", RecordingSink.Describe(e[0]));
        await other.SubscribeAsync(box + "Done", subscribe: false);
        e = await sink.WaitCountAsync(10, 1, "MailboxUnSubscribe");
        Assert.Equal($"MailboxUnSubscribe {box}Done uidset= flags= totals=", RecordingSink.Describe(e[0]));

        await other.DeleteAsync(box + "Done");
        e = await sink.WaitCountAsync(11, 1, "MailboxDelete");
        Assert.Equal($"MailboxDelete {box}Done uidset= flags= totals=", RecordingSink.Describe(e[0]));

        // Spam (piece 8): a message carrying $Junk.
        await Dovecot.DeliverAsync(user, "cheap pills");
        e = await sink.WaitCountAsync(12, 1, "MessageNew (spam later)");
        var junkUid = uint.Parse(e[0].Uidset!, System.Globalization.CultureInfo.InvariantCulture);
        await other.NoopAsync(); // the other connection's view learns the new UID (Dovecot syncs views between commands)
        await other.UidStoreAsync(ImapSequenceSet.Single(junkUid), "+FLAGS", ["$Junk"]);
        e = await sink.WaitCountAsync(13, 1, "FlagsSet $Junk");
        Assert.Equal($"FlagsSet INBOX uidset={junkUid} flags=$Junk totals={T(m0 + 1, u0 + 1, junkUid + 1, uv)} spam", RecordingSink.Describe(e[0]));

        // Nothing else arrived (no duplicates, no stray events).
        await other.NoopAsync();
        Assert.Equal(14, sink.Events.Count);
        Assert.Equal(14, sink.Events.Select(x => x.Id).Distinct().Count());
    }
}
