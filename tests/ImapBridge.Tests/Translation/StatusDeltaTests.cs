using Aggregators.EventModel;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Translation;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.ImapBridge.Tests.Translation;

/// <summary>What is emitted for a mailbox seen only through STATUS counts (resync, polling, NOTIFY STATUS).</summary>
public sealed class StatusDeltaTests
{
    private static readonly EventFactory Factory = new(AccountId.Parse("juliet"));

    private static MailboxSnapshot S(uint messages, uint unseen, uint uidnext, uint uv = 7) => new("Other", uv, uidnext, messages, unseen);

    private static string[] Run(MailboxSnapshot old, MailboxSnapshot now, IReadOnlyList<NewUid>? uids = null) =>
        StatusDelta.Compute(Factory, old, now, '/', false, uids)
            .Select(e => $"{e.Type.ToRfcName()} {e.Uidset} [{string.Join(' ', e.FlagNames ?? [])}] {e.Totals}").ToArray();

    [Fact]
    public void Nothing_changed_nothing_emitted() => Assert.Empty(Run(S(3, 1, 10), S(3, 1, 10)));

    [Fact]
    public void New_mail_is_one_MessageNew_for_the_new_uid_range()
    {
        Assert.Equal(["MessageNew 10:11 [] messages=5 unseen=3 uidnext=12 uidvalidity=7"], Run(S(3, 1, 10), S(5, 3, 12)));
        Assert.Equal(["MessageNew 10 [] messages=4 unseen=2 uidnext=11 uidvalidity=7"], Run(S(3, 1, 10), S(4, 2, 11)));
    }

    [Fact]
    public void Fewer_messages_than_explained_by_arrivals_is_an_expunge_without_uidset()
    {
        Assert.Equal(["MessageExpunge  [] messages=2 unseen=1 uidnext=10 uidvalidity=7"], Run(S(3, 1, 10), S(2, 1, 10)));
        Assert.Equal(
            ["MessageExpunge  [] messages=3 unseen=2 uidnext=11 uidvalidity=7", "MessageNew 10 [] messages=3 unseen=2 uidnext=11 uidvalidity=7"],
            Run(S(3, 1, 10), S(3, 2, 11)));
    }

    [Fact]
    public void Unseen_only_changes_are_MessageRead_or_FlagsClear_seen()
    {
        Assert.Equal(["MessageRead  [] messages=3 unseen=0 uidnext=10 uidvalidity=7"], Run(S(3, 2, 10), S(3, 0, 10)));
        Assert.Equal(["FlagsClear  [\\Seen] messages=3 unseen=3 uidnext=10 uidvalidity=7"], Run(S(3, 2, 10), S(3, 3, 10)));
        // One expunged unseen message explains one fewer unseen: no read event.
        Assert.Equal(["MessageExpunge  [] messages=2 unseen=1 uidnext=10 uidvalidity=7"], Run(S(3, 2, 10), S(2, 1, 10)));
    }

    [Fact]
    public void Known_new_uids_give_one_event_each_and_never_repeat_below_the_old_uidnext()
    {
        var got = Run(S(3, 1, 10), S(5, 1, 12), [new NewUid(9), new NewUid(10, Seen: true), new NewUid(11)]);
        // 2 arrivals, both known: one seen, one unseen -> 2 unseen expected, 1 seen: a read happened.
        Assert.Equal(
        [
            "MessageNew 10 [] messages=5 unseen=1 uidnext=12 uidvalidity=7",
            "MessageNew 11 [] messages=5 unseen=1 uidnext=12 uidvalidity=7",
            "MessageRead  [] messages=5 unseen=1 uidnext=12 uidvalidity=7",
        ], got);
    }

    [Fact]
    public void Uidvalidity_change_is_one_clean_reset_event()
    {
        var e = Assert.Single(StatusDelta.Compute(Factory, S(3, 1, 10, uv: 7), S(1, 1, 2, uv: 8), '/', false));
        Assert.Equal(MailEventType.MailboxCreate, e.Type);
        Assert.Equal(new MailboxTotals(1, 1, 2, 8), e.Totals);
        var vendor = Assert.Single(e.Vendor!);
        Assert.Equal((StatusDelta.UidValidityResetParameter, "7"), (vendor.Name, vendor.RawJson));
    }

    [Fact]
    public void Same_transition_gives_the_same_ids_so_a_repeat_after_a_crash_is_a_duplicate()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, 20).Three().SelectMany(a => Gen.Choose(0, 20).Three(), (a, b) => (a, b))), t =>
        {
            var ((m1, u1, n1), (m2, u2, n2)) = t;
            var old = S((uint)m1, (uint)Math.Min(u1, m1), (uint)n1 + 1);
            var now = S((uint)m2, (uint)Math.Min(u2, m2), (uint)(n1 + 1 + n2));
            // The same saved state (generation 5) read again after a crash: a fresh factory in that generation.
            var first = StatusDelta.Compute(InGeneration(5), old, now, '/', false).Select(e => e.Id).ToArray();
            var again = StatusDelta.Compute(InGeneration(5), old, now, '/', false).Select(e => e.Id).ToArray();
            return first.SequenceEqual(again) && first.Distinct().Count() == first.Length
                && StatusDelta.Compute(Factory, old, now, '/', false).All(e => e.Totals == new MailboxTotals(now.Messages, now.Unseen, now.UidNext, 7));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    private static EventFactory InGeneration(ulong generation)
    {
        var f = new EventFactory(AccountId.Parse("juliet"));
        f.StartGeneration(generation);
        return f;
    }

    [Fact]
    public void The_same_counts_moving_the_same_way_again_in_a_later_generation_get_new_ids()
    {
        // Read, unread, read: the first and the third MessageRead look alike in counts.
        var factory = InGeneration(1);
        var read1 = Assert.Single(StatusDelta.Compute(factory, S(3, 1, 10), S(3, 0, 10), '/', false));
        factory.StartGeneration(2);
        var unread = Assert.Single(StatusDelta.Compute(factory, S(3, 0, 10), S(3, 1, 10), '/', false));
        factory.StartGeneration(3);
        var read2 = Assert.Single(StatusDelta.Compute(factory, S(3, 1, 10), S(3, 0, 10), '/', false));
        Assert.Equal(MailEventType.MessageRead, read2.Type);
        Assert.Equal(MailEventType.FlagsClear, unread.Type);
        Assert.NotEqual(read1.Id, read2.Id);
        // New messages keep ids by UID, whatever the generation.
        var new1 = Assert.Single(StatusDelta.Compute(InGeneration(1), S(3, 1, 10), S(4, 2, 11), '/', false));
        var new2 = Assert.Single(StatusDelta.Compute(InGeneration(9), S(3, 1, 10), S(4, 2, 11), '/', false));
        Assert.Equal(new1.Id, new2.Id);
    }
}
