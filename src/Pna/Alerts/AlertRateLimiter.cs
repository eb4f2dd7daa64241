namespace Aggregators.Pna.Alerts;

/// <summary>
/// Token buckets by key (a target or a source): each holds up to <c>burst</c> tokens and gains
/// <c>perMinute</c> tokens a minute; an alert takes one. Time comes from the given
/// <see cref="TimeProvider"/>. Full, idle buckets are forgotten so the map stays small.
/// </summary>
public sealed class AlertRateLimiter
{
    private const int SweepEvery = 1024;

    private readonly TimeProvider _time;
    private readonly double _burst;
    private readonly double _perTick;
    private readonly Dictionary<string, (double Tokens, long Stamp)> _buckets = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();
    private int _sinceSweep;

    public AlertRateLimiter(AlertRateOptions options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(time);
        _time = time;
        _burst = options.Burst;
        _perTick = options.PerMinute / 60.0 / time.TimestampFrequency;
    }

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _buckets.Count;
            }
        }
    }

    /// <summary>Takes a token for <paramref name="key"/>; false when its bucket is empty.</summary>
    public bool TryTake(string key)
    {
        lock (_lock)
        {
            var now = _time.GetTimestamp();
            var tokens = Refill(key, now);
            if (tokens < 1)
            {
                _buckets[key] = (tokens, now);
                return false;
            }
            _buckets[key] = (tokens - 1, now);
            if (++_sinceSweep >= SweepEvery)
            {
                Sweep(now);
            }
            return true;
        }
    }

    /// <summary>Gives back a token taken by <see cref="TryTake"/> (the alert was not sent after all).</summary>
    public void Return(string key)
    {
        lock (_lock)
        {
            if (_buckets.TryGetValue(key, out var b))
            {
                _buckets[key] = (Math.Min(_burst, b.Tokens + 1), b.Stamp);
            }
        }
    }

    private double Refill(string key, long now) =>
        _buckets.TryGetValue(key, out var b) ? Math.Min(_burst, b.Tokens + ((now - b.Stamp) * _perTick)) : _burst;

    private void Sweep(long now)
    {
        _sinceSweep = 0;
        foreach (var key in _buckets.Keys.ToList())
        {
            if (Refill(key, now) >= _burst)
            {
                _buckets.Remove(key);
            }
        }
    }
}
