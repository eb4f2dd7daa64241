using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.Translation;

namespace Aggregators.ImapBridge.Tests.Translation;

/// <summary>The selected-mailbox state machine fed with scripted server responses.</summary>
public sealed class SelectedMailboxTests
{
    private static readonly EventFactory Factory = new(AccountId.Parse("juliet@example.com"));

    private static SelectedMailbox Loaded(bool junk = false, params (uint Uid, string Flags)[] messages)
    {
        var s = new SelectedMailbox(Factory, "INBOX", '/', 7, messages.Length == 0 ? 1 : messages[^1].Uid + 1, junk);
        s.Load(messages.Select((m, i) => Fetch($"* {i + 1} FETCH (UID {m.Uid} FLAGS ({m.Flags}))")), (uint)messages.Length);
        return s;
    }

    private static ImapFetchResponse Fetch(string line) => ParseHelper.Parse<ImapFetchResponse>(line + "\r\n");

    private static void Feed(SelectedMailbox s, params string[] lines)
    {
        foreach (var l in lines)
        {
            s.Feed((ImapUntaggedResponse)ParseHelper.Parse(l + "\r\n"));
        }
    }

    private static string[] Describe(IEnumerable<MailEvent> events) =>
        events.Select(e => $"{e.Type.ToRfcName()} {e.Mailbox} {e.Uidset} [{string.Join(' ', e.FlagNames ?? [])}] {e.Totals}{(e.Spam ? " spam" : "")}").ToArray();

    [Fact]
    public void Load_produces_no_events_and_counts_unseen()
    {
        var s = Loaded(false, (3, "\\Seen"), (5, ""), (9, "\\Flagged"));
        Assert.Empty(s.Flush());
        Assert.Equal(new MailboxTotals(3, 2, 10, 7), s.Totals);
    }

    [Fact]
    public void Exists_with_pushed_uid_gives_one_MessageNew_per_uid()
    {
        var s = Loaded(false, (3, "\\Seen"));
        Feed(s, "* 3 EXISTS", "* 2 FETCH (UID 4 FLAGS () RFC822.SIZE 120)", "* 3 FETCH (UID 5 FLAGS (\\Seen))");
        Assert.False(s.NeedsFetch);
        var events = s.Flush();
        Assert.Equal(
            ["MessageNew INBOX 4 [] messages=3 unseen=1 uidnext=6 uidvalidity=7", "MessageNew INBOX 5 [] messages=3 unseen=1 uidnext=6 uidvalidity=7"],
            Describe(events));
        Assert.Equal(120UL, events[0].MessageSize);
        Assert.NotEqual(events[0].Id, events[1].Id);
    }

    [Fact]
    public void Exists_without_uid_asks_for_a_fetch_and_reports_after_it()
    {
        var s = Loaded(false, (3, ""));
        Feed(s, "* 2 EXISTS", "* 1 RECENT");
        Assert.Empty(s.Flush());
        Assert.True(s.NeedsFetch);
        Assert.Equal("4:*", s.FetchRange.ToString());
        // "4:*" also returns the highest message when nothing is above (RFC 3501 §6.4.8): ignored.
        s.ApplyFetched([Fetch("* 1 FETCH (UID 3 FLAGS ())"), Fetch("* 2 FETCH (UID 8 FLAGS () ENVELOPE (\"d\" \"Dinner?\" ((\"Romeo\" NIL \"romeo\" \"example.net\")) NIL NIL NIL NIL NIL NIL NIL))")]);
        Assert.False(s.NeedsFetch);
        var e = Assert.Single(s.Flush());
        Assert.Equal("MessageNew INBOX 8 [] messages=2 unseen=2 uidnext=9 uidvalidity=7", Describe([e])[0]);
        Assert.Equal("Romeo <romeo@example.net>", e.From);
        Assert.Equal("Dinner?", e.Subject);
    }

    [Fact]
    public void Seen_set_is_MessageRead_only_and_other_flags_are_FlagsSet()
    {
        var s = Loaded(false, (3, ""), (4, ""));
        Feed(s, "* 1 FETCH (FLAGS (\\Seen \\Recent))");
        Assert.Equal(["MessageRead INBOX 3 [] messages=2 unseen=1 uidnext=5 uidvalidity=7"], Describe(s.Flush()));
        Feed(s, "* 2 FETCH (FLAGS (\\Seen $Label1 \\Flagged))");
        Assert.Equal(
            ["MessageRead INBOX 4 [] messages=2 unseen=0 uidnext=5 uidvalidity=7", "FlagsSet INBOX 4 [$Label1 \\Flagged] messages=2 unseen=0 uidnext=5 uidvalidity=7"],
            Describe(s.Flush()));
        Feed(s, "* 2 FETCH (FLAGS ($Label1))");
        Assert.Equal(["FlagsClear INBOX 4 [\\Flagged \\Seen] messages=2 unseen=1 uidnext=5 uidvalidity=7"], Describe(s.Flush()));
    }

    [Fact]
    public void Changes_of_one_burst_are_merged_with_a_uidset()
    {
        var s = Loaded(false, (3, ""), (4, ""), (5, ""), (9, ""));
        Feed(s, "* 1 FETCH (FLAGS (\\Seen))", "* 2 FETCH (FLAGS (\\Seen))", "* 4 FETCH (FLAGS (\\Seen))");
        Assert.Equal(["MessageRead INBOX 3:4,9 [] messages=4 unseen=1 uidnext=10 uidvalidity=7"], Describe(s.Flush()));
    }

    [Fact]
    public void Deleted_is_MessageTrash_and_expunges_are_merged()
    {
        var s = Loaded(false, (3, "\\Seen"), (4, ""), (5, ""));
        Feed(s, "* 1 FETCH (FLAGS (\\Seen \\Deleted))");
        Assert.Equal(["MessageTrash INBOX 3 [] messages=3 unseen=2 uidnext=6 uidvalidity=7"], Describe(s.Flush()));
        Feed(s, "* 1 EXPUNGE", "* 2 EXPUNGE");
        Assert.Equal(["MessageExpunge INBOX 3,5 [] messages=1 unseen=1 uidnext=6 uidvalidity=7"], Describe(s.Flush()));
        Assert.Equal(4u, Assert.Single(s.Uids));
    }

    [Fact]
    public void Vanished_removes_by_uid()
    {
        var s = Loaded(false, (3, ""), (4, ""), (5, ""));
        Feed(s, "* VANISHED 3:4");
        Assert.Equal(["MessageExpunge INBOX 3:4 [] messages=1 unseen=1 uidnext=6 uidvalidity=7"], Describe(s.Flush()));
    }

    [Fact]
    public void Junk_keyword_and_junk_mailbox_mark_spam()
    {
        var s = Loaded(false, (3, ""));
        Feed(s, "* 1 FETCH (FLAGS ($Junk))");
        Assert.Equal(["FlagsSet INBOX 3 [$Junk] messages=1 unseen=1 uidnext=4 uidvalidity=7 spam"], Describe(s.Flush()));
        var junk = Loaded(true, (3, ""));
        Feed(junk, "* 2 EXISTS", "* 2 FETCH (UID 4 FLAGS ())");
        Assert.True(Assert.Single(junk.Flush()).Spam);
    }

    [Fact]
    public void Contradictions_ask_for_a_resync()
    {
        var s = Loaded(false, (3, ""), (4, ""));
        Assert.Throws<ResyncRequiredException>(() => Feed(s, "* 1 EXISTS"));
        Assert.Throws<ResyncRequiredException>(() => Feed(Loaded(false, (3, "")), "* 5 EXPUNGE"));
        Assert.Throws<ResyncRequiredException>(() => Feed(Loaded(false, (3, "")), "* 2 FETCH (FLAGS ())"));
    }

    [Fact]
    public void Flag_events_with_modseq_have_ids_from_it_and_without_are_never_equal()
    {
        var a = Loaded(false, (3, ""));
        Feed(a, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (12))");
        var b = Loaded(false, (3, ""));
        Feed(b, "* 1 FETCH (FLAGS (\\Seen) MODSEQ (12))");
        Assert.Equal(Assert.Single(a.Flush()).Id, Assert.Single(b.Flush()).Id);
        Feed(a, "* 1 FETCH (FLAGS ())");
        var clear1 = Assert.Single(a.Flush());
        Feed(a, "* 1 FETCH (FLAGS (\\Seen))");
        Feed(a, "* 1 FETCH (FLAGS ())");
        var clear2 = Assert.Single(a.Flush(), e => e.Type == MailEventType.FlagsClear);
        Assert.NotEqual(clear1.Id, clear2.Id);
    }
}
