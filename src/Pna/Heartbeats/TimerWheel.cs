using System.Numerics;

namespace Aggregators.Pna.Heartbeats;

/// <summary>
/// A hashed timer wheel (Varghese and Lauck, "Hashed and Hierarchical Timing Wheels", 1987):
/// timers due at tick <c>t</c> sit in slot <c>t mod slots</c> in a doubly linked list, so
/// <see cref="Schedule"/> and <see cref="Cancel"/> are O(1), and <see cref="Advance"/> visits only
/// the slots of the ticks that passed. A timer more than one revolution away stays in its slot
/// until its tick comes. Ticks are abstract (the caller maps its clock onto them). Not
/// thread-safe: the owner serialises calls.
/// </summary>
/// <typeparam name="T">What a timer carries.</typeparam>
public sealed class TimerWheel<T>
{
    /// <summary>One timer. Reusable: schedule it again after it expired or was cancelled.</summary>
    public sealed class Entry(T item)
    {
        public T Item { get; set; } = item;

        /// <summary>The tick at which it expires (valid while <see cref="IsScheduled"/>).</summary>
        public long DueTick { get; internal set; }

        public bool IsScheduled => Owner is not null;

        internal TimerWheel<T>? Owner;
        internal Entry? Previous;
        internal Entry? Next;
    }

    private readonly Entry?[] _slots;
    private readonly long _mask;
    private long _currentTick;

    /// <param name="slots">Number of slots, rounded up to a power of two; best at least the longest delay in ticks.</param>
    /// <param name="startTick">The tick the wheel starts at; timers due at or before it fire on the next advance.</param>
    public TimerWheel(int slots, long startTick)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(slots, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(slots, 1 << 24);
        var size = (int)BitOperations.RoundUpToPowerOf2((uint)slots);
        _slots = new Entry?[size];
        _mask = size - 1;
        _currentTick = startTick;
    }

    /// <summary>The last tick <see cref="Advance"/> processed.</summary>
    public long CurrentTick => _currentTick;

    /// <summary>Number of scheduled timers.</summary>
    public int Count { get; private set; }

    /// <summary>
    /// Schedules <paramref name="entry"/> to expire at <paramref name="dueTick"/> (moving it when
    /// already scheduled). A tick at or before <see cref="CurrentTick"/> expires on the next advance.
    /// </summary>
    public void Schedule(Entry entry, long dueTick)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (entry.Owner is not null)
        {
            if (!ReferenceEquals(entry.Owner, this))
            {
                throw new InvalidOperationException("the timer belongs to another wheel");
            }
            Unlink(entry);
        }
        if (dueTick <= _currentTick)
        {
            dueTick = _currentTick + 1;
        }
        entry.DueTick = dueTick;
        ref var head = ref _slots[dueTick & _mask];
        entry.Previous = null;
        entry.Next = head;
        if (head is not null)
        {
            head.Previous = entry;
        }
        head = entry;
        entry.Owner = this;
        Count++;
    }

    /// <summary>Cancels <paramref name="entry"/>; false when it was not scheduled here.</summary>
    public bool Cancel(Entry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        if (!ReferenceEquals(entry.Owner, this))
        {
            return false;
        }
        Unlink(entry);
        return true;
    }

    /// <summary>
    /// Moves the wheel to <paramref name="nowTick"/> and appends every timer due at or before it
    /// to <paramref name="expired"/>, unscheduled. Visits min(ticks passed, slots) slots.
    /// </summary>
    public void Advance(long nowTick, List<Entry> expired)
    {
        ArgumentNullException.ThrowIfNull(expired);
        if (nowTick <= _currentTick)
        {
            return;
        }
        var steps = Math.Min(nowTick - _currentTick, _slots.Length);
        for (var tick = _currentTick + 1; tick <= _currentTick + steps; tick++)
        {
            var entry = _slots[tick & _mask];
            while (entry is not null)
            {
                var next = entry.Next;
                if (entry.DueTick <= nowTick)
                {
                    Unlink(entry);
                    expired.Add(entry);
                }
                entry = next;
            }
        }
        _currentTick = nowTick;
    }

    private void Unlink(Entry entry)
    {
        if (entry.Previous is { } previous)
        {
            previous.Next = entry.Next;
        }
        else
        {
            _slots[entry.DueTick & _mask] = entry.Next;
        }
        if (entry.Next is { } next)
        {
            next.Previous = entry.Previous;
        }
        entry.Previous = null;
        entry.Next = null;
        entry.Owner = null;
        Count--;
    }
}
