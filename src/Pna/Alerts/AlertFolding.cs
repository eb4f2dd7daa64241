namespace Aggregators.Pna.Alerts;

/// <summary>
/// Folds identical alerts: the same target, text, importance, sender, subject and IMAP URL within
/// the window are one alert; the later ones report "folded into &lt;id&gt;". Entries older than the
/// window are dropped as new ones arrive.
/// </summary>
public sealed class AlertFolding(TimeSpan window, TimeProvider time)
{
    private readonly Dictionary<FoldKey, (long Id, long Stamp)> _recent = [];
    private readonly Queue<(FoldKey Key, long Stamp)> _order = new();
    private readonly Lock _lock = new();

    private readonly record struct FoldKey(string Target, string Text, AlertImportance Importance, string? From, string? Subject, string? ImapUrl);

    /// <summary>The id of an identical alert accepted within the window, or null.</summary>
    public long? Find(AlertTarget target, AlertRequest request)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(request);
        if (window <= TimeSpan.Zero)
        {
            return null;
        }
        lock (_lock)
        {
            var now = time.GetTimestamp();
            Expire(now);
            return _recent.TryGetValue(KeyOf(target, request), out var entry) ? entry.Id : null;
        }
    }

    /// <summary>Remembers an accepted alert.</summary>
    public void Remember(AlertTarget target, AlertRequest request, long id)
    {
        ArgumentNullException.ThrowIfNull(target);
        ArgumentNullException.ThrowIfNull(request);
        if (window <= TimeSpan.Zero)
        {
            return;
        }
        lock (_lock)
        {
            var now = time.GetTimestamp();
            var key = KeyOf(target, request);
            _recent[key] = (id, now);
            _order.Enqueue((key, now));
        }
    }

    private void Expire(long now)
    {
        while (_order.TryPeek(out var oldest) && time.GetElapsedTime(oldest.Stamp, now) >= window)
        {
            _order.Dequeue();
            if (_recent.TryGetValue(oldest.Key, out var entry) && entry.Stamp == oldest.Stamp)
            {
                _recent.Remove(oldest.Key);
            }
        }
    }

    private static FoldKey KeyOf(AlertTarget target, AlertRequest r) =>
        new(target.Key, r.Text, r.Importance, r.From, r.Subject, r.ImapUrl);
}
