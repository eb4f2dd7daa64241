using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Sources;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.MailWatch.Tests;

/// <summary>The watcher's loop against a scripted source on a manual clock: STALE, re-subscribe with backoff, reconnect.</summary>
public sealed class WatcherTests
{
    private sealed class FakeSession : IMailSession
    {
        public TaskCompletionSource Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public int Resubscribes;
        public bool Closed;
        public Func<Task>? OnResubscribe { get; set; }

        public Task Completion => Ended.Task;

        public Task ResubscribeAsync(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Resubscribes);
            return OnResubscribe?.Invoke() ?? Task.CompletedTask;
        }

        public Task CloseAsync()
        {
            Closed = true;
            return Task.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class FakeSource : IMailSource
    {
        public List<FakeSession> Sessions { get; } = [];
        public IUpdateSink? Sink { get; private set; }
        public int Opens;
        public bool FailNext { get; set; }

        public string Description => "fake";

        public Task<IMailSession> OpenAsync(IUpdateSink sink, bool subscribe, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Opens);
            Sink = sink;
            if (FailNext)
            {
                throw new SourceException("cannot connect");
            }
            var session = new FakeSession();
            lock (Sessions)
            {
                Sessions.Add(session);
            }
            sink.Update(new MailboxUpdate("INBOX", 1, 1, 2, 7, UpdateKind.Current));
            return Task.FromResult<IMailSession>(session);
        }
    }

    private static async Task Eventually(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out waiting for " + what);
            await Task.Delay(5);
        }
    }

    private static (Watcher, WatchState, FakeSource, ManualTimeProvider) Create()
    {
        var time = new ManualTimeProvider();
        var options = new MailWatchOptions { Address = "juliet@example.com", Heartbeat = TimeSpan.FromSeconds(10), MaxBackoff = TimeSpan.FromSeconds(8) };
        var state = new WatchState(options.Heartbeat, time);
        var source = new FakeSource();
        return (new Watcher(options, source, state, NullLogger.Instance, time, null, null), state, source, time);
    }

    /// <summary>Moves the clock in ticks so the loop (on the thread pool) sees each step.</summary>
    private static async Task AdvanceAsync(ManualTimeProvider time, TimeSpan by)
    {
        var step = TimeSpan.FromSeconds(1);
        for (var done = TimeSpan.Zero; done < by; done += step)
        {
            time.Advance(step);
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Silence_makes_it_stale_then_it_resubscribes_with_growing_gaps_and_heartbeats_bring_it_back()
    {
        var (watcher, state, source, time) = Create();
        using var stop = new CancellationTokenSource();
        var run = watcher.RunAsync(stop.Token);
        await Eventually(() => state.Status == WatchStatus.Live, "live");
        var session = source.Sessions.Single();

        await AdvanceAsync(time, TimeSpan.FromSeconds(21));
        await Eventually(() => state.Status == WatchStatus.Stale, "stale after 2 heartbeats");
        await Eventually(() => session.Resubscribes >= 1, "a re-subscribe");
        // Backoff: 1, 2, 4, 8 (±20 %) seconds between attempts: about 4 in the next 15 s, not 15.
        await AdvanceAsync(time, TimeSpan.FromSeconds(15));
        Assert.InRange(session.Resubscribes, 2, 6);

        source.Sink!.Update(new MailboxUpdate("INBOX", 2, 2, 3, 7, UpdateKind.Heartbeat));
        Assert.Equal(WatchStatus.Live, state.Status);
        await stop.CancelAsync();
        await run;
        Assert.True(session.Closed, "unsubscribed on the way out");
    }

    [Fact]
    public async Task A_lost_connection_is_stale_and_reconnects()
    {
        var (watcher, state, source, time) = Create();
        using var stop = new CancellationTokenSource();
        var run = watcher.RunAsync(stop.Token);
        await Eventually(() => source.Sessions.Count == 1 && state.Status == WatchStatus.Live, "live");
        source.FailNext = true;
        source.Sessions[0].Ended.SetException(new SourceException("XMPP connection lost: reset"));
        await Eventually(() => state.Status == WatchStatus.Stale, "stale on the lost connection");
        Assert.Contains("connection lost", state.Snapshot().Reason, StringComparison.Ordinal);
        await AdvanceAsync(time, TimeSpan.FromSeconds(3));
        await Eventually(() => source.Opens >= 2, "a reconnect attempt");
        source.FailNext = false;
        await AdvanceAsync(time, TimeSpan.FromSeconds(10));
        await Eventually(() => source.Sessions.Count == 2 && state.Status == WatchStatus.Live, "live after reconnecting");
        await stop.CancelAsync();
        await run;
    }
}
