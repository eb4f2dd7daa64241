namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// Keeps a number a transport puts on the wire going up across PNA restarts without a store write
/// per notification: an XMPP subscription's <c>seq</c>, a SIP dialog's NOTIFY CSeq (RFC 3261
/// §12.2.1.1: it only ever increases). The caller numbers its notifications from 1 in each process;
/// the wire number is <see cref="Base"/> + that. No wire number above the stored reservation is
/// ever handed out: a restarted PNA starts its <see cref="Base"/> at the stored reservation, above
/// anything sent before (numbers may jump ahead, never back).
/// <para>
/// Reservations are blocks of <see cref="Block"/> numbers, stored by the <c>store</c> callback (a
/// SQLite write). When half of the current block is used, the next one is stored <b>ahead</b> on
/// the thread pool, so the thread that calls <see cref="TryNext"/> (the dispatcher, the SIP UDP
/// receive thread) does not wait for the write. It waits only when numbers outrun that write (a
/// burst of half a block before one write ends), and writes itself only for a number nothing
/// covers: the first one of a process, or after a failed write ahead.
/// </para>
/// Thread-safe; <see cref="TryNext"/> is meant to be called by one thread at a time (the
/// transport's delivery lock, or one NOTIFY in flight per dialog), which keeps the writes of one
/// subscription from overlapping.
/// </summary>
internal sealed class SequenceWindow
{
    /// <summary>Wire numbers reserved per store write unless the caller says otherwise (XMPP's <c>seq</c>).</summary>
    public const long DefaultBlock = 1000;

    private readonly Func<long, bool> _store;
    private readonly Lock _gate = new();
    private long _reserved;
    private Task<bool>? _ahead;
    private long _waits;
    private long _syncStores;
    private long _aheadStores;

    private SequenceWindow(long @base, long reserved, long block, Func<long, bool> store)
    {
        Base = @base;
        _reserved = reserved;
        Block = block;
        _store = store;
    }

    /// <summary>Added to the caller's per-process number.</summary>
    public long Base { get; }

    /// <summary>Wire numbers reserved per store write.</summary>
    public long Block { get; }

    /// <summary>The highest wire number the stored state allows.</summary>
    public long Reserved
    {
        get
        {
            lock (_gate)
            {
                return _reserved;
            }
        }
    }

    /// <summary>Times the caller waited for a write ahead (numbers outran it).</summary>
    public long Waits => Interlocked.Read(ref _waits);

    /// <summary>Reservations stored on the caller's thread (nothing covered the number).</summary>
    public long SyncStores => Interlocked.Read(ref _syncStores);

    /// <summary>Reservations stored ahead, off the caller's thread.</summary>
    public long AheadStores => Interlocked.Read(ref _aheadStores);

    /// <summary>The write ahead under way, if any (tests wait on it).</summary>
    internal Task<bool>? Ahead
    {
        get
        {
            lock (_gate)
            {
                return _ahead;
            }
        }
    }

    /// <summary>
    /// For a subscription whose stored state reserved up to <paramref name="storedReservation"/>
    /// (0: none). <paramref name="store"/> stores a reservation (the highest wire number allowed)
    /// and returns false when the subscription is gone; it may throw on a store failure.
    /// </summary>
    public static SequenceWindow Resume(long storedReservation, Func<long, bool> store, long block = DefaultBlock)
    {
        ArgumentNullException.ThrowIfNull(store);
        var reserved = Math.Max(0, storedReservation);
        return new SequenceWindow(reserved, reserved, block, store);
    }

    /// <summary>
    /// For numbers that continue after <paramref name="last"/> (the last one used) with a stored
    /// reservation already covering up to <paramref name="storedReservation"/>: a SIP dialog made in
    /// this process, whose first CSeqs were reserved when the subscription was stored.
    /// </summary>
    public static SequenceWindow Continue(long last, long storedReservation, Func<long, bool> store, long block)
    {
        ArgumentNullException.ThrowIfNull(store);
        return new SequenceWindow(last, Math.Max(last, storedReservation), block, store);
    }

    /// <summary>
    /// The wire number of the dispatcher's <paramref name="sequence"/>, once a stored reservation
    /// covers it; false when the store says the subscription is gone (nothing may be sent).
    /// </summary>
    public bool TryNext(long sequence, out long wire)
    {
        wire = Base + sequence;
        Task<bool>? ahead;
        lock (_gate)
        {
            if (wire <= _reserved)
            {
                StoreAheadIfHalfUsed(wire);
                return true;
            }
            ahead = _ahead;
        }
        if (ahead is not null)
        {
            // Numbers outran the write ahead: wait for it rather than send an unstored number.
            Interlocked.Increment(ref _waits);
            ahead.GetAwaiter().GetResult();
            lock (_gate)
            {
                if (wire <= _reserved)
                {
                    StoreAheadIfHalfUsed(wire);
                    return true;
                }
            }
        }
        // Nothing stored covers it: store a block from it here, before it goes out.
        var reservation = wire + Block - 1;
        Interlocked.Increment(ref _syncStores);
        if (!_store(reservation))
        {
            return false;
        }
        lock (_gate)
        {
            _reserved = Math.Max(_reserved, reservation);
            StoreAheadIfHalfUsed(wire);
        }
        return true;
    }

    /// <summary>Under the gate: once half of the current block is used, the next block is stored on the thread pool.</summary>
    private void StoreAheadIfHalfUsed(long wire)
    {
        if (_ahead is not null || wire <= _reserved - Block / 2)
        {
            return;
        }
        _ahead = StoreAhead(_reserved + Block);
    }

    // Its own method: the closure is allocated only when a block is stored, not on every call of the
    // caller (a lambda's captured locals are allocated when their scope is entered).
    private Task<bool> StoreAhead(long reservation)
    {
        return Task.Run(() =>
        {
            bool stored;
            try
            {
                stored = _store(reservation);
            }
#pragma warning disable CA1031 // a failed write ahead is retried on the caller's thread, where an error surfaces
            catch (Exception)
#pragma warning restore CA1031
            {
                stored = false;
            }
            lock (_gate)
            {
                if (stored)
                {
                    _reserved = Math.Max(_reserved, reservation);
                    Interlocked.Increment(ref _aheadStores);
                }
                _ahead = null;
            }
            return stored;
        });
    }
}
