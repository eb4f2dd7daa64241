using System.Collections.Concurrent;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Aggregators.Cna.Sip;

/// <summary>
/// The upstream subscriptions: one per <see cref="UpstreamKey"/>, created by the first local
/// subscriber and ended upstream when the last one leaves. Each runs a loop: subscribe (retrying
/// with exponential backoff and jitter while the PNA is unreachable), live until the subscription
/// ends or the watchdog finds the PNA silent for two heartbeat intervals, mark stale, subscribe
/// again. A refusal for good (403, 404, terminated;reason=rejected …) ends the local
/// subscriptions with the same reason (docs/cna.md).
/// </summary>
internal sealed partial class UpstreamPool : IDisposable
{
    private readonly Lock _gate = new();
    private readonly Dictionary<UpstreamKey, UpstreamSubscription> _upstreams = [];
    private readonly SipSubscriber _subscriber;
    private readonly ConcurrentDictionary<SipTransportProtocol, ISipTransport> _transports;
    private readonly CnaSipOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ITimer _watchdog;
    private long _subscribesStarted;
    private long _resubscribes;

    public UpstreamPool(SipSubscriber subscriber, ConcurrentDictionary<SipTransportProtocol, ISipTransport> transports, CnaSipOptions options, TimeProvider time, ILogger logger)
    {
        _subscriber = subscriber;
        _transports = transports;
        _options = options;
        _time = time;
        _logger = logger;
        var tick = TimeSpan.FromSeconds(Math.Clamp(options.HeartbeatSeconds / 4.0, 0.1, 5));
        _watchdog = time.CreateTimer(static p => ((UpstreamPool)p!).CheckSilence(), this, tick, tick);
    }

    public int Count
    {
        get
        {
            lock (_gate)
            {
                return _upstreams.Count;
            }
        }
    }

    /// <summary>SUBSCRIBEs started upstream (first attempts and re-subscriptions).</summary>
    public long SubscribesStarted => Interlocked.Read(ref _subscribesStarted);

    /// <summary>Re-subscriptions after a failure or silence.</summary>
    public long Resubscribes => Interlocked.Read(ref _resubscribes);

    public IReadOnlyList<UpstreamSubscription> Snapshot()
    {
        lock (_gate)
        {
            return [.. _upstreams.Values];
        }
    }

    /// <summary>Attaches a local dialog to the upstream subscription for <paramref name="key"/>, starting it if new.</summary>
    public UpstreamSubscription Attach(UpstreamKey key, Func<UpstreamTarget> target, LocalDialog local, ILocalNotifier notifier)
    {
        UpstreamSubscription upstream;
        var start = false;
        lock (_gate)
        {
            if (!_upstreams.TryGetValue(key, out upstream!))
            {
                upstream = new UpstreamSubscription(key, target(), notifier);
                _upstreams[key] = upstream;
                start = true;
            }
            upstream.Add(local);
            local.Upstream = upstream;
        }
        if (start)
        {
            upstream.LastHeard = _time.GetTimestamp();
            _ = Task.Run(() => RunAsync(upstream));
        }
        return upstream;
    }

    /// <summary>Detaches a local dialog; the last one leaving ends the upstream subscription (RFC 6665 §4.1.2.3).</summary>
    public void Detach(LocalDialog local)
    {
        if (local.Upstream is not { } upstream)
        {
            return;
        }
        lock (_gate)
        {
            if (!upstream.Remove(local) || upstream.Closed)
            {
                return;
            }
            upstream.Closed = true;
            _upstreams.Remove(upstream.Key);
        }
        LogClosed(upstream.Key.Resource, upstream.Key.Package);
        upstream.Stop.Cancel();
        upstream.CurrentAttempt?.Abandon(new SipSubscriptionEnd(SipSubscriptionEndKind.Unsubscribed));
    }

    private async Task RunAsync(UpstreamSubscription upstream)
    {
        var retry = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<UpstreamAttemptFailed>(f => f.End.MayRetry),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromSeconds(_options.RetryBaseDelaySeconds),
                MaxDelay = TimeSpan.FromSeconds(_options.RetryMaxDelaySeconds),
                MaxRetryAttempts = int.MaxValue,
                // §4.1.3 / RFC 3261 §20.33: the notifier's retry-after is the earliest time to try again.
                DelayGenerator = args => ValueTask.FromResult(
                    args.Outcome.Exception is UpstreamAttemptFailed { End.RetryAfter: { } after } ? (TimeSpan?)after : null),
                OnRetry = args =>
                {
                    upstream.FirstAnswer.TrySetResult(UpstreamFirstAnswer.Unavailable);
                    upstream.MarkStale();
                    LogRetry(upstream.Key.Resource, ((UpstreamAttemptFailed)args.Outcome.Exception!).End.ToString(), args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        var token = upstream.Stop.Token;
        try
        {
            while (!token.IsCancellationRequested)
            {
                Task<SipSubscriptionEnd> ended;
                try
                {
                    ended = await retry.ExecuteAsync(ct => AttemptAsync(upstream, ct), token).ConfigureAwait(false);
                }
                catch (UpstreamAttemptFailed refused)
                {
                    Revoke(upstream, refused.End);
                    return;
                }
                upstream.FirstAnswer.TrySetResult(UpstreamFirstAnswer.Fresh);
                var end = await ended.WaitAsync(token).ConfigureAwait(false);
                if (!end.MayRetry)
                {
                    Revoke(upstream, end);
                    return;
                }
                upstream.MarkStale();
                Interlocked.Increment(ref _resubscribes);
                LogResubscribe(upstream.Key.Resource, end.ToString());
            }
        }
        catch (OperationCanceledException)
        {
            // closed: the last local subscriber left
        }
#pragma warning disable CA1031 // a bug in one upstream's loop ends that upstream's locals, never the CNA
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogLoopFailed(e, upstream.Key.Resource);
            Revoke(upstream, new SipSubscriptionEnd(SipSubscriptionEndKind.Terminated, Reason: "giveup"));
        }
    }

    /// <summary>
    /// One SUBSCRIBE: completes (with the task of its end) at its first NOTIFY, throws
    /// <see cref="UpstreamAttemptFailed"/> when it ends before one.
    /// </summary>
    private async ValueTask<Task<SipSubscriptionEnd>> AttemptAsync(UpstreamSubscription upstream, CancellationToken token)
    {
        var target = upstream.Target;
        if (!_transports.TryGetValue(target.Protocol, out var transport))
        {
            throw new UpstreamAttemptFailed(new SipSubscriptionEnd(SipSubscriptionEndKind.TransportError, Reason: "no " + target.Protocol + " transport"));
        }
        var attempt = new UpstreamAttempt();
        Interlocked.Increment(ref _subscribesStarted);
        lock (upstream.Gate)
        {
            upstream.Attempts++;
            upstream.CurrentAttempt = attempt;
        }
        upstream.LastHeard = _time.GetTimestamp();
        attempt.Subscription = _subscriber.Subscribe(new SipSubscriptionOptions
        {
            RequestUri = target.RequestUri,
            From = target.From,
            Event = upstream.Key.Package,
            Accept = target.Accept,
            ContentType = target.ContentType,
            Body = target.Body,
            Expires = (uint)_options.UpstreamExpiresSeconds,
            // message-summary has no heartbeats: every refresh brings a NOTIFY (RFC 6665 §4.2.1.2), so refresh at the heartbeat interval.
            MaxRefreshInterval = upstream.IsMailEvent ? null : target.Heartbeat,
            Transport = transport,
            Destination = target.Destination,
            Credentials = target.Credentials(),
            ExtraHeaders = target.ExtraHeaders,
            OnNotify = (_, n) =>
            {
                if (attempt.Abandoned)
                {
                    return;
                }
                upstream.Received(n, _time.GetTimestamp());
                if (!n.IsTerminated)
                {
                    attempt.FirstNotify.TrySetResult();
                }
            },
            OnEnded = (_, end) => attempt.Ended.TrySetResult(end),
        });
        if (upstream.Closed)
        {
            attempt.Abandon(new SipSubscriptionEnd(SipSubscriptionEndKind.Unsubscribed)); // closed meanwhile
        }
        using var cancel = token.Register(() => attempt.Ended.TrySetCanceled(token));
        var done = await Task.WhenAny(attempt.FirstNotify.Task, attempt.Ended.Task).ConfigureAwait(false);
        if (done == attempt.FirstNotify.Task)
        {
            return attempt.Ended.Task;
        }
        token.ThrowIfCancellationRequested();
        throw new UpstreamAttemptFailed(await attempt.Ended.Task.ConfigureAwait(false));
    }

    /// <summary>The watchdog (docs/cna.md): an upstream silent for two heartbeat intervals is stale and subscribed again.</summary>
    internal void CheckSilence()
    {
        var now = _time.GetTimestamp();
        foreach (var upstream in Snapshot())
        {
            if (upstream.CurrentAttempt is not { Abandoned: false, Subscription.Status: SipSubscriptionStatus.Active or SipSubscriptionStatus.Pending } attempt)
            {
                continue;
            }
            // Two intervals of the PNA's granted heartbeat: it may have clamped the one asked (docs/cna.md).
            if (_time.GetElapsedTime(upstream.LastHeard, now) <= upstream.Interval * 2)
            {
                continue;
            }
            LogSilent(upstream.Key.Resource, upstream.Interval.TotalSeconds * 2);
            upstream.LastHeard = now;
            attempt.Abandon(new SipSubscriptionEnd(SipSubscriptionEndKind.Timeout, Reason: "silent"));
        }
    }

    /// <summary>Ends every local subscription of an upstream the PNA refused for good, with the same reason (docs/cna.md).</summary>
    private void Revoke(UpstreamSubscription upstream, SipSubscriptionEnd end)
    {
        lock (_gate)
        {
            upstream.Closed = true;
            if (_upstreams.TryGetValue(upstream.Key, out var u) && ReferenceEquals(u, upstream))
            {
                _upstreams.Remove(upstream.Key);
            }
        }
        var reason = ReasonOf(end);
        upstream.Refusal = end;
        upstream.FirstAnswer.TrySetResult(UpstreamFirstAnswer.Refused);
        LogRevoked(upstream.Key.Resource, end.ToString());
        upstream.TerminateAll(reason);
    }

    /// <summary>The Subscription-State reason for local subscribers (RFC 6665 §4.1.3): the PNA's own, or one from its response code.</summary>
    internal static string ReasonOf(SipSubscriptionEnd end) => end switch
    {
        { Kind: SipSubscriptionEndKind.Terminated, Reason: { } r } => r,
        { StatusCode: 404 or 410 or 416 or 484 } => "noresource",
        _ => "rejected",
    };

    public void Dispose()
    {
        _watchdog.Dispose();
        foreach (var u in Snapshot())
        {
            u.Stop.Cancel();
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Upstream {Resource}: subscription loop failed; local subscriptions end")]
    private partial void LogLoopFailed(Exception exception, string resource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream {Resource} ({Package}) ended: no local subscriber left")]
    private partial void LogClosed(string resource, string package);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream {Resource}: SUBSCRIBE failed ({End}), again in {Delay}")]
    private partial void LogRetry(string resource, string end, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream {Resource}: subscription ended ({End}), subscribing again; local state stale")]
    private partial void LogResubscribe(string resource, string end);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream {Resource}: nothing heard for {Seconds} s; local state stale, subscribing again")]
    private partial void LogSilent(string resource, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream {Resource}: refused by the PNA ({End}); local subscriptions end")]
    private partial void LogRevoked(string resource, string end);
}

/// <summary>An upstream SUBSCRIBE that ended before its first NOTIFY.</summary>
#pragma warning disable CA1064, CA1032 // internal control flow between the attempt and the retry pipeline
internal sealed class UpstreamAttemptFailed(SipSubscriptionEnd end) : Exception("upstream subscription failed: " + end)
#pragma warning restore CA1064, CA1032
{
    public SipSubscriptionEnd End { get; } = end;
}
