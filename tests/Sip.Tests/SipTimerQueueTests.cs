using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;

namespace Aggregators.Sip.Tests;

public class SipTimerQueueTests
{
    private sealed class Recorder(List<string> log, string name) : ISipTimerTarget
    {
        public void OnTimer(SipTimerKind kind) => log.Add(name + kind);
    }

    [Fact]
    public void Entries_fire_in_due_order_ties_in_schedule_order_and_cancelled_ones_never()
    {
        var time = new ManualTimeProvider();
        var queue = new SipTimerQueue(time);
        var log = new List<string>();
        queue.Schedule(new Recorder(log, "a"), SipTimerKind.F, TimeSpan.FromSeconds(3));
        queue.Schedule(new Recorder(log, "b"), SipTimerKind.E, TimeSpan.FromSeconds(1));
        var cancelled = queue.Schedule(new Recorder(log, "c"), SipTimerKind.E, TimeSpan.FromSeconds(2));
        queue.Schedule(new Recorder(log, "d"), SipTimerKind.K, TimeSpan.FromSeconds(3));
        cancelled.Cancel();

        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(log);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["bE"], log);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.Equal(["bE", "aF", "dK"], log);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void An_entry_scheduled_earlier_than_the_armed_one_rearms_the_timer()
    {
        var time = new ManualTimeProvider();
        var queue = new SipTimerQueue(time);
        var log = new List<string>();
        queue.Schedule(new Recorder(log, "late"), SipTimerKind.F, TimeSpan.FromSeconds(32));
        queue.Schedule(new Recorder(log, "early"), SipTimerKind.E, TimeSpan.FromMilliseconds(500));
        time.Advance(TimeSpan.FromMilliseconds(500));
        Assert.Equal(["earlyE"], log);
        time.Advance(TimeSpan.FromSeconds(31.5));
        Assert.Equal(["earlyE", "lateF"], log);
    }

    [Fact]
    public void Cancelled_entries_are_unlinked_at_once_and_a_rescheduled_entry_fires_once_at_its_new_time()
    {
        var time = new ManualTimeProvider();
        var queue = new SipTimerQueue(time);
        var log = new List<string>();
        var entries = Enumerable.Range(0, 1000).Select(i => queue.Schedule(new Recorder(log, "f"), SipTimerKind.F, TimeSpan.FromSeconds(32))).ToList();
        var e = queue.Schedule(new Recorder(log, "e"), SipTimerKind.E, TimeSpan.FromMilliseconds(500));
        Assert.Equal(1001, queue.Count);
        foreach (var entry in entries)
        {
            entry.Cancel();
            entry.Cancel(); // twice is harmless
        }
        Assert.Equal(1, queue.Count); // no dead entries kept until they would have fallen due
        queue.Schedule(e, TimeSpan.FromSeconds(1)); // moved, not duplicated
        Assert.Equal(1, queue.Count);
        time.Advance(TimeSpan.FromMilliseconds(999));
        Assert.Empty(log);
        time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(["eE"], log);
        Assert.False(e.IsScheduled);
        queue.Schedule(e, TimeSpan.FromMilliseconds(500)); // reused after it fired
        time.Advance(TimeSpan.FromSeconds(40));
        Assert.Equal(["eE", "eE"], log);
        Assert.Equal(0, queue.Count);
    }

    [Fact]
    public void Entries_due_just_after_a_tick_wait_for_the_next_tick_one_resolution_later_never_fire_early()
    {
        var time = new ManualTimeProvider();
        var queue = new SipTimerQueue(time);
        var fired = new List<(string Name, long At)>();
        var start = time.GetTimestamp();
        queue.Schedule(new At(fired, "a", time), SipTimerKind.E, TimeSpan.FromMilliseconds(500));
        time.Advance(TimeSpan.FromMilliseconds(2));
        queue.Schedule(new At(fired, "b", time), SipTimerKind.E, TimeSpan.FromMilliseconds(500)); // due 2 ms after a
        queue.Schedule(new At(fired, "c", time), SipTimerKind.K, TimeSpan.FromMilliseconds(600)); // due 100 ms after b
        time.Advance(TimeSpan.FromSeconds(1));
        var ms = fired.Select(f => (f.Name, (f.At - start) / 1_000_000)).ToList();
        Assert.Equal([("a", 500L), ("b", 500L + (long)SipTimerQueue.Resolution.TotalMilliseconds), ("c", 602L)], ms);
    }

    private sealed class At(List<(string, long)> log, string name, TimeProvider time) : ISipTimerTarget
    {
        public void OnTimer(SipTimerKind kind) => log.Add((name, time.GetTimestamp()));
    }

    [Fact]
    public void Branches_are_distinct_and_carry_the_magic_cookie()
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 10_000; i++)
        {
            var b = SipTransactionKey.NewBranch();
            Assert.True(SipTransactionKey.IsRfc3261Branch(b));
            Assert.True(seen.Add(b), b);
        }
    }

    [Fact]
    public void Pooled_writer_grows_and_keeps_what_was_written()
    {
        using var w = new PooledBufferWriter(16);
        var expected = new List<byte>();
        for (var i = 0; i < 300; i++)
        {
            var span = w.GetSpan(7);
            for (var j = 0; j < 7; j++)
            {
                span[j] = (byte)(i + j);
                expected.Add((byte)(i + j));
            }
            w.Advance(7);
        }
        Assert.Equal(expected, w.WrittenMemory.ToArray());
    }
}
