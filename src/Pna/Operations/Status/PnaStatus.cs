using Aggregators.EventModel;
using Aggregators.ImapBridge.Watching;
using Aggregators.Pna.Heartbeats;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Operations.Status;

/// <summary>
/// What the PNA is doing right now, for <c>GET /v1/status</c> and the <c>/status</c> page: is it
/// working, and for whom (docs/configuration.md "Status page").
/// </summary>
public sealed record PnaStatus(
    DateTimeOffset GeneratedAt,
    DateTimeOffset StartedAt,
    bool Ready,
    bool BridgeEnabled,
    IReadOnlyList<AccountStatus> Accounts,
    IReadOnlyList<TransportStatus> Transports,
    RateSeries Rates,
    IReadOnlyList<RecentError> Errors)
{
    /// <summary>Why the PNA is not ready, as GET /readyz says it (empty when <see cref="Ready"/>).</summary>
    public IReadOnlyList<string> NotReadyReasons { get; init; } = [];
}

/// <summary>An account the PNA knows from events or watches through the co-hosted bridge.</summary>
public sealed record AccountStatus(string Account, IReadOnlyList<WatcherView> Watchers, IReadOnlyList<MailboxView> Mailboxes, int Subscriptions);

/// <summary>A bridge watcher's state (ImapBridge <see cref="WatcherStatus"/>).</summary>
public sealed record WatcherView(
    string Server,
    string State,
    bool Notify,
    DateTimeOffset? WatchingSince,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    long EventsDelivered,
    IReadOnlyList<string> Discovery);

public sealed record MailboxView(string Mailbox, long? Messages, long? Unseen, long? UidNext, long? UidValidity, string? LastEvent, DateTimeOffset? LastEventTime);

/// <summary>Subscriptions of one transport ("sip", "xmpp", …) with their heartbeat health.</summary>
public sealed record TransportStatus(string Transport, int Active, int HeartbeatsOk, int HeartbeatsLate, IReadOnlyList<SubscriptionView> Subscriptions);

/// <param name="Heartbeat">"none" (not asked for), "ok" (notified within the interval), "late" (overdue), "pending" (nothing sent yet).</param>
public sealed record SubscriptionView(
    long Id,
    string Subscriber,
    string Account,
    string Mailbox,
    string Depth,
    double? HeartbeatSeconds,
    string Heartbeat,
    double? LastNotifiedSecondsAgo,
    DateTimeOffset? Expires,
    long Sequence);

/// <summary>Builds <see cref="PnaStatus"/> from the PNA's services (read-only snapshots; no locks held across them).</summary>
public sealed class PnaStatusReporter(IServiceProvider services, TimeProvider time, RateHistory rates, RecentErrors errors)
{
    /// <summary>A heartbeat is "late" once this much past its interval (transport and timer-wheel slack).</summary>
    public static readonly TimeSpan HeartbeatGrace = TimeSpan.FromSeconds(5);

    private readonly DateTimeOffset _startedAt = time.GetUtcNow();

    public PnaStatus Build()
    {
        var now = time.GetUtcNow();
        var state = services.GetRequiredService<MailboxStateStore>();
        var manager = services.GetRequiredService<SubscriptionManager>();
        var lifecycle = services.GetRequiredService<PnaLifecycle>();
        var ingest = services.GetRequiredService<EventIngest>();
        var heartbeatOptions = services.GetService<IOptions<HeartbeatOptions>>()?.Value;
        var bridge = services.GetService<BridgeService>();

        var watchers = (bridge?.Status ?? []).ToLookup(w => w.Account, StringComparer.Ordinal);
        var subscriptions = manager.Snapshot();
        var perAccount = subscriptions.GroupBy(s => s.Filter.Account.Value, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);

        var names = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var a in state.GetAccounts())
        {
            names.Add(a.Value);
        }
        foreach (var w in watchers)
        {
            names.Add(w.Key);
        }
        var accounts = names.Select(name => new AccountStatus(
            name,
            watchers[name].Select(w => new WatcherView(w.Server, w.State.ToString(), w.NotifyMode, w.WatchingSince, w.LastError, w.LastErrorAt, w.EventsDelivered, w.Discovery)).ToArray(),
            AccountId.TryParse(name, out var id, out _)
                ? state.GetAccount(id).OrderBy(m => m.Mailbox.Value, StringComparer.Ordinal).Select(m => new MailboxView(
                    m.Mailbox.Value, m.Totals?.Messages, m.Totals?.Unseen, m.Totals?.UidNext, m.Totals?.UidValidity,
                    m.LastEventType is { } t ? MailEventTypes.ToRfcName(t) : null, m.LastEventTime)).ToArray()
                : [],
            perAccount.GetValueOrDefault(name))).ToArray();

        var transports = subscriptions.GroupBy(s => s.Transport.Name, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g =>
            {
                var views = g.OrderBy(s => s.Id).Select(s => View(s, heartbeatOptions)).ToArray();
                return new TransportStatus(g.Key, views.Length, views.Count(v => v.Heartbeat == "ok"), views.Count(v => v.Heartbeat == "late"), views);
            }).ToArray();

        // The same reasons as GET /readyz.
        var notReady = new List<string>();
        if (!lifecycle.Ready)
        {
            notReady.Add("pna: store or dispatcher not running");
        }
        if (!ingest.Accepting)
        {
            notReady.Add("ingest: not accepting events (shutting down)");
        }
        notReady.AddRange(services.GetServices<IReadinessCheck>().Select(c => c.NotReadyReason is { } r ? c.Name + ": " + r : null).OfType<string>());
        return new PnaStatus(now, _startedAt, notReady.Count == 0, bridge is not null, accounts, transports, rates.Snapshot(), errors.Snapshot())
        {
            NotReadyReasons = notReady,
        };
    }

    private SubscriptionView View(Subscription s, HeartbeatOptions? options)
    {
        var last = Volatile.Read(ref s.LastNotifiedTicks);
        TimeSpan? ago = last == 0 ? null : time.GetElapsedTime(last);
        var heartbeat = "none";
        TimeSpan? interval = s.Filter.Heartbeat;
        if (interval is { } requested)
        {
            // The scheduler clamps requests to Pna:Heartbeats:Min..Max.
            interval = options is null ? requested : TimeSpan.FromTicks(Math.Clamp(requested.Ticks, options.Min.Ticks, options.Max.Ticks));
            var slack = HeartbeatGrace + (options?.Tick ?? TimeSpan.Zero) * 2;
            heartbeat = ago is null ? "pending" : ago <= interval + slack ? "ok" : "late";
        }
        return new SubscriptionView(
            s.Id, s.Subscriber, s.Filter.Account.Value, s.Filter.Mailbox.Value,
            s.Filter.Depth == SubscriptionDepth.One ? "1" : "infinity",
            interval?.TotalSeconds, heartbeat, ago?.TotalSeconds, s.Expires, Interlocked.Read(ref s.Sequence));
    }
}
