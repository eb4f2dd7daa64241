using Aggregators.EventModel;
using Aggregators.Pna.State;

namespace Aggregators.Pna.Tests.State;

public sealed class MailboxStateStoreTests
{
    private static readonly AccountId Alice = AccountId.Parse("alice@example.org");
    private static readonly DateTimeOffset Now = new(2026, 11, 21, 12, 0, 0, TimeSpan.Zero);

    private static MailEvent E(MailEventType type, string mailbox, MailboxTotals? totals = null, string? old = null, uint? messages = null, uint? uidnext = null) => new()
    {
        Type = type,
        Account = Alice,
        Mailbox = MailboxPath.Parse(mailbox),
        OldMailbox = old is null ? null : MailboxPath.Parse(old),
        Totals = totals,
        Messages = messages,
        Uidnext = uidnext,
    };

    private static string[] Names(MailboxStateStore s) => [.. s.GetAccount(Alice).Select(m => m.Mailbox.Value)];

    [Fact]
    public void Totals_come_from_the_event_and_are_returned()
    {
        var s = new MailboxStateStore();
        var t = s.Apply(E(MailEventType.MessageNew, "INBOX", new MailboxTotals(3, 1, 9, 5)), Now);
        Assert.Equal(new MailboxTotals(3, 1, 9, 5), t);
        var state = s.Get(Alice, MailboxPath.Inbox)!;
        Assert.Equal(MailEventType.MessageNew, state.LastEventType);
        Assert.Equal(Now, state.LastEventTime);
    }

    [Fact]
    public void Rfc5423_messages_and_uidnext_update_known_totals_only()
    {
        var s = new MailboxStateStore();
        Assert.Null(s.Apply(E(MailEventType.MessageNew, "INBOX", messages: 4, uidnext: 10), Now));
        s.Apply(E(MailEventType.MessageNew, "INBOX", new MailboxTotals(4, 2, 10, 5)), Now);
        Assert.Equal(new MailboxTotals(5, 2, 11, 5), s.Apply(E(MailEventType.MessageAppend, "INBOX", messages: 5, uidnext: 11), Now));
        // Fewer messages than unseen cannot be: unseen is capped.
        Assert.Equal(new MailboxTotals(1, 1, 11, 5), s.Apply(E(MailEventType.MessageExpunge, "INBOX", messages: 1), Now));
    }

    [Fact]
    public void Create_adds_and_delete_removes_only_the_mailbox()
    {
        var s = new MailboxStateStore();
        s.Apply(E(MailEventType.MailboxCreate, "Work"), Now);
        s.Apply(E(MailEventType.MailboxCreate, "Work/Reports"), Now);
        Assert.Equal(["Work", "Work/Reports"], Names(s));
        s.Apply(E(MailEventType.MailboxDelete, "Work"), Now);
        // RFC 3501 §6.3.4: inferiors survive their parent's deletion.
        Assert.Equal(["Work/Reports"], Names(s));
    }

    [Fact]
    public void Rename_moves_the_mailbox_and_everything_below_it()
    {
        var s = new MailboxStateStore();
        s.Apply(E(MailEventType.MessageNew, "Work", new MailboxTotals(1, 1, 2, 1)), Now);
        s.Apply(E(MailEventType.MessageNew, "Work/Reports", new MailboxTotals(2, 0, 3, 1)), Now);
        s.Apply(E(MailEventType.MessageNew, "Work/Reports/2026", new MailboxTotals(3, 3, 4, 1)), Now);
        s.Apply(E(MailEventType.MessageNew, "Workshop", new MailboxTotals(4, 0, 5, 1)), Now);
        s.TakeDirty();

        s.Apply(E(MailEventType.MailboxRename, "Archive/Work", old: "Work"), Now);

        Assert.Equal(["Archive/Work", "Archive/Work/Reports", "Archive/Work/Reports/2026", "Workshop"], Names(s));
        Assert.Equal(new MailboxTotals(3, 3, 4, 1), s.Get(Alice, MailboxPath.Parse("Archive/Work/Reports/2026"))!.Totals);
        Assert.Equal(MailEventType.MailboxRename, s.Get(Alice, MailboxPath.Parse("Archive/Work"))!.LastEventType);
        var (upserts, deletes) = s.TakeDirty();
        Assert.Equal(3, upserts.Count);
        Assert.Equal(["Work", "Work/Reports", "Work/Reports/2026"], deletes.Select(d => d.Item2.Value).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void Renaming_inbox_moves_its_messages_and_leaves_it_empty()
    {
        var s = new MailboxStateStore();
        s.Apply(E(MailEventType.MessageNew, "INBOX", new MailboxTotals(5, 2, 9, 3)), Now);
        s.Apply(E(MailEventType.MailboxCreate, "INBOX/Sub"), Now);
        s.Apply(E(MailEventType.MailboxRename, "Old-Inbox", old: "INBOX"), Now);
        Assert.Equal(new MailboxTotals(5, 2, 9, 3), s.Get(Alice, MailboxPath.Parse("Old-Inbox"))!.Totals);
        Assert.Equal(new MailboxTotals(0, 0, 9, 3), s.Get(Alice, MailboxPath.Inbox)!.Totals);
        // RFC 3501 §6.3.5: INBOX's inferiors are not renamed.
        Assert.NotNull(s.Get(Alice, MailboxPath.Parse("INBOX/Sub")));
    }

    [Fact]
    public void Account_level_events_change_no_mailbox()
    {
        var s = new MailboxStateStore();
        Assert.Null(s.Apply(new MailEvent { Type = MailEventType.Login, Account = Alice }, Now));
        Assert.Empty(s.GetAccount(Alice));
    }
}
