namespace Aggregators.Tests.Shared;

/// <summary>
/// A TimeProvider whose clock moves only when a test calls <see cref="Advance"/>; timers created
/// on it (PeriodicTimer included) fire during Advance, in due order (equal due times in the
/// order they were armed). Timestamps start far from zero and run at 1 GHz so unit conversions
/// are exercised. Shared by every test project (tests/Directory.Build.props links it in).
/// </summary>
internal sealed class ManualTimeProvider : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private long _timestamp = 7_000_000_000_000;
    private DateTimeOffset _utcNow;

    public ManualTimeProvider()
        : this(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero))
    {
    }

    public ManualTimeProvider(DateTimeOffset start) => _utcNow = start;

    public override long TimestampFrequency => 1_000_000_000;

    public override long GetTimestamp()
    {
        lock (_lock)
        {
            return _timestamp;
        }
    }

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _utcNow;
        }
    }

    public long ToUnits(TimeSpan span) => (long)((Int128)span.Ticks * TimestampFrequency / TimeSpan.TicksPerSecond);

    /// <summary>Moves the clock forward, firing every timer that comes due on the way.</summary>
    public void Advance(TimeSpan by)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(by, TimeSpan.Zero);
        long target;
        lock (_lock)
        {
            target = _timestamp + ToUnits(by);
        }
        while (true)
        {
            ManualTimer? next = null;
            lock (_lock)
            {
                foreach (var t in _timers)
                {
                    if (t.Due is { } due && due <= target && (next is null || due < next.Due))
                    {
                        next = t;
                    }
                }
                if (next is null)
                {
                    _utcNow += TimeSpan.FromTicks((long)((Int128)(target - _timestamp) * TimeSpan.TicksPerSecond / TimestampFrequency));
                    _timestamp = target;
                    return;
                }
                var at = next.Due!.Value;
                _utcNow += TimeSpan.FromTicks((long)((Int128)(at - _timestamp) * TimeSpan.TicksPerSecond / TimestampFrequency));
                _timestamp = at;
                next.Due = next.Period > 0 ? at + next.Period : null;
            }
            next.Callback(next.State);
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        lock (_lock)
        {
            _timers.Add(timer);
        }
        return timer;
    }

    private sealed class ManualTimer(ManualTimeProvider owner, TimerCallback callback, object? state) : ITimer
    {
        public TimerCallback Callback { get; } = callback;
        public object? State { get; } = state;
        public long? Due { get; set; }
        public long Period { get; set; }

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (owner._lock)
            {
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : owner._timestamp + owner.ToUnits(dueTime);
                Period = period == Timeout.InfiniteTimeSpan || period == TimeSpan.Zero ? 0 : owner.ToUnits(period);
            }
            return true;
        }

        public void Dispose()
        {
            lock (owner._lock)
            {
                owner._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
