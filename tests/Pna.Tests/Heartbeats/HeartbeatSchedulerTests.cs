using Aggregators.EventModel;
using Aggregators.Pna.Heartbeats;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Matching;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Tests.Heartbeats;

public class HeartbeatSchedulerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly List<(Subscription Subscription, long At)> _fired = [];

    private HeartbeatScheduler NewScheduler(HeartbeatOptions? options = null) =>
        new(_time, options ?? new HeartbeatOptions(), s =>
        {
            var now = _time.GetTimestamp();
            _fired.Add((s, now));
            // What the dispatcher does on every notification, heartbeats included.
            Volatile.Write(ref s.LastNotifiedTicks, now);
        });

    private static Subscription NewSubscription(int id = 1) =>
        new(id, "sip:romeo@example.net",
            new SubscriptionFilter { Account = AccountId.Parse("juliet@example.com"), Mailbox = MailboxPath.Inbox },
            NullTransport.Instance);

    /// <summary>Advances one second at a time, ticking after each step.</summary>
    private void Run(HeartbeatScheduler scheduler, int seconds, Action<int>? eachSecond = null)
    {
        for (var i = 1; i <= seconds; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            eachSecond?.Invoke(i);
            scheduler.Tick();
        }
    }

    private void Notified(Subscription s) => Volatile.Write(ref s.LastNotifiedTicks, _time.GetTimestamp());

    [Fact]
    public void A_heartbeat_is_due_after_an_interval_of_silence_and_again_after_each_interval()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        Notified(sub); // the initial NOTIFY
        var start = _time.GetTimestamp();
        scheduler.Add(sub, TimeSpan.FromSeconds(30));
        Run(scheduler, 29);
        Assert.Empty(_fired);
        Run(scheduler, 1);
        Assert.Equal([(sub, start + _time.ToUnits(TimeSpan.FromSeconds(30)))], _fired);
        Run(scheduler, 60);
        Assert.Equal(3, _fired.Count);
        Assert.Equal(start + _time.ToUnits(TimeSpan.FromSeconds(90)), _fired[^1].At);
    }

    [Fact]
    public void A_subscription_never_notified_gets_its_first_heartbeat_one_interval_after_it_was_added()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        Run(scheduler, 9);
        Assert.Empty(_fired);
        Run(scheduler, 1);
        Assert.Single(_fired);
    }

    [Fact]
    public void A_busy_subscription_gets_no_heartbeat_and_the_first_one_comes_an_interval_after_the_last_notification()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        Notified(sub);
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        // Notified every 7 s for two minutes.
        Run(scheduler, 120, i =>
        {
            if (i % 7 == 0)
            {
                Notified(sub);
            }
        });
        Assert.Empty(_fired);
        var last = sub.LastNotifiedTicks; // at 119 s
        Run(scheduler, 15);
        Assert.Equal([(sub, last + _time.ToUnits(TimeSpan.FromSeconds(10)))], _fired);
    }

    [Fact]
    public void Removal_cancels_heartbeats()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        Run(scheduler, 5);
        Assert.True(scheduler.Remove(sub));
        Assert.False(scheduler.Remove(sub));
        Assert.Equal(0, scheduler.Count);
        Run(scheduler, 60);
        Assert.Empty(_fired);
    }

    [Fact]
    public void Adding_again_changes_the_interval_and_restarts_it()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        Run(scheduler, 5);
        scheduler.Add(sub, TimeSpan.FromSeconds(20));
        Assert.Equal(1, scheduler.Count);
        Run(scheduler, 19);
        Assert.Empty(_fired);
        Run(scheduler, 1);
        Assert.Single(_fired);
    }

    [Fact]
    public void Intervals_are_clamped_to_the_configured_limits()
    {
        var scheduler = NewScheduler(new HeartbeatOptions { Min = TimeSpan.FromSeconds(15), Max = TimeSpan.FromSeconds(60) });
        var fast = NewSubscription(1);
        var slow = NewSubscription(2);
        Assert.Equal(TimeSpan.FromSeconds(15), scheduler.Add(fast, TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(60), scheduler.Add(slow, TimeSpan.FromHours(5)));
        Assert.Equal(TimeSpan.FromSeconds(15), scheduler.Clamp(TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(15), scheduler.Clamp(TimeSpan.FromSeconds(-3)));
        Assert.Equal(TimeSpan.FromSeconds(42), scheduler.Clamp(TimeSpan.FromSeconds(42)));
        Run(scheduler, 60);
        Assert.Equal(4, _fired.Count(f => f.Subscription == fast));
        Assert.Equal(1, _fired.Count(f => f.Subscription == slow));
    }

    [Fact]
    public void Many_subscriptions_each_get_heartbeats_at_their_own_interval()
    {
        var scheduler = NewScheduler();
        var random = new Random(3);
        var intervals = new Dictionary<Subscription, int>();
        for (var i = 0; i < 5000; i++)
        {
            var sub = NewSubscription(i);
            var seconds = random.Next(10, 120);
            intervals[sub] = seconds;
            Notified(sub);
            scheduler.Add(sub, TimeSpan.FromSeconds(seconds));
        }
        var start = _time.GetTimestamp();
        Run(scheduler, 600);
        var bySubscription = _fired.ToLookup(f => f.Subscription, f => f.At);
        foreach (var (sub, seconds) in intervals)
        {
            var times = bySubscription[sub].ToList();
            Assert.Equal(600 / seconds, times.Count);
            for (var k = 0; k < times.Count; k++)
            {
                Assert.Equal(start + _time.ToUnits(TimeSpan.FromSeconds(seconds * (k + 1))), times[k]);
            }
        }
    }

    [Fact]
    public void A_long_pause_of_the_loop_yields_one_heartbeat_per_subscription_not_a_burst()
    {
        var scheduler = NewScheduler();
        var sub = NewSubscription();
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        _time.Advance(TimeSpan.FromHours(3)); // longer than a wheel revolution
        Assert.Equal(1, scheduler.Tick());
        Assert.Equal(0, scheduler.Tick());
        Run(scheduler, 10);
        Assert.Equal(2, _fired.Count);
    }

    [Fact]
    public void A_throwing_callback_does_not_stop_the_other_heartbeats()
    {
        var calls = new List<long>();
        var scheduler = new HeartbeatScheduler(_time, new HeartbeatOptions(), s =>
        {
            calls.Add(s.Id);
            if (s.Id == 1)
            {
                throw new InvalidOperationException("transport gone");
            }
        });
        scheduler.Add(NewSubscription(1), TimeSpan.FromSeconds(10));
        scheduler.Add(NewSubscription(2), TimeSpan.FromSeconds(10));
        Run(scheduler, 10);
        Assert.Equal([1L, 2L], calls.Order());
    }

    [Fact]
    public async Task RunAsync_ticks_on_the_time_provider()
    {
        var fired = new TaskCompletionSource<Subscription>(TaskCreationOptions.RunContinuationsAsynchronously);
        var scheduler = new HeartbeatScheduler(_time, new HeartbeatOptions(), s => fired.TrySetResult(s));
        var sub = NewSubscription();
        scheduler.Add(sub, TimeSpan.FromSeconds(10));
        using var cts = new CancellationTokenSource();
        var loop = scheduler.RunAsync(cts.Token);
        for (var i = 0; i < 10; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
        }
        // Not a timing assertion: the wait only bounds a hang if the loop never ticks.
        Assert.Same(sub, await fired.Task.WaitAsync(TimeSpan.FromSeconds(30)));
        await cts.CancelAsync();
        await loop.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task Adds_and_removes_from_many_threads_while_ticking_leave_a_consistent_schedule()
    {
        var fired = 0;
        var scheduler = new HeartbeatScheduler(_time, new HeartbeatOptions(), _ => Interlocked.Increment(ref fired));
        var kept = new List<Subscription>[4];
        var writers = Enumerable.Range(0, 4).Select(w => Task.Run(() =>
        {
            var r = new Random(w);
            var mine = new List<Subscription>();
            for (var i = 0; i < 3000; i++)
            {
                if (mine.Count > 0 && r.Next(3) == 0)
                {
                    var victim = mine[r.Next(mine.Count)];
                    mine.Remove(victim);
                    Assert.True(scheduler.Remove(victim));
                }
                else
                {
                    var s = NewSubscription(w * 100_000 + i);
                    scheduler.Add(s, TimeSpan.FromSeconds(r.Next(10, 30)));
                    mine.Add(s);
                }
            }
            kept[w] = mine;
        })).ToArray();
        var ticker = Task.Run(() =>
        {
            while (!writers.All(t => t.IsCompleted))
            {
                _time.Advance(TimeSpan.FromSeconds(1));
                scheduler.Tick();
            }
        });
        await Task.WhenAll([.. writers, ticker]);
        var live = kept.SelectMany(k => k).ToList();
        Assert.Equal(live.Count, scheduler.Count);
        // Every live subscription is still scheduled: each gets a heartbeat within the maximum interval.
        fired = 0;
        for (var i = 0; i < 30; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(1));
            scheduler.Tick();
        }
        Assert.True(fired >= live.Count, $"{fired} heartbeats for {live.Count} subscriptions");
    }

    [Fact]
    public void Invalid_options_are_refused_with_a_clear_message()
    {
        var bad = new HeartbeatOptions { Min = TimeSpan.FromSeconds(30), Max = TimeSpan.FromSeconds(10), Tick = TimeSpan.Zero };
        var errors = bad.Validate();
        Assert.Contains(errors, e => e.Contains("Pna:Heartbeats:Tick must be positive", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Pna:Heartbeats:Max", StringComparison.Ordinal));
        var ex = Assert.Throws<ArgumentException>(() => new HeartbeatScheduler(_time, bad, _ => { }));
        Assert.Contains("invalid heartbeat options", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Options_bind_from_the_Pna_Heartbeats_section_and_are_validated()
    {
        static IServiceProvider Build(Dictionary<string, string?> settings)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(config);
            services.AddHeartbeatOptions();
            return services.BuildServiceProvider();
        }
        var ok = Build(new() { ["Pna:Heartbeats:Min"] = "00:00:20", ["Pna:Heartbeats:Max"] = "00:30:00" })
            .GetRequiredService<IOptions<HeartbeatOptions>>().Value;
        Assert.Equal(TimeSpan.FromSeconds(20), ok.Min);
        Assert.Equal(TimeSpan.FromMinutes(30), ok.Max);
        Assert.Equal(TimeSpan.FromSeconds(1), ok.Tick);
        var ex = Assert.Throws<OptionsValidationException>(() =>
            Build(new() { ["Pna:Heartbeats:Min"] = "01:00:00", ["Pna:Heartbeats:Max"] = "00:30:00" })
                .GetRequiredService<IOptions<HeartbeatOptions>>().Value);
        Assert.Contains("must not be shorter than Min", ex.Message, StringComparison.Ordinal);
    }
}
