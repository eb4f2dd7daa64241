namespace Aggregators.Sip.Transactions;

/// <summary>Something a <see cref="SipTimerQueue"/> entry calls when it falls due.</summary>
internal interface ISipTimerTarget
{
    void OnTimer(SipTimerKind kind);
}

internal enum SipTimerKind
{
    E,
    F,
    K,
}

/// <summary>One scheduled transaction timer; <see cref="Cancel"/> makes it a no-op when it falls due.</summary>
internal sealed class SipTimerEntry(ISipTimerTarget target, SipTimerKind kind)
{
    private ISipTimerTarget? _target = target;

    public SipTimerKind Kind { get; } = kind;

    public void Cancel() => Volatile.Write(ref _target, null);

    public void Fire() => Volatile.Read(ref _target)?.OnTimer(Kind);
}

/// <summary>
/// The transaction layer's timers E, F and K (RFC 3261 §17.1.2.2) on one <see cref="ITimer"/> of the
/// layer's <see cref="TimeProvider"/>: a priority queue of due times, the timer armed for the earliest.
/// Two or three system timers created and disposed per transaction were a large share of a NOTIFY's
/// cost; an entry here is one small object, and a cancelled one is simply skipped when it falls due.
/// Entries due at the same time fire in the order they were scheduled.
/// </summary>
internal sealed class SipTimerQueue(TimeProvider time)
{
    private readonly Lock _lock = new();
    private readonly PriorityQueue<SipTimerEntry, (long Due, long Order)> _queue = new();
    private ITimer? _timer;
    private long _armedFor = long.MaxValue;
    private long _order;

    public int Count
    {
        get
        {
            lock (_lock) return _queue.Count;
        }
    }

    public SipTimerEntry Schedule(ISipTimerTarget target, SipTimerKind kind, TimeSpan due)
    {
        var entry = new SipTimerEntry(target, kind);
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var at = now + ToUnits(due);
            _queue.Enqueue(entry, (at, _order++));
            if (at < _armedFor) Arm(at, now);
        }
        return entry;
    }

    private void OnTick()
    {
        while (true)
        {
            SipTimerEntry entry;
            lock (_lock)
            {
                var now = time.GetTimestamp();
                if (!_queue.TryPeek(out entry!, out var key))
                {
                    _armedFor = long.MaxValue;
                    return;
                }
                if (key.Due > now)
                {
                    Arm(key.Due, now);
                    return;
                }
                _queue.Dequeue();
            }
            entry.Fire();
        }
    }

    // Under _lock.
    private void Arm(long at, long now)
    {
        _armedFor = at;
        var freq = time.TimestampFrequency;
        var delay = TimeSpan.FromTicks((long)(((Int128)Math.Max(0, at - now) * TimeSpan.TicksPerSecond + freq - 1) / freq)); // rounded up: never early
        if (_timer is null) _timer = time.CreateTimer(static q => ((SipTimerQueue)q!).OnTick(), this, delay, Timeout.InfiniteTimeSpan);
        else _timer.Change(delay, Timeout.InfiniteTimeSpan);
    }

    private long ToUnits(TimeSpan span) => (long)((Int128)span.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
}
