using Aggregators.Pna.Subscriptions;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>
/// The XMPP sequence reservation (SequenceWindow): the next block is stored ahead, off the
/// caller's thread, and no number is ever handed out before a stored reservation covers it.
/// </summary>
public sealed class SequenceWindowTests
{
    /// <summary>A store whose writes block until released, recording what was stored.</summary>
    private sealed class GatedStore
    {
        private readonly Lock _gate = new();
        private readonly List<long> _stored = [];
        public ManualResetEventSlim Open { get; } = new(true);

        public bool Store(long reservation)
        {
            Open.Wait(TimeSpan.FromSeconds(30));
            lock (_gate)
            {
                _stored.Add(reservation);
            }
            return true;
        }

        public long Highest
        {
            get
            {
                lock (_gate)
                {
                    return _stored.Count == 0 ? 0 : _stored.Max();
                }
            }
        }

        public List<long> Stored
        {
            get
            {
                lock (_gate)
                {
                    return [.. _stored];
                }
            }
        }
    }

    [Fact]
    public async Task Half_way_through_a_block_the_next_is_stored_ahead_without_the_caller_waiting()
    {
        var store = new GatedStore();
        var window = SequenceWindow.Resume(0, store.Store);
        Assert.True(window.TryNext(1, out _)); // nothing covers 1 yet: stored here
        Assert.Equal([SequenceWindow.DefaultBlock], store.Stored);
        Assert.Equal(1, window.SyncStores);

        store.Open.Reset(); // the write ahead will hang
        for (var seq = 2L; seq <= SequenceWindow.DefaultBlock; seq++)
        {
            Assert.True(window.TryNext(seq, out var wire)); // never waits: the write ahead runs elsewhere
            Assert.Equal(seq, wire);
        }
        var ahead = window.Ahead;
        Assert.NotNull(ahead);
        Assert.False(ahead.IsCompleted);
        Assert.Equal(SequenceWindow.DefaultBlock, window.Reserved);

        store.Open.Set();
        Assert.True(await ahead.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2 * SequenceWindow.DefaultBlock, window.Reserved);
        Assert.Equal((1L, 1L, 0L), (window.SyncStores, window.AheadStores, window.Waits));
        Assert.True(window.TryNext(SequenceWindow.DefaultBlock + 1, out _));
    }

    [Fact]
    public async Task A_number_beyond_the_stored_block_waits_for_the_write_ahead()
    {
        var store = new GatedStore();
        var window = SequenceWindow.Resume(5000, store.Store);
        Assert.True(window.TryNext(1, out var first));
        Assert.Equal(5001, first);
        store.Open.Reset();
        for (var seq = 2L; seq <= SequenceWindow.DefaultBlock; seq++)
        {
            Assert.True(window.TryNext(seq, out _));
        }
        // The block is used up while its successor is still being written: the caller must wait.
        var beyond = Task.Run(() => window.TryNext(SequenceWindow.DefaultBlock + 1, out var wire) ? wire : -1);
        // Until the caller is waiting for the write ahead (on a loaded machine the task may start late).
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (window.Waits == 0 && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        await Task.Delay(50);
        Assert.False(beyond.IsCompleted, "a number beyond the stored reservation was handed out before it was stored");
        store.Open.Set();
        Assert.Equal(5000 + SequenceWindow.DefaultBlock + 1, await beyond.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.True(store.Highest >= 5000 + SequenceWindow.DefaultBlock + 1);
        Assert.Equal(1, window.Waits);
    }

    [Fact]
    public void A_subscription_gone_from_the_store_gets_no_number()
    {
        var window = SequenceWindow.Resume(0, _ => false);
        Assert.False(window.TryNext(1, out _));
    }

    [Fact]
    public void A_failed_write_ahead_is_retried_on_the_callers_thread_where_its_error_surfaces()
    {
        var calls = 0;
        var window = SequenceWindow.Resume(0, r =>
        {
            // The first store (on this thread) works; the write ahead fails; the next works again.
            var n = Interlocked.Increment(ref calls);
            return n == 2 ? throw new InvalidOperationException("disk full") : true;
        });
        for (var seq = 1L; seq <= SequenceWindow.DefaultBlock; seq++)
        {
            Assert.True(window.TryNext(seq, out _));
            window.Ahead?.Wait(TimeSpan.FromSeconds(30));
        }
        Assert.True(window.TryNext(SequenceWindow.DefaultBlock + 1, out var wire));
        Assert.Equal(SequenceWindow.DefaultBlock + 1, wire);
        Assert.True(window.Reserved >= wire);
    }

    [Fact]
    public void Whatever_the_timing_every_number_is_covered_by_a_stored_reservation_when_handed_out()
    {
        // Writes that take a random while; each number handed out must be at most the highest
        // reservation stored at that moment, and numbers run 1, 2, 3 … above the base.
        var gen = Gen.Choose(0, 3).ListOf().Where(l => l.Count is > 0 and < 40).Select(l => l.ToArray());
        Prop.ForAll(Arb.From(gen), (int[] delays) =>
        {
            var store = new GatedStore();
            var i = 0;
            var window = SequenceWindow.Resume(42, r =>
            {
                Thread.Sleep(delays[Interlocked.Increment(ref i) % delays.Length]);
                return store.Store(r);
            });
            for (var seq = 1L; seq <= 3 * SequenceWindow.DefaultBlock; seq++)
            {
                Assert.True(window.TryNext(seq, out var wire));
                Assert.Equal(42 + seq, wire);
                Assert.True(wire <= store.Highest, $"{wire} handed out, only {store.Highest} stored");
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(30));
    }
}
