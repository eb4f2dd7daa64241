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
