using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Translation;

namespace Aggregators.ImapBridge.Tests.Translation;

/// <summary>
/// Events without an identity of their own (flag changes without CONDSTORE, SUBSCRIBE/UNSUBSCRIBE)
/// get ids from the delivery generation: the same computation in the same generation (again after a
/// crash) gives the same ids; a later, equal-looking change gives new ones.
/// </summary>
public sealed class StableIdTests
{
    private static EventFactory InGeneration(ulong generation)
    {
        var f = new EventFactory(AccountId.Parse("juliet@example.com"));
        f.StartGeneration(generation);
        return f;
    }

    private static IReadOnlyList<MailEvent> SeenThenFlagged(EventFactory factory)
    {
        var s = new SelectedMailbox(factory, "INBOX", '/', 7, 5, spamMailbox: false);
        s.Load([ParseHelper.Parse<ImapFetchResponse>("* 1 FETCH (UID 3 FLAGS ())\r\n"), ParseHelper.Parse<ImapFetchResponse>("* 2 FETCH (UID 4 FLAGS ())\r\n")], 2);
        s.Feed(ParseHelper.Parse<ImapFetchResponse>("* 1 FETCH (FLAGS (\\Seen))\r\n")); // no MODSEQ: no CONDSTORE
        s.Feed(ParseHelper.Parse<ImapFetchResponse>("* 2 FETCH (FLAGS (\\Flagged))\r\n"));
        return s.Flush();
    }

    [Fact]
    public void Flag_changes_without_condstore_repeat_with_the_same_ids_in_the_same_generation()
    {
        var first = SeenThenFlagged(InGeneration(41)).Select(e => e.Id).ToArray();
        var again = SeenThenFlagged(InGeneration(41)).Select(e => e.Id).ToArray();
        Assert.Equal(2, first.Length);
        Assert.Equal(first, again);
        Assert.Equal(2, first.Distinct().Count());
        Assert.All(first, id => Assert.StartsWith(EventIds.Prefix, id, StringComparison.Ordinal));
        var later = SeenThenFlagged(InGeneration(42)).Select(e => e.Id).ToArray();
        Assert.Empty(first.Intersect(later));
    }

    [Fact]
    public void Flag_changes_with_a_modseq_keep_the_modseq_id_whatever_the_generation()
    {
        IReadOnlyList<MailEvent> Run(ulong generation)
        {
            var s = new SelectedMailbox(InGeneration(generation), "INBOX", '/', 7, 5, spamMailbox: false);
            s.Load([ParseHelper.Parse<ImapFetchResponse>("* 1 FETCH (UID 3 FLAGS ())\r\n")], 1);
            s.Feed(ParseHelper.Parse<ImapFetchResponse>("* 1 FETCH (FLAGS (\\Seen) MODSEQ (12))\r\n"));
            return s.Flush();
        }
        Assert.Equal(Assert.Single(Run(1)).Id, Assert.Single(Run(2)).Id);
    }

    [Fact]
    public void Subscribe_unsubscribe_subscribe_get_distinct_ids_and_repeat_alike()
    {
        string[] Run(EventFactory factory)
        {
            var a = new AccountMailboxes(factory, MailboxFilter.All);
            a.SetSnapshot(new MailboxSnapshot("Work", 9, 1, 0, 0));
            var ids = new List<string>();
            foreach (var line in new[] { "* LIST (\\Subscribed) \"/\" Work", "* LIST () \"/\" Work", "* LIST (\\Subscribed) \"/\" Work" })
            {
                ids.AddRange(a.OnList(ParseHelper.Parse<ImapListResponse>(line + "\r\n")).Select(e => e.Id!));
            }
            return [.. ids];
        }
        var first = Run(InGeneration(3));
        Assert.Equal(3, first.Length);
        Assert.Equal(3, first.Distinct().Count()); // the second SUBSCRIBE is not a duplicate of the first
        Assert.Equal(first, Run(InGeneration(3)));
    }
}
