using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Translation;

namespace Aggregators.ImapBridge.Tests.Translation;

/// <summary>LIST/STATUS pushes and resync decisions for the non-selected mailboxes.</summary>
public sealed class AccountMailboxesTests
{
    private static readonly EventFactory Factory = new(AccountId.Parse("juliet"));

    private static AccountMailboxes New(MailboxFilter? filter = null) => new(Factory, filter ?? MailboxFilter.All);

    private static ImapListResponse List(string line) => ParseHelper.Parse<ImapListResponse>(line + "\r\n");

    private static ImapStatusItems St(uint m, uint u, uint n, uint v) => new() { Messages = m, Unseen = u, UidNext = n, UidValidity = v };

    private static string[] D(IEnumerable<MailEvent> events) =>
        events.Select(e => $"{e.Type.ToRfcName()} {e.Mailbox}{(e.OldMailbox is null ? "" : " <- " + e.OldMailbox)} {e.Uidset} {e.Totals}{(e.Spam ? " spam" : "")}").ToArray();

    private static List<MailEvent> Reconcile(AccountMailboxes a, IReadOnlyDictionary<string, MailboxSnapshot> stored, params (string List, ImapStatusItems? Status)[] mailboxes)
    {
        var list = mailboxes.Select(m => List(m.List)).ToList();
        var status = mailboxes.Where(m => m.Status is not null).ToDictionary(m => List(m.List).Mailbox, m => m.Status!);
        return a.Reconcile(stored, list, status);
    }

    private static Dictionary<string, MailboxSnapshot> Stored(params MailboxSnapshot[] s) => s.ToDictionary(x => x.Mailbox);

    [Fact]
    public void First_start_is_a_baseline_without_events()
    {
        var a = New();
        Assert.Empty(Reconcile(a, Stored(), ("* LIST () \"/\" INBOX", St(1, 1, 2, 5)), ("* LIST () \"/\" Other", St(3, 0, 4, 6))));
        Assert.Equal(2, a.Known.Count);
    }

    [Fact]
    public void Resync_reports_created_deleted_renamed_changed_and_subscription()
    {
        var a = New();
        var stored = Stored(
            new MailboxSnapshot("INBOX", 5, 2, 1, 1),
            new MailboxSnapshot("Old", 6, 4, 3, 0),
            new MailboxSnapshot("Gone", 8, 1, 0, 0),
            new MailboxSnapshot("Lists", 9, 10, 9, 0, Subscribed: true));
        var events = Reconcile(a, stored,
            ("* LIST () \"/\" INBOX", St(1, 1, 2, 5)),
            ("* LIST () \"/\" Renamed", St(4, 1, 5, 6)),
            ("* LIST () \"/\" Lists", St(9, 0, 10, 9)),
            ("* LIST (\\Subscribed) \"/\" Fresh", St(0, 0, 1, 11)));
        Assert.Equal(
        [
            "MailboxUnSubscribe Lists  ",
            "MailboxRename Renamed <- Old  ",
            "MessageNew Renamed 4 messages=4 unseen=1 uidnext=5 uidvalidity=6",
            "MailboxCreate Fresh  messages=0 unseen=0 uidnext=1 uidvalidity=11",
            "MailboxSubscribe Fresh  ",
            "MailboxDelete Gone  ",
        ], D(events));
    }

    [Fact]
    public void Listed_without_status_keeps_the_stored_state_and_is_not_deleted()
    {
        var a = New();
        var events = Reconcile(a, Stored(new MailboxSnapshot("INBOX", 5, 2, 1, 1), new MailboxSnapshot("Other", 6, 4, 3, 0)),
            ("* LIST () \"/\" INBOX", St(1, 1, 2, 5)), ("* LIST () \"/\" Other", null));
        Assert.Empty(events);
        Assert.Equal(4u, a.Known["Other"].UidNext);
    }

    [Fact]
    public void Excluded_mailboxes_are_ignored_and_junk_is_spam()
    {
        var a = New(new MailboxFilter(["*"], ["Trash"]));
        Reconcile(a, Stored(new MailboxSnapshot("INBOX", 5, 2, 1, 1)),
            ("* LIST () \"/\" INBOX", St(1, 1, 2, 5)), ("* LIST (\\Junk) \"/\" Spam", St(0, 0, 1, 7)), ("* LIST () \"/\" Trash", St(0, 0, 1, 8)));
        Assert.False(a.Known.ContainsKey("Trash"));
        Assert.Empty(a.OnStatus("Trash", new ImapStatusItems { Messages = 1, UidNext = 2 }));
        Assert.Equal(["MessageNew Spam 1 messages=1 unseen=1 uidnext=2 uidvalidity=7 spam"], D(a.OnStatus("Spam", new ImapStatusItems { Messages = 1, UidNext = 2, Unseen = 1 })));
    }

    [Fact]
    public void Notify_pushes_merge_partial_status()
    {
        var a = New();
        Reconcile(a, Stored(), ("* LIST () \"/\" INBOX", St(0, 0, 1, 5)), ("* LIST () \"/\" Other", St(5, 5, 6, 6)));
        Assert.Equal(["MessageRead Other  messages=5 unseen=4 uidnext=6 uidvalidity=6"], D(a.OnStatus("Other", new ImapStatusItems { Unseen = 4, HighestModSeq = 7 })));
        Assert.Empty(a.OnStatus("INBOX", new ImapStatusItems { Messages = 9 })); // selected: handled by SelectedMailbox
    }

    [Fact]
    public void Notify_list_pushes_give_create_after_status_rename_delete_and_subscription()
    {
        var a = New();
        Reconcile(a, Stored(), ("* LIST () \"/\" INBOX", St(0, 0, 1, 5)));
        Assert.Empty(a.OnList(List("* LIST () \"/\" Work")));
        Assert.Equal(["Work"], a.PendingStatus);
        Assert.Equal(["MailboxCreate Work  messages=0 unseen=0 uidnext=1 uidvalidity=9"], D(a.OnStatus("Work", St(0, 0, 1, 9))));
        Assert.Empty(a.PendingStatus);
        Assert.Equal(["MailboxSubscribe Work  "], D(a.OnList(List("* LIST (\\Subscribed) \"/\" Work"))));
        Assert.Empty(a.OnList(List("* LIST (\\Subscribed) \"/\" Work")));
        Assert.Equal(["MailboxRename Done <- Work  "], D(a.OnList(List("* LIST () \"/\" Done (\"OLDNAME\" (\"Work\"))"))));
        Assert.True(a.Known.ContainsKey("Done"));
        Assert.Equal(["MailboxDelete Done  "], D(a.OnList(List("* LIST (\\NonExistent) \"/\" Done"))));
        Assert.False(a.Known.ContainsKey("Done"));
    }

    [Fact]
    public void Hierarchy_delimiter_maps_to_the_notification_path()
    {
        var a = New();
        Reconcile(a, Stored(new MailboxSnapshot("INBOX", 5, 1, 0, 0)), ("* LIST () \".\" INBOX", St(0, 0, 1, 5)), ("* LIST () \".\" INBOX.a/b", St(0, 0, 1, 6)));
        var e = a.OnStatus("INBOX.a/b", new ImapStatusItems { Messages = 1, UidNext = 2, Unseen = 1 });
        Assert.Equal("INBOX/a%2Fb", Assert.Single(e).Mailbox.Value);
    }
}
