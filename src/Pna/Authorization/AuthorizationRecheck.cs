using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Authorization;

/// <summary>
/// Makes a revoked right stop notifications within the authorization cache expiry, not only at
/// the next subscribe or refresh (issue 3, item 9). Every live subscription is authorized again
/// when the answer it rests on expires (<see cref="AuthorizationDecision.ValidUntil"/>: the end of
/// the IMAP ACL cache entry); the re-ask runs here in the background, never on the dispatch path.
/// A subscription whose answer became a definite deny is revoked through its transport
/// (<see cref="IRevocableTransport"/>: SIP <c>terminated;reason=rejected</c>, XMPP
/// <c>subscription='none'</c>). An answer that could not be had (IMAP server unreachable) keeps the
/// subscription and is asked again after <see cref="UnavailableRetry"/>: a mail server restart must not end every
/// subscription. Answers without an expiry (configured grants) are never asked again.
/// </summary>
public sealed partial class AuthorizationRecheck : BackgroundService
{
    /// <summary>How often new subscriptions are picked up (their first re-check reads the cached answer of their subscribe).</summary>
    public static readonly TimeSpan ScanInterval = TimeSpan.FromSeconds(1);

    /// <summary>Re-ask after an unavailable answer.</summary>
    public static readonly TimeSpan UnavailableRetry = TimeSpan.FromSeconds(5);

    /// <summary>Never re-ask one subscription more often than this (a cache of 0 seconds).</summary>
    public static readonly TimeSpan MinimumInterval = TimeSpan.FromSeconds(1);

    /// <summary>Lookups at once: each may be one IMAP connection.</summary>
    public const int Parallelism = 8;

    private readonly IAuthorizationPolicy _policy;
    private readonly SubscriptionManager _subscriptions;
    private readonly TimeProvider _time;
    private readonly ILogger<AuthorizationRecheck> _logger;

    // Touched by one pass at a time (the loop, or a test calling RunOnceAsync).
    private readonly Dictionary<long, Tracked> _tracked = [];
    private readonly SemaphoreSlim _pass = new(1, 1);

    public AuthorizationRecheck(IAuthorizationPolicy policy, SubscriptionManager subscriptions, TimeProvider time, ILogger<AuthorizationRecheck> logger)
    {
        _policy = policy;
        _subscriptions = subscriptions;
        _time = time;
        _logger = logger;
    }

    /// <summary>Subscriptions revoked since start.</summary>
    public long Revoked { get; private set; }

    /// <summary>
    /// One pass: picks up new subscriptions, forgets ended ones, authorizes again those whose
    /// answer expired and revokes those now denied. Returns how many were revoked.
    /// </summary>
    public async Task<int> RunOnceAsync(CancellationToken cancellationToken)
    {
        await _pass.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await PassAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pass.Release();
        }
    }

    public override void Dispose()
    {
        _pass.Dispose();
        base.Dispose();
    }

    private async Task<int> PassAsync(CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var live = _subscriptions.Snapshot();
        var due = new List<Subscription>();
        var liveIds = new HashSet<long>();
        foreach (var s in live)
        {
            liveIds.Add(s.Id);
            if (!_tracked.TryGetValue(s.Id, out var t) || !ReferenceEquals(t.Subscription, s))
            {
                due.Add(s); // new (or restored): its first answer is normally the cached one of its subscribe
            }
            else if (t.Due is { } d && d <= now)
            {
                due.Add(s);
            }
        }
        if (_tracked.Count > liveIds.Count || _tracked.Keys.Any(id => !liveIds.Contains(id)))
        {
            foreach (var id in _tracked.Keys.Where(id => !liveIds.Contains(id)).ToList())
            {
                _tracked.Remove(id);
            }
        }
        if (due.Count == 0)
        {
            return 0;
        }

        var answers = new AuthorizationDecision[due.Count];
        await Parallel.ForAsync(0, due.Count, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = cancellationToken },
            async (i, ct) =>
            {
                var s = due[i];
                answers[i] = await _policy.AuthorizeAsync(s.Subscriber, s.Filter.Account, s.Filter.Mailbox, ct).ConfigureAwait(false);
            }).ConfigureAwait(false);

        var revoked = 0;
        now = _time.GetUtcNow();
        for (var i = 0; i < due.Count; i++)
        {
            var s = due[i];
            var a = answers[i];
            if (a.Allowed)
            {
                _tracked[s.Id] = new Tracked(s, a.ValidUntil is { } v ? Max(v, now + MinimumInterval) : null);
            }
            else if (a.Unavailable)
            {
                _tracked[s.Id] = new Tracked(s, now + UnavailableRetry);
                LogUnavailable(s.Id, s.Subscriber, a.Reason);
            }
            else
            {
                if (_subscriptions.Get(s.Id) is null)
                {
                    _tracked.Remove(s.Id);
                    continue; // ended meanwhile
                }
                // Not asked again while its transport ends it (a SIP dialog ends when the final NOTIFY is answered).
                _tracked[s.Id] = new Tracked(s, null);
                revoked++;
                Revoked++;
                LogRevoked(s.Id, s.Subscriber, s.Filter.ToString(), a.Reason);
                var why = "authorization withdrawn: " + a.Reason;
                if (s.Transport is IRevocableTransport transport)
                {
                    transport.Revoke(s, why);
                }
                else
                {
                    _subscriptions.Unsubscribe(s.Id, why);
                }
            }
        }
        return revoked;
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // a failed pass is logged; the next one runs
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogFailed(e);
            }
            try
            {
                await Task.Delay(NextWait(), _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Until the earliest expiry, at most <see cref="ScanInterval"/>: a revoked right is seen at the expiry itself.</summary>
    private TimeSpan NextWait()
    {
        var now = _time.GetUtcNow();
        var wait = ScanInterval;
        _pass.Wait();
        try
        {
            foreach (var t in _tracked.Values)
            {
                if (t.Due is { } d && d - now < wait)
                {
                    wait = d - now;
                }
            }
        }
        finally
        {
            _pass.Release();
        }
        return wait < TimeSpan.FromMilliseconds(10) ? TimeSpan.FromMilliseconds(10) : wait;
    }

    private static DateTimeOffset Max(DateTimeOffset a, DateTimeOffset b) => a > b ? a : b;

    private readonly record struct Tracked(Subscription Subscription, DateTimeOffset? Due);

    [LoggerMessage(Level = LogLevel.Information, Message = "Subscription #{Id} for {Subscriber} on {Filter} revoked: {Reason}")]
    private partial void LogRevoked(long id, string subscriber, string filter, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription #{Id} for {Subscriber} kept: its authorization could not be checked again ({Reason}); retrying")]
    private partial void LogUnavailable(long id, string subscriber, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Authorization re-check pass failed")]
    private partial void LogFailed(Exception exception);
}
