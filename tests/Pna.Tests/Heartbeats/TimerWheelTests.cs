using Aggregators.Pna.Heartbeats;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Heartbeats;

public class TimerWheelTests
{
    [Fact]
    public void Timers_expire_at_their_tick_and_not_before()
    {
        var wheel = new TimerWheel<string>(8, startTick: 100);
        var a = new TimerWheel<string>.Entry("a");
        var b = new TimerWheel<string>.Entry("b");
        wheel.Schedule(a, 103);
        wheel.Schedule(b, 120); // beyond one revolution of 8 slots
        var expired = new List<TimerWheel<string>.Entry>();
        wheel.Advance(102, expired);
        Assert.Empty(expired);
        wheel.Advance(103, expired);
        Assert.Equal([a], expired);
        Assert.False(a.IsScheduled);
        expired.Clear();
        wheel.Advance(119, expired);
        Assert.Empty(expired);
        wheel.Advance(120, expired);
        Assert.Equal([b], expired);
        Assert.Equal(0, wheel.Count);
    }

    [Fact]
    public void A_timer_due_in_the_past_expires_on_the_next_advance()
    {
        var wheel = new TimerWheel<int>(4, startTick: 10);
        var e = new TimerWheel<int>.Entry(1);
        wheel.Schedule(e, 3);
        Assert.Equal(11, e.DueTick);
        var expired = new List<TimerWheel<int>.Entry>();
        wheel.Advance(11, expired);
        Assert.Equal([e], expired);
    }

    [Fact]
    public void Cancel_and_reschedule_are_exact()
    {
        var wheel = new TimerWheel<int>(4, startTick: 0);
        var e = new TimerWheel<int>.Entry(1);
        wheel.Schedule(e, 2);
        Assert.True(wheel.Cancel(e));
        Assert.False(wheel.Cancel(e));
        wheel.Schedule(e, 2);
        wheel.Schedule(e, 5); // moves it
        Assert.Equal(1, wheel.Count);
        var expired = new List<TimerWheel<int>.Entry>();
        wheel.Advance(4, expired);
        Assert.Empty(expired);
        wheel.Advance(5, expired);
        Assert.Equal([e], expired);
    }

    [Fact]
    public void A_timer_of_another_wheel_is_refused()
    {
        var w1 = new TimerWheel<int>(4, 0);
        var w2 = new TimerWheel<int>(4, 0);
        var e = new TimerWheel<int>.Entry(1);
        w1.Schedule(e, 3);
        Assert.Throws<InvalidOperationException>(() => w2.Schedule(e, 3));
        Assert.False(w2.Cancel(e));
    }

    [Fact]
    public void Random_schedules_cancels_and_advances_agree_with_a_model()
    {
        // op: kind 0 schedule timer i at now+delta, 1 cancel timer i, 2 advance by delta.
        var opGen = from kind in Gen.Choose(0, 2)
                    from i in Gen.Choose(0, 9)
                    from delta in Gen.Choose(0, 40)
                    select (kind, i, delta);
        Prop.ForAll(Arb.From(Gen.ListOf(opGen)), ops =>
        {
            var wheel = new TimerWheel<int>(8, startTick: 1000);
            var entries = Enumerable.Range(0, 10).Select(i => new TimerWheel<int>.Entry(i)).ToArray();
            var model = new Dictionary<int, long>();
            long now = 1000;
            var expired = new List<TimerWheel<int>.Entry>();
            foreach (var (kind, i, delta) in ops)
            {
                switch (kind)
                {
                    case 0:
                        wheel.Schedule(entries[i], now + delta);
                        model[i] = Math.Max(now + delta, now + 1);
                        break;
                    case 1:
                        Assert.Equal(model.Remove(i), wheel.Cancel(entries[i]));
                        break;
                    default:
                        now += delta;
                        expired.Clear();
                        wheel.Advance(now, expired);
                        var expected = model.Where(kv => kv.Value <= now).Select(kv => kv.Key).Order().ToList();
                        foreach (var k in expected)
                        {
                            model.Remove(k);
                        }
                        Assert.Equal(expected, expired.Select(e => e.Item).Order().ToList());
                        break;
                }
                Assert.Equal(model.Count, wheel.Count);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
