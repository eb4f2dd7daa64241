namespace Aggregators.MailWatch.Model;

/// <summary>What the display says about the counts as a whole.</summary>
public enum WatchStatus
{
    /// <summary>Not yet subscribed: no count is known.</summary>
    Connecting,

    /// <summary>Notifications or heartbeats arrive: the counts are current.</summary>
    Live,

    /// <summary>
    /// Nothing heard for two heartbeat intervals, or the connection is down: the counts may be
    /// wrong and are shown as such until a notification arrives again.
    /// </summary>
    Stale,
}

/// <summary>One mailbox as shown; <see cref="Notified"/> is false while only IMAP counts are known.</summary>
public sealed record MailboxView(string Mailbox, uint Messages, uint Unseen, uint? UidNext, uint? UidValidity, DateTimeOffset UpdatedAt, UpdateKind Kind,
    ImapCounts? Imap)
{
    public bool Notified => UpdatedAt != DateTimeOffset.MinValue;
}

/// <summary>Everything the display and <c>--once</c> need, copied out under the lock.</summary>
public sealed record WatchSnapshot(WatchStatus Status, string? Reason, DateTimeOffset? LastHeard, DateTimeOffset? StaleSince, TimeSpan Heartbeat,
    IReadOnlyList<MailboxView> Mailboxes, DateTimeOffset Now);

/// <summary>New mail seen in a mailbox: its unseen count or UIDNEXT went up with an event.</summary>
public sealed record NewMail(string Mailbox, uint Unseen, uint Added);

/// <summary>
/// The client's view of the counts and of their freshness, without I/O (a <see cref="TimeProvider"/>
/// gives the time). Every notification proves the subscription alive; after
/// <see cref="StaleAfter"/> = two heartbeat intervals without one the state turns
/// <see cref="WatchStatus.Stale"/> (draft-dusseault-email-notif-model: reliability by counts and heartbeats).
/// Thread-safe: sources apply updates from their own threads, the display reads snapshots.
/// </summary>
public sealed class WatchState
{
    private readonly Lock _lock = new();
    private readonly TimeProvider _time;
    private readonly SortedDictionary<string, MailboxView> _mailboxes = new(StringComparer.Ordinal);
    private WatchStatus _status = WatchStatus.Connecting;
    private string? _reason = "connecting";
    private long? _lastHeard;
    private DateTimeOffset? _lastHeardAt;
    private DateTimeOffset? _staleSince;

    public WatchState(TimeSpan heartbeat, TimeProvider? time = null)
    {
        if (heartbeat <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(heartbeat), "the heartbeat interval must be positive");
        }
        Requested = heartbeat;
        _heartbeat = heartbeat;
        _time = time ?? TimeProvider.System;
    }

    private TimeSpan _heartbeat;

    /// <summary>The heartbeat interval asked of the notifier (<c>--heartbeat</c>).</summary>
    public TimeSpan Requested { get; }

    /// <summary>
    /// The heartbeat interval staleness is judged by: the one the notifier granted when it said so
    /// (a PNA clamps requests to Pna:Heartbeats:Min..Max), else the one asked for.
    /// </summary>
    public TimeSpan Heartbeat
    {
        get
        {
            lock (_lock)
            {
                return _heartbeat;
            }
        }
    }

    /// <summary>
    /// The notifier granted <paramref name="granted"/> for a subscription. With several subscriptions
    /// the longest grant counts (no healthy one may look silent). Returns true when the interval
    /// now differs from what was in use before.
    /// </summary>
    public bool Grant(TimeSpan granted)
    {
        if (granted <= TimeSpan.Zero)
        {
            return false;
        }
        bool changed;
        lock (_lock)
        {
            var next = _grantedAny && _heartbeat > granted ? _heartbeat : granted;
            _grantedAny = true;
            changed = next != _heartbeat;
            _heartbeat = next;
        }
        if (changed)
        {
            Changed?.Invoke();
        }
        return changed;
    }

    private bool _grantedAny;

    /// <summary>Two heartbeat intervals: one missed heartbeat is tolerated, two are not.</summary>
    public TimeSpan StaleAfter => Heartbeat * 2;

    private TimeSpan StaleAfterLocked => _heartbeat * 2;

    /// <summary>Raised (outside the lock) when a state change should be redrawn.</summary>
    public event Action? Changed;

    public WatchStatus Status
    {
        get
        {
            lock (_lock)
            {
                return _status;
            }
        }
    }

    /// <summary>
    /// Applies counts from a notification. Returns what looks like new mail (for a desktop
    /// notification): an event that raised unseen or UIDNEXT of a mailbox already known.
    /// </summary>
    public NewMail? Apply(MailboxUpdate update)
    {
        ArgumentNullException.ThrowIfNull(update);
        NewMail? news = null;
        lock (_lock)
        {
            var now = _time.GetUtcNow();
            Heard(now);
            _mailboxes.TryGetValue(update.Mailbox, out var before);
            if (before is not null && update.Kind == UpdateKind.Event
                && (update.Unseen > before.Unseen || (update.UidNext ?? 0) > (before.UidNext ?? 0)) && update.Messages >= before.Messages)
            {
                var added = update.UidNext is { } next && before.UidNext is { } prev && next > prev
                    ? next - prev
                    : update.Unseen > before.Unseen ? update.Unseen - before.Unseen : 0;
                if (added > 0)
                {
                    news = new NewMail(update.Mailbox, update.Unseen, added);
                }
            }
            _mailboxes[update.Mailbox] = new MailboxView(update.Mailbox, update.Messages, update.Unseen, update.UidNext, update.UidValidity, now,
                update.Kind, before?.Imap);
        }
        Changed?.Invoke();
        return news;
    }

    /// <summary>A sign of life without counts (a subscription confirmed, a NOTIFY without a body).</summary>
    public void Alive()
    {
        lock (_lock)
        {
            Heard(_time.GetUtcNow());
        }
        Changed?.Invoke();
    }

    private void Heard(DateTimeOffset now)
    {
        _lastHeard = _time.GetTimestamp();
        _lastHeardAt = now;
        _status = WatchStatus.Live;
        _reason = null;
        _staleSince = null;
    }

    /// <summary>
    /// Checks freshness now: Live turns Stale once nothing was heard for <see cref="StaleAfter"/>.
    /// Returns true when the status changed.
    /// </summary>
    public bool Evaluate()
    {
        lock (_lock)
        {
            if (_status != WatchStatus.Live || _lastHeard is not { } last || _time.GetElapsedTime(last) < StaleAfterLocked)
            {
                return false;
            }
            _status = WatchStatus.Stale;
            _reason = $"nothing heard for {StaleAfterLocked.TotalSeconds:0} s (2 heartbeat intervals)";
            _staleSince = _time.GetUtcNow();
        }
        Changed?.Invoke();
        return true;
    }

    /// <summary>The connection or subscription failed: the counts are stale until something arrives again.</summary>
    public void Lost(string reason)
    {
        lock (_lock)
        {
            if (_status == WatchStatus.Connecting && _mailboxes.Count == 0)
            {
                _reason = reason;
            }
            else
            {
                if (_status != WatchStatus.Stale)
                {
                    _staleSince = _time.GetUtcNow();
                }
                _status = WatchStatus.Stale;
                _reason = reason;
            }
        }
        Changed?.Invoke();
    }

    /// <summary>Records IMAP STATUS counts beside the notified ones (they do not make the state live).</summary>
    public void Verified(ImapCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        lock (_lock)
        {
            _mailboxes[counts.Mailbox] = _mailboxes.TryGetValue(counts.Mailbox, out var view)
                ? view with { Imap = counts }
                : new MailboxView(counts.Mailbox, 0, 0, null, null, DateTimeOffset.MinValue, UpdateKind.Current, counts);
        }
        Changed?.Invoke();
    }

    public WatchSnapshot Snapshot()
    {
        lock (_lock)
        {
            return new WatchSnapshot(_status, _reason, _lastHeardAt, _staleSince, _heartbeat, [.. _mailboxes.Values], _time.GetUtcNow());
        }
    }
}
