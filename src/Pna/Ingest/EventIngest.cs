using System.Threading.Channels;
using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using Aggregators.Pna.Dispatch;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Operations;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Ingest;

/// <summary>
/// The one path every event takes into the PNA, from HTTP or in-process: duplicate window,
/// metrics, and the bounded dispatch queue.
/// </summary>
public sealed partial class EventIngest : IEventIngest
{
    private readonly Dispatcher _dispatcher;
    private readonly DuplicateFilter _duplicates;
    private readonly PnaMetrics _metrics;
    private readonly IngestOptions _options;
    private readonly ILogger<EventIngest> _logger;
    private volatile bool _accepting = true;

    public EventIngest(Dispatcher dispatcher, PnaMetrics metrics, IOptions<PnaOptions> options, ILogger<EventIngest> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        _dispatcher = dispatcher;
        _metrics = metrics;
        _options = options.Value.Ingest;
        _duplicates = new DuplicateFilter(_options.DuplicateWindow);
        _logger = logger;
    }

    /// <summary>False once shutdown began: new submissions get <see cref="IngestStatus.ShuttingDown"/>.</summary>
    public bool Accepting => _accepting;

    public void StopAccepting() => _accepting = false;

    /// <summary>
    /// In-process path. Each event is checked with <see cref="MailEventJson.TryValidate"/>: the checks an
    /// HTTP body gets for the same event (same rules, same error messages), without encoding it to JSON
    /// and decoding it again; the normalised event is what is dispatched.
    /// </summary>
    public ValueTask<IngestResult> SubmitAsync(IReadOnlyList<MailEvent> events, string source, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        ArgumentException.ThrowIfNullOrEmpty(source);
        var batch = new DecodedBatch();
        for (var i = 0; i < events.Count; i++)
        {
            var original = events[i];
            if (original is null)
            {
                batch.Errors.Add(new EventError(i, null, "event is null"));
                continue;
            }
            bool valid;
            MailEvent? normalised;
            EventError? error;
            try
            {
                valid = MailEventJson.TryValidate(original, i, out normalised, out error);
            }
#pragma warning disable CA1031 // a malformed object from a buggy caller (a null list item) is one rejected event, not a failed batch
            catch (Exception ex)
#pragma warning restore CA1031
            {
                batch.Errors.Add(new EventError(i, null, "event is malformed: " + ex.Message));
                continue;
            }
            if (valid && normalised is not null)
            {
                batch.Events.Add((i, normalised));
            }
            else
            {
                batch.Errors.Add(error ?? new EventError(i, null, "event is invalid"));
            }
        }
        return AcceptAsync(batch, source, cancellationToken);
    }

    /// <summary>Queues the good events of a decoded batch and reports the bad ones.</summary>
    internal async ValueTask<IngestResult> AcceptAsync(DecodedBatch batch, string source, CancellationToken cancellationToken)
    {
        var rejected = batch.Errors;
        if (batch.FramingError is { } framing)
        {
            rejected = [.. batch.Errors, framing];
        }
        rejected.Sort((a, b) => a.Index.CompareTo(b.Index));
        var sourceTag = new KeyValuePair<string, object?>("source", source);
        if (rejected.Count > 0)
        {
            _metrics.EventsRejected.Add(rejected.Count, sourceTag);
        }
        if (!_accepting)
        {
            return IngestResult.Unavailable(IngestStatus.ShuttingDown, rejected);
        }
        var good = batch.Events;
        var received = new int[MailEventTypes.Count];
        var duplicates = new int[MailEventTypes.Count];
        var queue = new MailEvent[good.Count];
        var count = 0;
        List<string>? recorded = null;
        var window = _duplicates.Enabled ? _duplicates.For(source) : null;
        if (window is not null)
        {
            lock (window.Lock)
            {
                foreach (var (_, e) in good)
                {
                    received[(int)e.Type]++;
                    if (e.Id is { } id)
                    {
                        if (!window.TryAdd(id))
                        {
                            duplicates[(int)e.Type]++;
                            continue;
                        }
                        (recorded ??= []).Add(id);
                    }
                    queue[count++] = e;
                }
            }
        }
        else
        {
            foreach (var (_, e) in good)
            {
                received[(int)e.Type]++;
                queue[count++] = e;
            }
        }
        RecordByType(_metrics.EventsReceived, received, sourceTag);
        RecordByType(_metrics.EventsDuplicate, duplicates, sourceTag);
        var duplicateCount = good.Count - count;
        if (count == 0)
        {
            var status = rejected.Count > 0 ? IngestStatus.Rejected : IngestStatus.Accepted;
            return new IngestResult(status, 0, duplicateCount, rejected);
        }
        var failure = await EnqueueAsync(queue, count, cancellationToken).ConfigureAwait(false);
        if (failure is { } status2)
        {
            if (recorded is not null)
            {
                // Not queued: a retry of the same ids must not count as a duplicate.
                lock (window!.Lock)
                {
                    foreach (var id in recorded)
                    {
                        window.Forget(id);
                    }
                }
            }
            LogNotQueued(source, count, status2);
            return IngestResult.Unavailable(status2, rejected);
        }
        for (var t = 0; t < received.Length; t++)
        {
            received[t] -= duplicates[t];
        }
        RecordByType(_metrics.EventsAccepted, received, sourceTag);
        return new IngestResult(IngestStatus.Accepted, count, duplicateCount, rejected);
    }

    private async ValueTask<IngestStatus?> EnqueueAsync(MailEvent[] queue, int count, CancellationToken cancellationToken)
    {
        try
        {
            await _dispatcher.EnqueueAsync(queue, count, _options.EnqueueTimeout, cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (ChannelClosedException)
        {
            return IngestStatus.ShuttingDown;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return IngestStatus.Busy;
        }
    }

    private static void RecordByType(System.Diagnostics.Metrics.Counter<long> counter, ReadOnlySpan<int> byType, KeyValuePair<string, object?> sourceTag)
    {
        for (var t = 0; t < byType.Length; t++)
        {
            if (byType[t] > 0)
            {
                counter.Add(byType[t], sourceTag, new KeyValuePair<string, object?>("type", ((MailEventType)t).ToRfcName()));
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Batch of {Count} events from source {Source} not queued: {Status}")]
    private partial void LogNotQueued(string source, int count, IngestStatus status);
}
