using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Matching;

/// <summary>A transport that drops everything: the registry never calls it.</summary>
internal sealed class NullTransport : INotificationTransport
{
    public static readonly NullTransport Instance = new();
    public string Name => "test";
    public void Deliver(in Notification notification) { }
}

public class SubscriptionRegistryTests
{
    // A small alphabet so generated subscriptions and events collide often.
    private static readonly string[] Accounts = ["a@x.org", "b@x.org", "c@y.org"];
    private static readonly string[] Segments = ["INBOX", "Work", "Reports", "a"];

    private static readonly MailEventType[] Types =
    [
        MailEventType.MessageNew, MailEventType.MessageExpunge, MailEventType.MailboxRename,
        MailEventType.Login, MailEventType.QuotaExceed,
    ];

    private static long _nextId;

    internal static Subscription Sub(string account, string mailbox, SubscriptionDepth depth, EventTypeSet events) =>
        new(Interlocked.Increment(ref _nextId), "sip:someone@example.net",
            new SubscriptionFilter
            {
                Account = AccountId.Parse(account),
                Mailbox = MailboxPath.Parse(mailbox),
                Depth = depth,
                Events = events,
            },
            NullTransport.Instance);

    internal static MailEvent Event(string account, string mailbox, MailEventType type, string? oldMailbox = null) =>
        new()
        {
            Type = type,
            Account = AccountId.Parse(account),
            Mailbox = MailboxPath.Parse(mailbox),
            OldMailbox = oldMailbox is null ? null : MailboxPath.Parse(oldMailbox),
        };

    private static readonly Gen<string> PathGen =
        from depth in Gen.Choose(0, 3)
        from segs in Gen.ArrayOf(Gen.Elements(Segments), depth)
        select string.Join('/', segs);

    private static readonly Gen<EventTypeSet> EventsGen = Gen.OneOf(
        Gen.Constant(EventTypeSet.All),
        Gen.Constant(EventTypeSet.None),
        from picks in Gen.ArrayOf(Gen.Elements(Types), 2)
        select EventTypeSet.Of(picks));

    private static readonly Gen<Subscription> SubGen =
        from account in Gen.Elements(Accounts)
        from path in PathGen
        from depth in Gen.Elements(SubscriptionDepth.One, SubscriptionDepth.Subtree)
        from events in EventsGen
        select Sub(account, path, depth, events);

    private static readonly Gen<MailEvent> EventGen =
        from account in Gen.Elements(Accounts)
        from path in PathGen
        from type in Gen.Elements(Types)
        from hasOld in Gen.Elements(false, false, true)
        from old in PathGen
        select Event(account, path, type, hasOld ? old : null);

    /// <summary>One step of a random history: add a new subscription, remove one, or match an event.</summary>
    private sealed record Op(int Kind, Subscription Sub, MailEvent Event, int Pick)
    {
        public override string ToString() => Kind switch
        {
            0 => $"Add({Sub.Filter})",
            1 => $"Remove(#{Pick})",
            _ => $"Match({Event.Type} {Event.Account}/{Event.Mailbox} old={Event.OldMailbox})",
        };
    }

    private static readonly Gen<Op> OpGen =
        from kind in Gen.Frequency((4, Gen.Constant(0)), (2, Gen.Constant(1)), (4, Gen.Constant(2)))
        from sub in SubGen
        from ev in EventGen
        from pick in Gen.Choose(0, 1000)
        select new Op(kind, sub, ev, pick);

    private static void AssertSameAsOracle(SubscriptionRegistry registry, List<Subscription> live, MailEvent ev)
    {
        var results = new List<Subscription>();
        registry.Match(ev, results);
        var expected = live.Where(s => s.Filter.Matches(ev)).Select(s => s.Id).Order().ToList();
        var actual = results.Select(s => s.Id).Order().ToList();
        Assert.Equal(expected, actual);
    }

    /// <summary>Distinct (account, path prefix) pairs the live subscriptions need: the trie must hold exactly these nodes.</summary>
    private static int ExpectedNodeCount(IEnumerable<Subscription> live) =>
        live.SelectMany(s => Enumerable.Range(0, s.Filter.Mailbox.Depth + 1)
                .Select(d => s.Filter.Account.Value + "|" + string.Join('/', s.Filter.Mailbox.Segments.Take(d)) + "|" + d))
            .Distinct().Count();

    [Fact]
    public void Random_histories_match_exactly_what_the_filters_match()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(OpGen)), ops =>
        {
            var registry = new SubscriptionRegistry();
            var live = new List<Subscription>();
            foreach (var op in ops)
            {
                switch (op.Kind)
                {
                    case 0:
                        registry.Add(op.Sub);
                        live.Add(op.Sub);
                        break;
                    case 1 when live.Count > 0:
                        var victim = live[op.Pick % live.Count];
                        live.Remove(victim);
                        Assert.True(registry.Remove(victim));
                        Assert.False(registry.Remove(victim));
                        break;
                    default:
                        AssertSameAsOracle(registry, live, op.Event);
                        break;
                }
                Assert.Equal(live.Count, registry.Count);
            }
            Assert.Equal(live.Select(s => s.Id).Order(), registry.Snapshot().Select(s => s.Id).Order());
            Assert.Equal(ExpectedNodeCount(live), registry.NodeCount());
            foreach (var s in live)
            {
                Assert.True(registry.Remove(s));
            }
            Assert.Equal(0, registry.Count);
            Assert.Equal(0, registry.NodeCount());
            Assert.Equal(0, registry.AccountCount);
            Assert.Equal(0, registry.SegmentNameCount());
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Every_event_against_a_fixed_population_agrees_with_the_oracle()
    {
        var gen = from subs in Gen.ListOf(SubGen) from events in Gen.ListOf(EventGen) select (subs, events);
        Prop.ForAll(Arb.From(gen), t =>
        {
            var registry = new SubscriptionRegistry();
            foreach (var s in t.subs)
            {
                registry.Add(s);
            }
            foreach (var e in t.events)
            {
                AssertSameAsOracle(registry, [.. t.subs], e);
                // The triple overload agrees with the reference triple semantics.
                var results = new List<Subscription>();
                registry.Match(e.Account, e.Mailbox, e.Type, results);
                Assert.Equal(
                    t.subs.Where(s => s.Filter.Account == e.Account && s.Filter.Matches(e.Type, e.Mailbox)).Select(s => s.Id).Order(),
                    results.Select(s => s.Id).Order());
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void Wide_nodes_with_many_children_agree_with_the_oracle_under_churn()
    {
        // 40 sibling names: nodes far wider than the linear-search limit.
        var wideSegment = Gen.Choose(0, 39).Select(i => $"f{i}");
        var widePath = from depth in Gen.Choose(0, 2)
                       from segs in Gen.ArrayOf(wideSegment, depth)
                       select string.Join('/', segs);
        var gen = from subs in Gen.ArrayOf(
                      from path in widePath
                      from depth in Gen.Elements(SubscriptionDepth.One, SubscriptionDepth.Subtree)
                      select Sub("a@x.org", path, depth, EventTypeSet.All), 300)
                  from removals in Gen.ArrayOf(Gen.Elements(true, false), 300)
                  from events in Gen.ArrayOf(widePath, 50)
                  select (subs, removals, events);
        Prop.ForAll(Arb.From(gen), t =>
        {
            var registry = new SubscriptionRegistry();
            foreach (var s in t.subs)
            {
                registry.Add(s);
            }
            var live = t.subs.ToList();
            for (var i = 0; i < t.subs.Length; i++)
            {
                if (t.removals[i])
                {
                    Assert.True(registry.Remove(t.subs[i]));
                    live.Remove(t.subs[i]);
                }
            }
            foreach (var path in t.events)
            {
                AssertSameAsOracle(registry, live, Event("a@x.org", path, MailEventType.MessageNew));
            }
            Assert.Equal(ExpectedNodeCount(live), registry.NodeCount());
            Assert.Equal(live.SelectMany(s => s.Filter.Mailbox.Segments).Distinct().Count(), registry.SegmentNameCount());
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }

    [Fact]
    public void Rename_reports_a_subscription_on_a_common_ancestor_once()
    {
        var registry = new SubscriptionRegistry();
        var work = Sub("a@x.org", "Work", SubscriptionDepth.Subtree, EventTypeSet.All);
        var root = Sub("a@x.org", "", SubscriptionDepth.Subtree, EventTypeSet.All);
        var oldExact = Sub("a@x.org", "Work/Old", SubscriptionDepth.One, EventTypeSet.All);
        var newExact = Sub("a@x.org", "Work/New", SubscriptionDepth.One, EventTypeSet.All);
        var oldTree = Sub("a@x.org", "Work/Old", SubscriptionDepth.Subtree, EventTypeSet.All);
        var other = Sub("a@x.org", "Other", SubscriptionDepth.Subtree, EventTypeSet.All);
        foreach (var s in new[] { work, root, oldExact, newExact, oldTree, other })
        {
            registry.Add(s);
        }
        var results = new List<Subscription>();
        registry.Match(Event("a@x.org", "Work/New", MailEventType.MailboxRename, "Work/Old"), results);
        Assert.Equal(new[] { root.Id, work.Id, oldExact.Id, newExact.Id, oldTree.Id }.Order(), results.Select(s => s.Id).Order());
    }

    [Fact]
    public void Rename_to_the_same_name_reports_each_subscription_once()
    {
        var registry = new SubscriptionRegistry();
        var exact = Sub("a@x.org", "Work", SubscriptionDepth.One, EventTypeSet.All);
        var tree = Sub("a@x.org", "", SubscriptionDepth.Subtree, EventTypeSet.All);
        registry.Add(exact);
        registry.Add(tree);
        var results = new List<Subscription>();
        registry.Match(Event("a@x.org", "Work", MailEventType.MailboxRename, "Work"), results);
        Assert.Equal(2, results.Count);
    }

    [Fact]
    public void Account_level_events_match_only_root_subscriptions()
    {
        var registry = new SubscriptionRegistry();
        var rootOne = Sub("a@x.org", "", SubscriptionDepth.One, EventTypeSet.All);
        var inbox = Sub("a@x.org", "INBOX", SubscriptionDepth.Subtree, EventTypeSet.All);
        registry.Add(rootOne);
        registry.Add(inbox);
        var results = new List<Subscription>();
        registry.Match(Event("a@x.org", "", MailEventType.QuotaExceed), results);
        Assert.Equal([rootOne], results);
    }

    [Fact]
    public void Account_domain_is_compared_after_normalisation_and_local_part_exactly()
    {
        var registry = new SubscriptionRegistry();
        var s = Sub("Juliet@Example.COM", "INBOX", SubscriptionDepth.One, EventTypeSet.All);
        registry.Add(s);
        var results = new List<Subscription>();
        registry.Match(Event("Juliet@example.com", "inbox", MailEventType.MessageNew), results);
        Assert.Equal([s], results);
        results.Clear();
        registry.Match(Event("juliet@example.com", "INBOX", MailEventType.MessageNew), results);
        Assert.Empty(results);
    }

    [Fact]
    public void Adding_the_same_subscription_twice_is_refused()
    {
        var registry = new SubscriptionRegistry();
        var s = Sub("a@x.org", "Work/Reports", SubscriptionDepth.One, EventTypeSet.All);
        registry.Add(s);
        var ex = Assert.Throws<InvalidOperationException>(() => registry.Add(s));
        Assert.Contains("already registered", ex.Message, StringComparison.Ordinal);
        Assert.Equal(1, registry.Count);
    }

    [Fact]
    public void Removing_an_unknown_subscription_returns_false_and_changes_nothing()
    {
        var registry = new SubscriptionRegistry();
        var s = Sub("a@x.org", "Work/Reports", SubscriptionDepth.One, EventTypeSet.All);
        registry.Add(s);
        Assert.False(registry.Remove(Sub("a@x.org", "Work/Reports", SubscriptionDepth.One, EventTypeSet.All)));
        Assert.False(registry.Remove(Sub("a@x.org", "Work/Reports", SubscriptionDepth.Subtree, EventTypeSet.All)));
        Assert.False(registry.Remove(Sub("a@x.org", "Work/Other", SubscriptionDepth.One, EventTypeSet.All)));
        Assert.False(registry.Remove(Sub("z@x.org", "Work/Reports", SubscriptionDepth.One, EventTypeSet.All)));
        Assert.Equal(1, registry.Count);
        Assert.Equal(3, registry.NodeCount());
    }

    [Fact]
    public void Churn_does_not_leak_nodes()
    {
        var registry = new SubscriptionRegistry();
        var keep = Sub("a@x.org", "INBOX", SubscriptionDepth.One, EventTypeSet.All);
        registry.Add(keep);
        for (var i = 0; i < 2000; i++)
        {
            var s = Sub($"u{i % 50}@x.org", $"Work/Project{i}/Notes", SubscriptionDepth.Subtree, EventTypeSet.All);
            registry.Add(s);
            Assert.True(registry.Remove(s));
        }
        Assert.Equal(1, registry.Count);
        Assert.Equal(2, registry.NodeCount());
        Assert.Equal(1, registry.AccountCount);
        Assert.Equal(1, registry.SegmentNameCount());
    }

    [Fact]
    public void Match_does_not_allocate_once_the_result_list_has_grown()
    {
        var registry = new SubscriptionRegistry();
        for (var i = 0; i < 100; i++)
        {
            registry.Add(Sub($"u{i % 10}@x.org", i % 3 == 0 ? "" : "Work/Reports", (SubscriptionDepth)(i % 2), EventTypeSet.All));
        }
        var ev = Event("u1@x.org", "Work/Reports/2026", MailEventType.MailboxRename, "Work/Reports");
        var results = new List<Subscription>(64);
        registry.Match(ev, results);
        Assert.NotEmpty(results);
        results.Clear();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 100; i++)
        {
            results.Clear();
            registry.Match(ev, results);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public async Task Matching_while_other_threads_add_and_remove_stays_correct()
    {
        var registry = new SubscriptionRegistry();
        var stable = new List<Subscription>();
        var random = new Random(42);
        string RandomPath(Random r) => string.Join('/', Enumerable.Range(0, r.Next(0, 4)).Select(_ => Segments[r.Next(Segments.Length)]));
        for (var i = 0; i < 300; i++)
        {
            var s = Sub(Accounts[random.Next(Accounts.Length)], RandomPath(random), (SubscriptionDepth)random.Next(2), EventTypeSet.All);
            registry.Add(s);
            stable.Add(s);
        }
        var finalChurn = new List<Subscription>[4];
        using var stop = new CancellationTokenSource();
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var r = new Random(w);
            var mine = new List<Subscription>();
            for (var i = 0; i < 5000; i++)
            {
                if (mine.Count > 20 || (mine.Count > 0 && r.Next(2) == 0))
                {
                    var victim = mine[r.Next(mine.Count)];
                    mine.Remove(victim);
                    Assert.True(registry.Remove(victim));
                }
                else
                {
                    var s = Sub(Accounts[r.Next(Accounts.Length)], RandomPath(r), (SubscriptionDepth)r.Next(2), EventTypeSet.All);
                    registry.Add(s);
                    mine.Add(s);
                }
            }
            finalChurn[w] = mine;
        })).ToArray();

        var matcher = Task.Run(() =>
        {
            var r = new Random(7);
            var results = new List<Subscription>();
            var matches = 0;
            while (!writers.All(t => t.IsCompleted) || matches < 1000)
            {
                var ev = Event(Accounts[r.Next(Accounts.Length)], RandomPath(r), MailEventType.MailboxRename, RandomPath(r));
                results.Clear();
                registry.Match(ev, results);
                // Never a wrong match, never a duplicate, and every stable subscription that matches is there.
                Assert.All(results, s => Assert.True(s.Filter.Matches(ev)));
                Assert.Equal(results.Count, results.Distinct().Count());
                var found = results.ToHashSet();
                Assert.All(stable.Where(s => s.Filter.Matches(ev)), s => Assert.Contains(s, found));
                matches++;
            }
        });
        await Task.WhenAll([.. writers, matcher]);

        var live = stable.Concat(finalChurn.SelectMany(l => l)).ToList();
        Assert.Equal(live.Count, registry.Count);
        Assert.Equal(ExpectedNodeCount(live), registry.NodeCount());
        var check = new Random(99);
        for (var i = 0; i < 200; i++)
        {
            AssertSameAsOracle(registry, live,
                Event(Accounts[check.Next(Accounts.Length)], RandomPath(check), Types[check.Next(Types.Length)], check.Next(3) == 0 ? RandomPath(check) : null));
        }
    }
}
