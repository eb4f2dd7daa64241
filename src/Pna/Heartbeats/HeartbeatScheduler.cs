using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Heartbeats;

/// <summary>
/// Decides when a subscription is owed a heartbeat: when nothing was sent to it for its interval
/// (DESIGN.md "Reliability by counts"). Each subscription has one timer on a
/// <see cref="TimerWheel{T}"/> whose tick is <see cref="HeartbeatOptions.Tick"/>. When a timer
/// expires the scheduler reads <see cref="Subscription.LastNotifiedTicks"/> (a timestamp of the
/// same <see cref="TimeProvider"/>, set by the dispatcher on every notification): if something
/// was sent within the interval, the timer is re-armed at last-notified + interval and no
/// heartbeat goes out, so a busy subscription is never heartbeated; otherwise the callback runs
/// and the timer is re-armed at now + interval. Heartbeats fire on tick boundaries, so they
/// may come up to one tick early or late.
/// <para>
/// Driven by <see cref="RunAsync"/> (a <see cref="PeriodicTimer"/> on the time provider) or by
/// calling <see cref="Tick"/> directly. <see cref="Add"/> and <see cref="Remove"/> may be called
/// from any thread; the wheel is guarded by one lock. The callback runs outside the lock on
/// the ticking thread and must not block (it hands the heartbeat to the dispatcher); a callback
/// already collected when <see cref="Remove"/> runs may still be invoked once.
/// </para>
/// </summary>
public sealed class HeartbeatScheduler
{
    private readonly struct Armed(Subscription subscription, long interval)
    {
        public readonly Subscription Subscription = subscription;

        /// <summary>The clamped interval in timestamp units.</summary>
        public readonly long Interval = interval;
    }

    private readonly TimeProvider _time;
    private readonly HeartbeatOptions _options;
    private readonly Action<Subscription> _heartbeatDue;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Lock _tickGate = new();
    private readonly TimerWheel<Armed> _wheel;
    private readonly long _tickUnits;
    private readonly List<TimerWheel<Armed>.Entry> _expired = [];
    private readonly List<Subscription> _due = [];

    public HeartbeatScheduler(
        TimeProvider timeProvider, HeartbeatOptions options, Action<Subscription> heartbeatDue, ILogger<HeartbeatScheduler>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(timeProvider);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(heartbeatDue);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new ArgumentException("invalid heartbeat options: " + string.Join("; ", errors), nameof(options));
        }
        _time = timeProvider;
        _options = options;
        _heartbeatDue = heartbeatDue;
        _logger = logger ?? NullLogger<HeartbeatScheduler>.Instance;
        _tickUnits = Math.Max(1, ToTimestampUnits(options.Tick));
        // One revolution covers the longest interval, so a timer is normally visited once.
        var slots = (int)Math.Clamp(options.Max.Ticks / options.Tick.Ticks + 2, 16, 1 << 16);
        _wheel = new TimerWheel<Armed>(slots, _time.GetTimestamp() / _tickUnits);
    }

    /// <summary>Number of subscriptions with a heartbeat.</summary>
    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _wheel.Count;
            }
        }
    }

    /// <summary>The interval a subscriber asking for <paramref name="requested"/> gets: clamped to [Min, Max].</summary>
    public TimeSpan Clamp(TimeSpan requested) =>
        requested < _options.Min ? _options.Min : requested > _options.Max ? _options.Max : requested;

    /// <summary>
    /// Starts (or changes) heartbeats for <paramref name="subscription"/> every
    /// <paramref name="interval"/> (clamped) of silence, counted from now.
    /// </summary>
    /// <returns>The interval actually used.</returns>
    public TimeSpan Add(Subscription subscription, TimeSpan interval)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var clamped = Clamp(interval);
        var units = ToTimestampUnits(clamped);
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            if (subscription.HeartbeatSlot is TimerWheel<Armed>.Entry entry)
            {
                entry.Item = new Armed(subscription, units);
            }
            else
            {
                entry = new TimerWheel<Armed>.Entry(new Armed(subscription, units));
                subscription.HeartbeatSlot = entry;
            }
            _wheel.Schedule(entry, DueTick(now + units));
        }
        return clamped;
    }

    /// <summary>Stops heartbeats for <paramref name="subscription"/>; false when it had none.</summary>
    public bool Remove(Subscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_lock)
        {
            if (subscription.HeartbeatSlot is not TimerWheel<Armed>.Entry entry)
            {
                return false;
            }
            subscription.HeartbeatSlot = null;
            return _wheel.Cancel(entry);
        }
    }

    /// <summary>
    /// Processes the timers due now: invokes the callback for each subscription owed a heartbeat
    /// and re-arms every timer. Returns how many heartbeats were due.
    /// </summary>
    public int Tick()
    {
        // One tick at a time; the callback may call Add/Remove, which take only _lock.
        lock (_tickGate)
        {
            return TickCore();
        }
    }

    private int TickCore()
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            _wheel.Advance(now / _tickUnits, _expired);
            foreach (var entry in _expired)
            {
                var armed = entry.Item;
                var last = Volatile.Read(ref armed.Subscription.LastNotifiedTicks);
                // Something was sent within the interval (one tick of slack, see the class comment).
                if (last != 0 && now - last < armed.Interval - _tickUnits)
                {
                    _wheel.Schedule(entry, DueTick(last + armed.Interval));
                }
                else
                {
                    _due.Add(armed.Subscription);
                    _wheel.Schedule(entry, DueTick(now + armed.Interval));
                }
            }
            _expired.Clear();
        }
        var count = _due.Count;
        foreach (var subscription in _due)
        {
            try
            {
                _heartbeatDue(subscription);
            }
#pragma warning disable CA1031 // One failing subscription must not stop heartbeats for all others.
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _logger.LogError(ex, "heartbeat callback failed for subscription {Subscription}", subscription);
            }
        }
        _due.Clear();
        return count;
    }

    /// <summary>Calls <see cref="Tick"/> every <see cref="HeartbeatOptions.Tick"/> until cancelled.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(_options.Tick, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken).ConfigureAwait(false))
            {
                Tick();
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>The first wheel tick at or after <paramref name="timestamp"/>.</summary>
    private long DueTick(long timestamp) => (timestamp + _tickUnits - 1) / _tickUnits;

    private long ToTimestampUnits(TimeSpan span) =>
        (long)((Int128)span.Ticks * _time.TimestampFrequency / TimeSpan.TicksPerSecond);
}
