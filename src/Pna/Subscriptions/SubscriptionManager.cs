using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Dispatch;
using Aggregators.Pna.Storage;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Subscriptions;

/// <summary>The answer to a subscribe request: the subscription, or the reason it was refused.</summary>
public sealed record SubscribeResult(Subscription? Subscription, AuthorizationDecision Decision)
{
    public bool Succeeded => Subscription is not null;
}

/// <summary>
/// Owns the life of subscriptions: authorization, persistence, the registry and heartbeats, the
/// Initial notification, refresh, removal, expiry and restore at start. Transports call it.
/// </summary>
public sealed partial class SubscriptionManager
{
    private readonly IPnaStore _store;
    private readonly IAuthorizationPolicy _authorization;
    private readonly SubscriptionRegistry _registry;
    private readonly ActiveSubscriptions _active;
    private readonly Dispatcher _dispatcher;
    private readonly IHeartbeats _heartbeats;
    private readonly IEnumerable<INotificationTransport> _transports;
    private readonly TimeProvider _time;
    private readonly ILogger<SubscriptionManager> _logger;
    private readonly Lock _lock = new();
    private readonly List<StoredSubscription> _inactive = [];

    public SubscriptionManager(
        IPnaStore store,
        IAuthorizationPolicy authorization,
        SubscriptionRegistry registry,
        ActiveSubscriptions active,
        Dispatcher dispatcher,
        IHeartbeats heartbeats,
        IEnumerable<INotificationTransport> transports,
        TimeProvider time,
        ILogger<SubscriptionManager> logger)
    {
        _store = store;
        _authorization = authorization;
        _registry = registry;
        _active = active;
        _dispatcher = dispatcher;
        _heartbeats = heartbeats;
        _transports = transports;
        _time = time;
        _logger = logger;
    }

    /// <summary>Live subscriptions.</summary>
    public int Count => _active.Count;

    /// <summary>Stored subscriptions whose transport is not configured in this process.</summary>
    public IReadOnlyList<StoredSubscription> Inactive
    {
        get
        {
            lock (_lock)
            {
                return [.. _inactive];
            }
        }
    }

    public IReadOnlyList<Subscription> Snapshot() => _active.Snapshot();

    public Subscription? Get(long id) => _active.TryGet(id, out var s) ? s : null;

    /// <summary>
    /// The heartbeat interval a subscription with <paramref name="filter"/> actually gets (the request
    /// clamped to Pna:Heartbeats:Min..Max), null without heartbeats: what transports tell the subscriber.
    /// </summary>
    public TimeSpan? GrantedHeartbeat(SubscriptionFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return filter.Heartbeat is { } requested ? _heartbeats.Grant(requested) : null;
    }

    /// <summary>
    /// Authorizes, stores and activates a subscription, then hands its transport an Initial
    /// notification with the current totals of the subscribed mailbox (INBOX for the account root).
    /// </summary>
    public async ValueTask<SubscribeResult> SubscribeAsync(
        string subscriber,
        SubscriptionFilter filter,
        INotificationTransport transport,
        string? transportState,
        DateTimeOffset? expires,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(subscriber);
        ArgumentNullException.ThrowIfNull(filter);
        ArgumentNullException.ThrowIfNull(transport);
        var decision = await _authorization.AuthorizeAsync(subscriber, filter.Account, filter.Mailbox, cancellationToken).ConfigureAwait(false);
        if (!decision.Allowed)
        {
            LogDenied(subscriber, filter.ToString(), decision.Reason);
            return new SubscribeResult(null, decision);
        }
        var created = _time.GetUtcNow();
        var id = _store.InsertSubscription(new StoredSubscription(0, subscriber, transport.Name, filter, transportState, expires, created));
        var subscription = new Subscription(id, subscriber, filter, transport)
        {
            TransportState = transportState,
            Expires = expires,
        };
        _active.Add(subscription);
        try
        {
            await _dispatcher.ActivateAsync(subscription).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            // Shutting down: keep it stored (restored at next start), but it is not live now.
            _active.TryRemove(id, out _);
            throw;
        }
        _heartbeats.Add(subscription);
        LogSubscribed(id, subscriber, filter.ToString(), transport.Name, decision.Reason);
        return new SubscribeResult(subscription, decision);
    }

    /// <summary>Sets a new expiry (a SIP re-SUBSCRIBE, an XMPP renewal); false for an unknown id.</summary>
    public bool Refresh(long id, DateTimeOffset? expires)
    {
        if (!_active.TryGet(id, out var s))
        {
            return false;
        }
        lock (s)
        {
            s.Expires = expires;
            return _store.UpdateSubscription(id, expires, s.TransportState);
        }
    }

    /// <summary>Stores new transport state (e.g. the SIP dialog's CSeq); false for an unknown id.</summary>
    public bool UpdateTransportState(long id, string? state)
    {
        if (!_active.TryGet(id, out var s))
        {
            return false;
        }
        lock (s)
        {
            s.TransportState = state;
            return _store.UpdateSubscription(id, s.Expires, state);
        }
    }

    /// <summary>Ends a subscription; <paramref name="reason"/> is logged. False for an unknown id.</summary>
    public bool Unsubscribe(long id, string reason)
    {
        if (!_active.TryRemove(id, out var s))
        {
            return false;
        }
        _registry.Remove(s);
        _dispatcher.EnqueueDeactivate(s);
        _heartbeats.Remove(s);
        _store.DeleteSubscription(id);
        LogUnsubscribed(id, s.Subscriber, reason);
        return true;
    }

    /// <summary>Removes subscriptions past their expiry (the transports expire their own first; this is a safety net).</summary>
    public int SweepExpired()
    {
        var now = _time.GetUtcNow();
        var removed = 0;
        foreach (var s in _active.Snapshot())
        {
            if (s.Expires is { } e && e <= now && Unsubscribe(s.Id, "expired"))
            {
                removed++;
            }
        }
        return removed;
    }

    /// <summary>
    /// At start: loads stored subscriptions and gives each to the transport of the same name.
    /// Those for a transport not configured here stay stored and inactive (logged once per
    /// transport); expired ones are deleted. No Initial notification is sent for restored ones.
    /// </summary>
    public int Restore()
    {
        var byName = new Dictionary<string, INotificationTransport>(StringComparer.Ordinal);
        foreach (var t in _transports)
        {
            byName.TryAdd(t.Name, t);
        }
        var now = _time.GetUtcNow();
        var restored = 0;
        var missing = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var stored in _store.LoadSubscriptions())
        {
            if (stored.Expires is { } e && e <= now)
            {
                _store.DeleteSubscription(stored.Id);
                continue;
            }
            if (!byName.TryGetValue(stored.Transport, out var transport))
            {
                lock (_lock)
                {
                    _inactive.Add(stored);
                }
                missing[stored.Transport] = missing.GetValueOrDefault(stored.Transport) + 1;
                continue;
            }
            var s = new Subscription(stored.Id, stored.Subscriber, stored.Filter, transport)
            {
                TransportState = stored.TransportState,
                Expires = stored.Expires,
            };
            _active.Add(s);
            _registry.Add(s);
            _heartbeats.Add(s);
            restored++;
        }
        foreach (var (name, n) in missing)
        {
            LogTransportMissing(n, name);
        }
        return restored;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscription denied for {Subscriber} on {Filter}: {Reason}")]
    private partial void LogDenied(string subscriber, string filter, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscription #{Id} for {Subscriber} on {Filter} via {Transport} ({Reason})")]
    private partial void LogSubscribed(long id, string subscriber, string filter, string transport, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscription #{Id} for {Subscriber} ended: {Reason}")]
    private partial void LogUnsubscribed(long id, string subscriber, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} stored subscriptions belong to transport '{Transport}', which is not configured here: kept stored, inactive")]
    private partial void LogTransportMissing(int count, string transport);
}

/// <summary>The manager's view of the heartbeat scheduler: subscriptions with a heartbeat interval join and leave it.</summary>
public interface IHeartbeats
{
    void Add(Subscription subscription);

    void Remove(Subscription subscription);

    /// <summary>The interval a subscriber asking for <paramref name="requested"/> is granted (without a scheduler: as asked).</summary>
    TimeSpan Grant(TimeSpan requested) => requested;
}

/// <summary>Subscriptions that asked for a heartbeat interval join the <see cref="Heartbeats.HeartbeatScheduler"/>.</summary>
internal sealed class SchedulerHeartbeats(Heartbeats.HeartbeatScheduler scheduler) : IHeartbeats
{
    public void Add(Subscription subscription)
    {
        if (subscription.Filter.Heartbeat is { } interval)
        {
            scheduler.Add(subscription, interval);
        }
    }

    public void Remove(Subscription subscription) => scheduler.Remove(subscription);

    // Pna:Heartbeats:Min..Max (docs/configuration.md).
    public TimeSpan Grant(TimeSpan requested) => scheduler.Clamp(requested);
}
