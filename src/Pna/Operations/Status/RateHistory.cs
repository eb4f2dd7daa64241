using System.Diagnostics.Metrics;

namespace Aggregators.Pna.Operations.Status;

/// <summary>
/// Events accepted and notifications sent per <see cref="BucketSeconds"/>-second bucket over the
/// last <see cref="Buckets"/> buckets (ten minutes), for the status page's chart. Fed by its own
/// <see cref="MeterListener"/> on the PNA's counters, so nothing on the dispatch path knows about it.
/// </summary>
public sealed class RateHistory : IDisposable
{
    public const int BucketSeconds = 10;
    public const int Buckets = 60;

    private readonly TimeProvider _time;
    private readonly MeterListener _listener = new();
    private readonly Lock _lock = new();
    private readonly long[] _bucketIds = new long[Buckets];
    private readonly long[] _events = new long[Buckets];
    private readonly long[] _notifications = new long[Buckets];

    public RateHistory(PnaMetrics metrics, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(metrics);
        _time = time;
        Array.Fill(_bucketIds, -1);
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument, metrics.EventsAccepted) || ReferenceEquals(instrument, metrics.NotificationsOut))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        var eventsAccepted = metrics.EventsAccepted;
        _listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
            Record(ReferenceEquals(instrument, eventsAccepted), value));
        _listener.Start();
    }

    /// <summary>Counts <paramref name="count"/> events (or notifications) now.</summary>
    public void Record(bool isEvent, long count)
    {
        var id = _time.GetUtcNow().ToUnixTimeSeconds() / BucketSeconds;
        var slot = (int)(id % Buckets);
        lock (_lock)
        {
            if (_bucketIds[slot] != id)
            {
                _bucketIds[slot] = id;
                _events[slot] = 0;
                _notifications[slot] = 0;
            }
            if (isEvent)
            {
                _events[slot] += count;
            }
            else
            {
                _notifications[slot] += count;
            }
        }
    }

    /// <summary>The last <see cref="Buckets"/> buckets, oldest first; the last one is the current (partial) bucket.</summary>
    public RateSeries Snapshot()
    {
        var now = _time.GetUtcNow().ToUnixTimeSeconds() / BucketSeconds;
        var events = new long[Buckets];
        var notifications = new long[Buckets];
        lock (_lock)
        {
            for (var i = 0; i < Buckets; i++)
            {
                var id = now - (Buckets - 1) + i;
                var slot = (int)(id % Buckets);
                if (_bucketIds[slot] == id)
                {
                    events[i] = _events[slot];
                    notifications[i] = _notifications[slot];
                }
            }
        }
        return new RateSeries(BucketSeconds, DateTimeOffset.FromUnixTimeSeconds((now + 1) * BucketSeconds), events, notifications);
    }

    public void Dispose() => _listener.Dispose();
}

/// <summary>Counts per bucket, oldest first, up to <paramref name="End"/> (the end of the current bucket).</summary>
public sealed record RateSeries(int BucketSeconds, DateTimeOffset End, IReadOnlyList<long> Events, IReadOnlyList<long> Notifications);
