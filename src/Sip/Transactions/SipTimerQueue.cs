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

/// <summary>
/// One transaction timer, reusable: scheduled again after it fired or was cancelled (timer E is
/// rescheduled on every retransmission without a new object). Linked into its queue's list while
/// scheduled; <see cref="Cancel"/> unlinks it at once.
/// </summary>
internal sealed class SipTimerEntry(ISipTimerTarget target, SipTimerKind kind)
{
    public SipTimerKind Kind { get; } = kind;

    public ISipTimerTarget Target { get; } = target;

    // Guarded by the queue's lock.
    internal SipTimerQueue? Queue;
    internal SipTimerQueue.Fifo? List;
    internal SipTimerEntry? Previous;
    internal SipTimerEntry? Next;
    internal long Due;
    internal long Order;

    public bool IsScheduled => Volatile.Read(ref List) is not null;

    public void Cancel() => Queue?.Cancel(this);
}

/// <summary>
/// The transaction layer's timers E, F and K (RFC 3261 §17.1.2.2) on one <see cref="ITimer"/> of the
/// layer's <see cref="TimeProvider"/>. Each timer has a fixed duration per transaction (F = 64*T1,
/// K = T4, E = T1, 2*T1, … T2), so entries are kept in one FIFO list per duration: appending keeps a
/// list sorted by due time, the earliest entry is the head of one of a handful of lists, and
/// scheduling and cancelling are O(1) (a cancelled entry is unlinked, not left to fall due). The
/// timer is armed for the earliest head; after it fired it is not armed sooner than
/// <see cref="Resolution"/> later, so at thousands of transactions per second it ticks at most
/// 1/<see cref="Resolution"/> times per second and fires every entry due by then. Entries never
/// fire early; due at the same time, they fire in the order they were scheduled.
/// </summary>
internal sealed class SipTimerQueue(TimeProvider time)
{
    /// <summary>How much later than due an entry may fire, at most, when the queue is busy.</summary>
    public static readonly TimeSpan Resolution = TimeSpan.FromMilliseconds(10);

    private readonly Lock _lock = new();
    private readonly List<Fifo> _lists = [];
    private readonly long _resolution = (long)((Int128)Resolution.Ticks * time.TimestampFrequency / TimeSpan.TicksPerSecond);
    private ITimer? _timer;
    private long _armedFor = long.MaxValue;
    private long _order;
    private int _count;

    /// <summary>Entries of one duration, in due order.</summary>
    internal sealed class Fifo(long duration)
    {
        public long Duration { get; } = duration;
        public SipTimerEntry? Head;
        public SipTimerEntry? Tail;
    }

    /// <summary>Scheduled entries.</summary>
    public int Count
    {
        get
        {
            lock (_lock) return _count;
        }
    }

    /// <summary>A new entry, scheduled.</summary>
    public SipTimerEntry Schedule(ISipTimerTarget target, SipTimerKind kind, TimeSpan due)
    {
        var entry = new SipTimerEntry(target, kind);
        Schedule(entry, due);
        return entry;
    }

    /// <summary>(Re)schedules an entry <paramref name="due"/> from now; if it was scheduled, the earlier time is dropped.</summary>
    public void Schedule(SipTimerEntry entry, TimeSpan due)
    {
        var units = ToUnits(due);
        lock (_lock)
        {
            if (entry.List is not null) Unlink(entry);
            var now = time.GetTimestamp();
            entry.Queue = this;
            entry.Due = now + units;
            entry.Order = _order++;
            Append(ListFor(units), entry);
            if (entry.Due < _armedFor) Arm(entry.Due, now);
        }
    }

    public void Cancel(SipTimerEntry entry)
    {
        lock (_lock)
        {
            if (entry.List is not null) Unlink(entry);
        }
    }

    /// <summary>Two entries cancelled under one lock (a transaction's E and F when its final response arrives).</summary>
    public void Cancel(SipTimerEntry first, SipTimerEntry second)
    {
        lock (_lock)
        {
            if (first.List is not null) Unlink(first);
            if (second.List is not null) Unlink(second);
        }
    }

    /// <summary>Two entries (re)scheduled under one lock, <paramref name="first"/> first (a transaction's F and E when it starts).</summary>
    public void Schedule(SipTimerEntry first, TimeSpan firstDue, SipTimerEntry second, TimeSpan secondDue)
    {
        var (u1, u2) = (ToUnits(firstDue), ToUnits(secondDue));
        lock (_lock)
        {
            var now = time.GetTimestamp();
            foreach (var (entry, units) in (ReadOnlySpan<(SipTimerEntry, long)>)[(first, u1), (second, u2)])
            {
                if (entry.List is not null) Unlink(entry);
                entry.Queue = this;
                entry.Due = now + units;
                entry.Order = _order++;
                Append(ListFor(units), entry);
                if (entry.Due < _armedFor) Arm(entry.Due, now);
            }
        }
    }

    private void OnTick()
    {
        long tick;
        lock (_lock)
        {
            tick = time.GetTimestamp();
            _armedFor = long.MaxValue;
        }
        while (true)
        {
            SipTimerEntry entry;
            lock (_lock)
            {
                if (Earliest() is not { } head)
                {
                    return;
                }
                var now = time.GetTimestamp();
                if (head.Due > now)
                {
                    // Not before Resolution after this tick: one tick serves every entry due by then.
                    Arm(Math.Max(head.Due, tick + _resolution), now);
                    return;
                }
                entry = head;
                Unlink(entry);
            }
            entry.Target.OnTimer(entry.Kind);
        }
    }

    // Under _lock: the head with the smallest (due, order).
    private SipTimerEntry? Earliest()
    {
        SipTimerEntry? best = null;
        foreach (var list in _lists)
        {
            if (list.Head is { } h && (best is null || h.Due < best.Due || (h.Due == best.Due && h.Order < best.Order))) best = h;
        }
        return best;
    }

    // Under _lock.
    private Fifo ListFor(long duration)
    {
        foreach (var list in _lists)
        {
            if (list.Duration == duration) return list;
        }
        var added = new Fifo(duration);
        _lists.Add(added);
        return added;
    }

    // Under _lock. Entries of one list are appended in due order (same duration, time only moves on).
    private void Append(Fifo list, SipTimerEntry entry)
    {
        entry.List = list;
        entry.Previous = list.Tail;
        entry.Next = null;
        if (list.Tail is { } tail) tail.Next = entry;
        else list.Head = entry;
        list.Tail = entry;
        _count++;
    }

    // Under _lock.
    private void Unlink(SipTimerEntry entry)
    {
        var list = entry.List!;
        if (entry.Previous is { } p) p.Next = entry.Next;
        else list.Head = entry.Next;
        if (entry.Next is { } n) n.Previous = entry.Previous;
        else list.Tail = entry.Previous;
        entry.Previous = entry.Next = null;
        Volatile.Write(ref entry.List, null);
        _count--;
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
