using Aggregators.Sip.Subscriptions;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>The notifier's per-dialog NOTIFY queue (RFC 6665 §4.2.2, RFC 3842 §5).</summary>
public class NotifyQueueTests
{
    [Fact]
    public void A_state_goes_at_once_when_idle_and_later_ones_collapse_into_the_newest()
    {
        var q = new NotifyQueue<string?>(held: false);
        var first = q.Offer("1");
        Assert.True(first.Send);
        Assert.Equal("1", first.State);
        Assert.False(first.IsFinal);
        Assert.True(q.InFlight);

        Assert.False(q.Offer("2").Send);
        Assert.False(q.Offer("3").Send);
        Assert.True(q.HasPending);
        Assert.Equal("3", q.Latest);

        var next = q.Completed();
        Assert.True(next.Send);
        Assert.Equal("3", next.State);
        Assert.False(q.HasPending);

        Assert.False(q.Completed().Send);
        Assert.False(q.InFlight);
    }

    [Fact]
    public void Held_until_released_then_the_newest_state_goes()
    {
        var q = new NotifyQueue<string?>(held: true);
        Assert.False(q.Offer("1").Send);
        Assert.False(q.Offer("2").Send);
        var step = q.Release();
        Assert.True(step.Send);
        Assert.Equal("2", step.State);
        Assert.False(q.Held);
    }

    [Fact]
    public void Release_sends_nothing_when_nothing_is_pending()
    {
        var q = new NotifyQueue<string?>(held: true);
        Assert.False(q.Release().Send);
        Assert.False(q.InFlight);
    }

    [Fact]
    public void ReleaseWith_always_sends_the_first_notify_even_without_state()
    {
        var empty = new NotifyQueue<string?>(held: true);
        var step = empty.ReleaseWith(null);
        Assert.True(step.Send);
        Assert.Null(step.State);

        var known = new NotifyQueue<string?>(held: true);
        step = known.ReleaseWith("cached");
        Assert.Equal("cached", step.State);
        Assert.Equal("cached", known.Latest);

        var offered = new NotifyQueue<string?>(held: true);
        offered.Offer("newer");
        Assert.Equal("newer", offered.ReleaseWith("cached").State);
    }

    [Fact]
    public void Terminate_while_in_flight_makes_the_next_notify_the_final_one_with_the_latest_state()
    {
        var q = new NotifyQueue<string?>(held: false);
        q.Offer("1");
        q.Offer("2");
        Assert.False(q.Terminate("timeout").Send);
        Assert.False(q.Offer("3").Send); // not sent, but the final NOTIFY carries it
        Assert.True(q.Closing);

        var final = q.Completed();
        Assert.True(final.Send);
        Assert.True(final.IsFinal);
        Assert.Equal("timeout", final.TerminateReason);
        Assert.Equal("3", final.State);
        Assert.True(q.End());
        Assert.False(q.End());
        Assert.False(q.Completed().Send);
    }

    [Fact]
    public void Terminate_when_idle_sends_the_final_notify_at_once_and_only_the_first_reason_counts()
    {
        var q = new NotifyQueue<string?>(held: false);
        q.Offer("1");
        q.Completed();
        var final = q.Terminate("timeout");
        Assert.True(final.Send);
        Assert.Equal("1", final.State);
        Assert.Equal("timeout", final.TerminateReason);
        Assert.False(q.Terminate("deactivated").Send);
        Assert.Equal("timeout", q.TerminateReason);
    }

    [Fact]
    public void Terminate_while_held_waits_for_the_release()
    {
        var q = new NotifyQueue<string?>(held: true);
        q.Offer("1");
        Assert.False(q.Terminate("timeout").Send); // a fetch (RFC 6665 §4.4.3): the 200 first
        var final = q.Release();
        Assert.True(final.IsFinal);
        Assert.Equal("1", final.State);
    }

    [Fact]
    public void Revoke_sends_a_final_notify_without_state_even_when_one_was_queued()
    {
        var q = new NotifyQueue<string?>(held: false);
        q.Offer("1");
        q.Terminate("timeout"); // final queued behind the NOTIFY in flight, with state
        q.Revoke("rejected"); // the first reason stays, but the state goes
        q.Offer("2");
        var final = q.Completed();
        Assert.True(final.IsFinal);
        Assert.Null(final.State);

        var idle = new NotifyQueue<string?>(held: false);
        idle.Offer("1");
        idle.Completed();
        var revoked = idle.Revoke("rejected");
        Assert.True(revoked.Send);
        Assert.Equal("rejected", revoked.TerminateReason);
        Assert.Null(revoked.State);
    }

    [Fact]
    public void Repeat_keeps_a_newer_pending_state_and_does_not_change_the_latest()
    {
        var q = new NotifyQueue<string?>(held: false);
        q.Offer("1");
        q.Offer("2");
        q.Repeat("current");
        Assert.Equal("2", q.Completed().State);

        Assert.False(q.Repeat("current").Send); // in flight: pending
        Assert.Equal("current", q.Completed().State);
        Assert.Equal("2", q.Latest);
        Assert.False(q.Completed().Send); // idle

        var step = q.Repeat("again");
        Assert.True(step.Send);
        q.Terminate("timeout");
        Assert.False(q.Repeat("late").Send);
    }

    [Fact]
    public void End_stops_everything()
    {
        var q = new NotifyQueue<string?>(held: false);
        q.Offer("1");
        q.Offer("2");
        Assert.True(q.End()); // e.g. the NOTIFY failed (RFC 6665 §4.2.2)
        Assert.False(q.InFlight);
        Assert.False(q.HasPending);
        Assert.False(q.Offer("3").Send);
        Assert.False(q.Completed().Send);
        Assert.False(q.Release().Send);
        Assert.False(q.Terminate("timeout").Send);
    }

    [Fact]
    public void Queueing_allocates_nothing()
    {
        var states = new object[] { new(), new(), new() };
        var q = new NotifyQueue<object?>(held: false);
        RunOnce(ref q, states); // JIT first
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 1000; i++)
        {
            RunOnce(ref q, states);
        }
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);

        static void RunOnce(ref NotifyQueue<object?> q, object[] states)
        {
            q.Offer(states[0]);
            q.Offer(states[1]);
            q.Offer(states[2]);
            q.Completed();
            q.Repeat(states[0]);
            q.Completed();
            q.Completed();
        }
    }

    private enum Op { Offer, Complete, Terminate, Release, Repeat }

    /// <summary>
    /// For any interleaving of offers, completions, repeats, the release and one terminate: at most
    /// one NOTIFY in flight; sent states never go back; once drained the last state offered is the
    /// last one sent, and when terminated exactly one final NOTIFY goes, last, with the latest state.
    /// </summary>
    [Fact]
    public void Any_interleaving_keeps_one_in_flight_and_sends_the_last_state_last()
    {
        var gen =
            from held in Gen.Elements(true, false)
            from ops in Gen.ListOf(Gen.Elements(Op.Offer, Op.Offer, Op.Complete, Op.Complete, Op.Terminate, Op.Release, Op.Repeat))
            select (held, ops: ops.ToArray());
        Prop.ForAll(Arb.From(gen), t =>
        {
            var q = new NotifyQueue<int?>(t.held);
            var sent = new List<NotifyStep<int?>>();
            var inFlight = false;
            var offered = 0;
            int? expectedLast = null; // the last state offered before the final NOTIFY went
            var terminated = false;

            void Apply(NotifyStep<int?> step)
            {
                if (!step.Send)
                {
                    return;
                }
                Assert.False(inFlight, "a second NOTIFY while one is in flight");
                Assert.False(sent.Count > 0 && sent[^1].IsFinal, "a NOTIFY after the final one");
                inFlight = true;
                sent.Add(step);
            }

            void Complete()
            {
                if (!inFlight)
                {
                    return;
                }
                inFlight = false;
                if (sent[^1].IsFinal)
                {
                    Assert.True(q.End());
                }
                else
                {
                    Apply(q.Completed());
                }
            }

            foreach (var op in t.ops)
            {
                switch (op)
                {
                    case Op.Offer:
                        if (!sent.Any(s => s.IsFinal))
                        {
                            expectedLast = offered + 1;
                        }
                        Apply(q.Offer(++offered));
                        break;
                    case Op.Complete:
                        Complete();
                        break;
                    case Op.Terminate:
                        terminated |= !q.Closing;
                        Apply(q.Terminate("timeout"));
                        break;
                    case Op.Release:
                        Apply(q.Release());
                        break;
                    case Op.Repeat when q.Latest is { } latest:
                        Apply(q.Repeat(latest));
                        break;
                }
                Assert.Equal(inFlight, q.InFlight && !q.Ended);
            }
            Apply(q.Release());
            while (inFlight)
            {
                Complete();
            }

            var states = sent.Where(s => s.State is not null).Select(s => s.State!.Value).ToList();
            Assert.Equal(states.Order(), states); // never an older state after a newer one
            if (expectedLast is not null)
            {
                Assert.Equal(expectedLast, sent[^1].State);
            }
            Assert.Equal(terminated ? 1 : 0, sent.Count(s => s.IsFinal));
            if (terminated)
            {
                Assert.True(sent[^1].IsFinal);
                Assert.True(q.Ended);
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
