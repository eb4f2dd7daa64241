using System.Diagnostics.Metrics;
using Aggregators.Pna.Operations;
using Aggregators.Pna.Storage;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Aggregators.Pna.Alerts;

/// <summary>What happened to one target of a submitted alert.</summary>
public sealed record AlertOutcome(string Target, long Id, AlertStatus Status, string? Reason, long? FoldedInto, bool Repeat);

/// <summary>
/// Unsolicited alerts (issue 7, docs/alerts.md). <see cref="Submit"/> decides for each target, in
/// this order: a repeat of a client id returns the earlier alert; consent; folding into an
/// identical recent alert; the source's and the target's rate limits; room in the queue. Every
/// alert is stored with an id whatever the decision, so an admin sees each refusal and its reason.
/// Accepted alerts are delivered by their scheme's <see cref="IAlertChannel"/>, retried with
/// exponential backoff (Polly) while failures are temporary, until delivered, refused or expired.
/// </summary>
public sealed partial class AlertService : IHostedService, IDisposable
{
    private readonly AlertOptions _options;
    private readonly IAlertStore _store;
    private readonly Dictionary<string, IAlertChannel> _channels;
    private readonly AlertConsent _consent;
    private readonly AlertRateLimiter _perTarget;
    private readonly AlertRateLimiter _perSource;
    private readonly AlertFolding _folding;
    private readonly TimeProvider _time;
    private readonly ILogger<AlertService> _logger;
    private readonly Counter<long> _received;
    private readonly Counter<long> _final;
    private readonly Lock _intake = new();
    private readonly SemaphoreSlim _sending = new(16);
    private readonly CancellationTokenSource _stopping = new();
    private readonly List<Task> _running = [];
    private int _pending;
    private Task? _retention;

    public AlertService(
        AlertOptions options,
        IAlertStore store,
        IEnumerable<IAlertChannel> channels,
        AlertConsent consent,
        TimeProvider time,
        PnaMetrics metrics,
        ILogger<AlertService> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(metrics);
        _options = options;
        _store = store;
        _channels = channels.ToDictionary(c => c.Scheme, StringComparer.Ordinal);
        _consent = consent;
        _time = time;
        _logger = logger;
        _perTarget = new AlertRateLimiter(options.PerTarget, time);
        _perSource = new AlertRateLimiter(options.PerSource, time);
        _folding = new AlertFolding(options.FoldWindow, time);
        _received = metrics.Meter.CreateCounter<long>("pna.alerts.received", "{alert}", "Alerts received (one per target), by source");
        _final = metrics.Meter.CreateCounter<long>("pna.alerts.final", "{alert}", "Alerts that reached a final status, by status and reason class");
        metrics.Meter.CreateObservableGauge("pna.alerts.pending", () => (long)Volatile.Read(ref _pending), "{alert}", "Alerts queued for delivery or waiting for a retry");
    }

    /// <summary>Alerts being delivered or waiting for a retry.</summary>
    public int Pending => Volatile.Read(ref _pending);

    public AlertRecord? Get(long id) => _store.GetAlert(id);

    public IReadOnlyList<AlertRecord> List(AlertStatus? status, string? target, long? before, int limit) =>
        _store.ListAlerts(status, target, before, limit);

    public IReadOnlyDictionary<AlertStatus, long> Counts() => _store.CountAlerts();

    public IReadOnlyList<AlertOutcome> Submit(AlertRequest request, string source)
    {
        ArgumentNullException.ThrowIfNull(request);
        ArgumentNullException.ThrowIfNull(source);
        var outcomes = new List<AlertOutcome>(request.Targets.Count);
        var toDeliver = new List<(AlertRecord, AlertTarget)>();
        lock (_intake)
        {
            foreach (var target in request.Targets)
            {
                _received.Add(1, new KeyValuePair<string, object?>("source", source));
                if (request.ClientId is { } clientId && _store.FindAlertByClientId(source, clientId, target.Key) is { } earlier)
                {
                    outcomes.Add(new(target.Key, earlier.Id, earlier.Status, earlier.Reason, earlier.FoldedInto, Repeat: true));
                    continue;
                }
                var now = _time.GetUtcNow();
                var record = new AlertRecord
                {
                    Source = source,
                    ClientId = request.ClientId,
                    Target = target.Key,
                    Text = request.Text,
                    Importance = request.Importance,
                    Account = request.Account?.Value,
                    Mailbox = request.Mailbox?.Value ?? (request.Account is null ? null : "INBOX"),
                    ImapUrl = request.ImapUrl,
                    From = request.From,
                    Subject = request.Subject,
                    Status = AlertStatus.Queued,
                    Created = now,
                    Updated = now,
                    Expires = now + _options.Expiry,
                };
                var (status, reason, foldedInto, reasonClass) = Decide(target, request, source);
                record = record with { Status = status, Reason = reason, FoldedInto = foldedInto };
                var id = _store.InsertAlert(record);
                record = record with { Id = id };
                outcomes.Add(new(target.Key, id, status, reason, foldedInto, Repeat: false));
                if (status == AlertStatus.Queued)
                {
                    _folding.Remember(target, request, id);
                    Interlocked.Increment(ref _pending);
                    toDeliver.Add((record, target));
                    LogAccepted(id, target.Key, source);
                }
                else
                {
                    Final(record, status, reason, reasonClass);
                }
            }
        }
        foreach (var (record, target) in toDeliver)
        {
            Start(record, target);
        }
        return outcomes;
    }

    private (AlertStatus, string?, long?, string) Decide(AlertTarget target, AlertRequest request, string source)
    {
        var consent = _consent.Decide(target, source, request.From, request.Account, request.Mailbox);
        if (!consent.Allowed)
        {
            return (AlertStatus.Refused, consent.Reason, null, "consent");
        }
        if (_folding.Find(target, request) is { } earlier)
        {
            return (AlertStatus.Folded, $"folded into {earlier}", earlier, "folded");
        }
        if (!_channels.ContainsKey(target.Scheme))
        {
            return (AlertStatus.Refused, $"no {target.Scheme}: alert channel in this PNA", null, "no_channel");
        }
        if (!_perSource.TryTake(source))
        {
            return (AlertStatus.Refused,
                $"rate limit of source '{source}' exceeded (Pna:Alerts:PerSource: {_options.PerSource.Burst} at once, {_options.PerSource.PerMinute} a minute)", null, "rate_source");
        }
        if (!_perTarget.TryTake(target.Key))
        {
            _perSource.Return(source);
            return (AlertStatus.Refused,
                $"rate limit of {target.Key} exceeded (Pna:Alerts:PerTarget: {_options.PerTarget.Burst} at once, {_options.PerTarget.PerMinute} a minute)", null, "rate_target");
        }
        if (Volatile.Read(ref _pending) >= _options.MaxPending)
        {
            _perSource.Return(source);
            _perTarget.Return(target.Key);
            return (AlertStatus.Refused, $"delivery queue full ({_options.MaxPending} alerts pending, Pna:Alerts:MaxPending)", null, "queue_full");
        }
        return (AlertStatus.Queued, null, null, "");
    }

    private void Start(AlertRecord record, AlertTarget target)
    {
        var task = Task.Run(() => DeliverAsync(record, target));
        lock (_running)
        {
            _running.RemoveAll(t => t.IsCompleted);
            _running.Add(task);
        }
    }

    private async Task DeliverAsync(AlertRecord record, AlertTarget target)
    {
        var channel = _channels[target.Scheme];
        var attempts = record.Attempts;
        var last = "";
        var remaining = record.Expires - _time.GetUtcNow();
        using var expiry = new CancellationTokenSource(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(expiry.Token, _stopping.Token);
        var pipeline = new ResiliencePipelineBuilder<DeliveryOutcome> { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions<DeliveryOutcome>
            {
                ShouldHandle = args => ValueTask.FromResult(
                    args.Outcome.Exception is { } e ? e is not OperationCanceledException : args.Outcome.Result.Result == DeliveryResult.Temporary),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.RetryDelay,
                MaxDelay = _options.MaxRetryDelay,
                OnRetry = args =>
                {
                    LogRetry(record.Id, target.Key, last, args.RetryDelay.TotalSeconds);
                    _store.UpdateAlert(record.Id, AlertStatus.Queued, "retrying: " + last, null, attempts, _time.GetUtcNow());
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        DeliveryOutcome outcome;
        try
        {
            outcome = await pipeline.ExecuteAsync(async ct =>
            {
                await _sending.WaitAsync(ct).ConfigureAwait(false);
                try
                {
                    attempts++;
                    DeliveryOutcome result;
                    try
                    {
                        result = await channel.SendAsync(record, target, ct).ConfigureAwait(false);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                        result = DeliveryOutcome.Temporary($"{e.GetType().Name}: {e.Message}");
                    }
                    last = result.Reason;
                    return result;
                }
                finally
                {
                    _sending.Release();
                }
            }, linked.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Shutting down: stays queued and is delivered after the next start.
            _store.UpdateAlert(record.Id, AlertStatus.Queued, last.Length > 0 ? "retrying: " + last : null, null, attempts, _time.GetUtcNow());
            Interlocked.Decrement(ref _pending);
            return;
        }
        catch (OperationCanceledException)
        {
            outcome = new DeliveryOutcome(DeliveryResult.Temporary, "");
        }
        Interlocked.Decrement(ref _pending);
        var (status, reason, reasonClass) = outcome.Result switch
        {
            DeliveryResult.Delivered => (AlertStatus.Delivered, outcome.Reason, "delivered"),
            DeliveryResult.Permanent => (AlertStatus.Refused, outcome.Reason, "refused_by_target"),
            _ => (AlertStatus.Expired,
                $"not delivered within Pna:Alerts:Expiry ({_options.Expiry}) after {attempts} attempt(s)" + (last.Length > 0 ? "; last: " + last : ""), "expired"),
        };
        _store.UpdateAlert(record.Id, status, reason, null, attempts, _time.GetUtcNow());
        Final(record with { Attempts = attempts }, status, reason, reasonClass);
    }

    /// <summary>
    /// A delivered alert came back with an error (an XMPP bounce): it is refused after all, and the
    /// status says so. False when the id is not a delivered alert.
    /// </summary>
    public bool ReportBounce(long id, string reason)
    {
        if (_store.GetAlert(id) is not { Status: AlertStatus.Delivered } alert)
        {
            return false;
        }
        var why = "bounced after delivery: " + reason;
        _store.UpdateAlert(id, AlertStatus.Refused, why, null, alert.Attempts, _time.GetUtcNow());
        Final(alert, AlertStatus.Refused, why, "bounced");
        return true;
    }

    private void Final(AlertRecord record, AlertStatus status, string? reason, string reasonClass)
    {
        _final.Add(1, new KeyValuePair<string, object?>("status", AlertRecord.StatusName(status)), new KeyValuePair<string, object?>("reason", reasonClass));
        switch (status)
        {
            case AlertStatus.Delivered:
                LogDelivered(record.Id, record.Target, record.Source, record.Attempts, reason ?? "");
                break;
            case AlertStatus.Folded:
                LogFolded(record.Id, record.Target, record.Source, record.FoldedInto ?? 0);
                break;
            default:
                LogNotDelivered(record.Id, record.Target, record.Source, AlertRecord.StatusName(status), reasonClass, reason ?? "");
                break;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken)
    {
        var restored = 0;
        foreach (var record in _store.LoadQueuedAlerts())
        {
            if (!AlertTarget.TryParse(record.Target, out var target, out var error) || !_channels.ContainsKey(target.Scheme))
            {
                var reason = $"cannot be delivered by this PNA: {error ?? $"no {record.Target.Split(':')[0]}: alert channel"}";
                _store.UpdateAlert(record.Id, AlertStatus.Refused, reason, null, record.Attempts, _time.GetUtcNow());
                Final(record, AlertStatus.Refused, reason, "no_channel");
                continue;
            }
            Interlocked.Increment(ref _pending);
            Start(record, target);
            restored++;
        }
        if (restored > 0)
        {
            LogRestored(restored);
        }
        _retention = Task.Run(() => RetainAsync(_stopping.Token), CancellationToken.None);
        return Task.CompletedTask;
    }

    private async Task RetainAsync(CancellationToken stop)
    {
        using var timer = new PeriodicTimer(TimeSpan.FromHours(1), _time);
        do
        {
            try
            {
                var deleted = _store.DeleteAlertsBefore(_time.GetUtcNow() - _options.Retention);
                if (deleted > 0)
                {
                    LogDeleted(deleted);
                }
            }
            catch (InvalidOperationException)
            {
                return; // the store closed
            }
        }
        while (await SafeWaitAsync(timer, stop).ConfigureAwait(false));
    }

    private static async Task<bool> SafeWaitAsync(PeriodicTimer timer, CancellationToken stop)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stop).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        Task[] running;
        lock (_running)
        {
            running = [.. _running];
        }
        if (_retention is not null)
        {
            running = [.. running, _retention];
        }
        try
        {
            await Task.WhenAll(running).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout: what is left stays queued in the store.
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _sending.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Id} to {Target} from source '{Source}' accepted")]
    private partial void LogAccepted(long id, string target, string source);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Id} to {Target} from source '{Source}' delivered after {Attempts} attempt(s): {Reason}")]
    private partial void LogDelivered(long id, string target, string source, int attempts, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Id} to {Target} from source '{Source}' folded into {FoldedInto}")]
    private partial void LogFolded(long id, string target, string source, long foldedInto);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Alert {Id} to {Target} from source '{Source}' {Status} ({ReasonClass}): {Reason}")]
    private partial void LogNotDelivered(long id, string target, string source, string status, string reasonClass, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Alert {Id} to {Target}: {Reason}; retry in {DelaySeconds:0.0} s")]
    private partial void LogRetry(long id, string target, string reason, double delaySeconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} queued alert(s) restored from the store")]
    private partial void LogRestored(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Count} alert(s) past Pna:Alerts:Retention deleted")]
    private partial void LogDeleted(int count);
}
