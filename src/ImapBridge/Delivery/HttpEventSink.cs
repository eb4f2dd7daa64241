using System.Diagnostics.Metrics;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Aggregators.ImapBridge.Delivery;

/// <summary>
/// <see cref="IEventSink"/> that delivers to a PNA over HTTP (POST /v1/events, NDJSON; docs/ingest.md)
/// through a bounded durable queue (<see cref="DurableEventQueue"/>).
/// <see cref="DeliverAsync"/> returns once the events are committed to the queue file, which is the
/// at-least-once hand-off the watchers need; a background sender then posts the queue's head in
/// order and removes events only when the PNA answered for them. A crash or restart in between
/// sends them again: the PNA drops repeats by event id (docs/ingest.md "Duplicates").
/// Answers: 202 acknowledged (rejected events logged one by one); 400 not retried (each rejected
/// event logged, then dropped); 413 splits the batch in halves (a single event too large is
/// dropped with an error); 401/403/415 are configuration errors, logged as errors and retried
/// slowly; 503 honours Retry-After; other 5xx, timeouts and network errors back off
/// exponentially with jitter (Polly). When the queue is full, delivery waits for room up to
/// <see cref="HttpDeliveryOptions.QueueFullTimeout"/> and then throws
/// <see cref="EventQueueFullException"/>: the watcher backs off and resynchronises later.
/// </summary>
public sealed partial class HttpEventSink : BackgroundService, IEventSink
{
    public const string MeterName = "Aggregators.ImapBridge.Delivery";

    private static readonly MediaTypeHeaderValue Ndjson = new("application/x-ndjson");

    private readonly HttpDeliveryOptions _options;
    private readonly DurableEventQueue _queue;
    private readonly HttpClient _http;
    private readonly bool _ownsHttp;
    private readonly Uri _endpoint;
    private readonly string _token;
    private readonly ILogger _logger;
    private readonly ResiliencePipeline _retry;
    private readonly SemaphoreSlim _queued = new(0, int.MaxValue); // events were appended
    private readonly SemaphoreSlim _drained = new(0, int.MaxValue); // events were removed
    private readonly Meter _meter;
    private readonly Counter<long> _delivered;
    private readonly Counter<long> _duplicates;
    private readonly Counter<long> _rejected;
    private readonly Counter<long> _queueFull;
    private readonly Counter<long> _retries;

    public HttpEventSink(HttpDeliveryOptions options, DurableEventQueue queue, ILogger<HttpEventSink>? logger = null,
        HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(queue);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new InvalidOperationException("invalid HTTP delivery configuration: " + string.Join("; ", errors));
        }
        _options = options;
        _queue = queue;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _token = options.ResolveToken();
        _endpoint = new Uri(options.Url, "/v1/events");
        _ownsHttp = handler is null;
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }, disposeHandler: _ownsHttp)
        {
            Timeout = Timeout.InfiniteTimeSpan, // per request, below
        };
        _meter = new Meter(MeterName);
        _delivered = _meter.CreateCounter<long>("bridge_delivery_events_accepted_total", description: "events the PNA accepted");
        _duplicates = _meter.CreateCounter<long>("bridge_delivery_events_duplicate_total", description: "events the PNA had already seen (by id)");
        _rejected = _meter.CreateCounter<long>("bridge_delivery_events_rejected_total", description: "events the PNA refused as invalid, or too large; dropped");
        _queueFull = _meter.CreateCounter<long>("bridge_delivery_queue_full_total", description: "deliveries refused because the durable queue stayed full");
        _retries = _meter.CreateCounter<long>("bridge_delivery_retries_total", description: "POSTs retried after an error");
        _meter.CreateObservableGauge("bridge_delivery_queue_events", () => _queue.Count, description: "events waiting in the durable queue");
        _meter.CreateObservableGauge("bridge_delivery_queue_bytes", () => _queue.Bytes, description: "bytes waiting in the durable queue");
        _retry = new ResiliencePipelineBuilder { TimeProvider = time ?? TimeProvider.System }
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.RetryBaseDelay,
                MaxDelay = options.RetryMaxDelay,
                ShouldHandle = new PredicateBuilder().Handle<DeliveryRetryException>().Handle<HttpRequestException>()
                    .Handle<TimeoutException>(),
                DelayGenerator = args => new ValueTask<TimeSpan?>(args.Outcome.Exception switch
                {
                    DeliveryRetryException { ConfigurationError: true } => options.ConfigurationErrorRetryDelay,
                    DeliveryRetryException { RetryAfter: { } after } => after,
                    _ => null, // exponential backoff
                }),
                OnRetry = args =>
                {
                    _retries.Add(1);
                    if (args.Outcome.Exception is DeliveryRetryException { ConfigurationError: true } c)
                    {
                        LogConfigurationError(_logger, _endpoint, c.Message, args.RetryDelay);
                    }
                    else
                    {
                        LogRetry(_logger, _endpoint, args.Outcome.Exception?.Message ?? "?", args.AttemptNumber + 1, args.RetryDelay);
                    }
                    return default;
                },
            })
            .Build();
    }

    /// <summary>Events waiting to be acknowledged.</summary>
    public long Pending => _queue.Count;

    public async ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }
        var encoded = new (string? Id, byte[] Json)[events.Count];
        for (var i = 0; i < events.Count; i++)
        {
            encoded[i] = (events[i].Id, MailEventJson.Encode(events[i]));
        }
        using var wait = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        wait.CancelAfter(_options.QueueFullTimeout);
        var warned = false;
        while (!_queue.TryAppend(encoded))
        {
            if (!warned)
            {
                warned = true;
                LogQueueFull(_logger, _queue.Bytes, _queue.MaxBytes, _queue.Count);
            }
            try
            {
                // The sender signals after every removal; re-check at least every second.
                await _drained.WaitAsync(TimeSpan.FromSeconds(1), wait.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                _queueFull.Add(1);
                throw new EventQueueFullException(
                    $"the delivery queue {_queue.FilePath} stayed full ({_queue.Bytes} of {_queue.MaxBytes} bytes) for {_options.QueueFullTimeout}; is the PNA at {_options.Url} down?");
            }
        }
        Signal(_queued);
    }

    /// <summary>Wakes a waiter; the count stays small (a waiter re-checks the queue itself), so it never overflows.</summary>
    private static void Signal(SemaphoreSlim signal)
    {
        if (signal.CurrentCount == 0)
        {
            signal.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_queue.Count > 0)
        {
            LogResuming(_logger, _queue.Count, _queue.FilePath);
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            var batch = _queue.Peek(_options.MaxBatchEvents, _options.MaxBatchBytes);
            if (batch.Count == 0)
            {
                try
                {
                    await _queued.WaitAsync(stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                continue;
            }
            try
            {
                await SendAsync(batch, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return; // what was not acknowledged stays queued for the next start
            }
        }
    }

    /// <summary>Sends one batch until the PNA has answered for every event in it (splitting on 413).</summary>
    private async Task SendAsync(IReadOnlyList<QueuedEvent> batch, CancellationToken cancellationToken)
    {
        var outcome = await _retry.ExecuteAsync(static async (state, ct) => await state.Self.PostOnceAsync(state.Batch, ct).ConfigureAwait(false),
            (Self: this, Batch: batch), cancellationToken).ConfigureAwait(false);
        if (outcome == PostOutcome.TooLarge)
        {
            if (batch.Count == 1)
            {
                _rejected.Add(1);
                LogTooLarge(_logger, batch[0].Id, batch[0].Json.Length);
                Remove(batch);
                return;
            }
            var half = batch.Count / 2;
            await SendAsync(batch.Take(half).ToList(), cancellationToken).ConfigureAwait(false);
            await SendAsync(batch.Skip(half).ToList(), cancellationToken).ConfigureAwait(false);
            return;
        }
        Remove(batch);
    }

    private void Remove(IReadOnlyList<QueuedEvent> batch)
    {
        _queue.Remove(batch);
        Signal(_drained);
    }

    private enum PostOutcome
    {
        Answered,
        TooLarge,
    }

    private async Task<PostOutcome> PostOnceAsync(IReadOnlyList<QueuedEvent> batch, CancellationToken cancellationToken)
    {
        var size = 0;
        foreach (var e in batch)
        {
            size += e.Json.Length + 1;
        }
        var body = new byte[size];
        var at = 0;
        foreach (var e in batch)
        {
            e.Json.CopyTo(body, at);
            at += e.Json.Length;
            body[at++] = (byte)'\n';
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, _endpoint) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = Ndjson;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", _token);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        HttpResponseMessage response;
        byte[] answer;
        try
        {
            response = await _http.SendAsync(request, timeout.Token).ConfigureAwait(false);
            answer = await response.Content.ReadAsByteArrayAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"no answer from {_endpoint} within {_options.RequestTimeout}");
        }
        using (response)
        {
            switch (response.StatusCode)
            {
                case HttpStatusCode.Accepted:
                case HttpStatusCode.BadRequest:
                    // 400: nothing was accepted and sending it again would be refused again (docs/ingest.md).
                    ReportResult(batch, response.StatusCode, answer);
                    return PostOutcome.Answered;
                case HttpStatusCode.RequestEntityTooLarge:
                    return PostOutcome.TooLarge;
                case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.UnsupportedMediaType:
                    throw new DeliveryRetryException(
                        $"{(int)response.StatusCode} {response.StatusCode}: {Text(answer)} (check {HttpDeliveryOptions.SectionName}:Token against the PNA's Pna:Ingest:Sources)",
                        configurationError: true, retryAfter: null);
                default:
                    var retryAfter = response.Headers.RetryAfter?.Delta;
                    throw new DeliveryRetryException($"{(int)response.StatusCode} {response.StatusCode}: {Text(answer)}", configurationError: false, retryAfter);
            }
        }
    }

    private void ReportResult(IReadOnlyList<QueuedEvent> batch, HttpStatusCode status, byte[] answer)
    {
        try
        {
            using var doc = JsonDocument.Parse(answer);
            var root = doc.RootElement;
            var accepted = root.TryGetProperty("accepted", out var a) && a.TryGetInt64(out var n) ? n : 0;
            var duplicates = root.TryGetProperty("duplicates", out var d) && d.TryGetInt64(out var m) ? m : 0;
            _delivered.Add(accepted);
            _duplicates.Add(duplicates);
            var rejectedCount = 0;
            if (root.TryGetProperty("rejected", out var rejected) && rejected.ValueKind == JsonValueKind.Array)
            {
                foreach (var r in rejected.EnumerateArray())
                {
                    rejectedCount++;
                    var index = r.TryGetProperty("index", out var i) && i.TryGetInt32(out var k) ? k : -1;
                    var id = index >= 0 && index < batch.Count ? batch[index].Id : null;
                    LogRejected(_logger, index, id, r.TryGetProperty("field", out var f) ? f.ToString() : null,
                        r.TryGetProperty("error", out var e) ? e.ToString() : "?");
                }
            }
            _rejected.Add(rejectedCount);
            if (status == HttpStatusCode.BadRequest && rejectedCount == 0)
            {
                _rejected.Add(batch.Count);
                LogBatchRefused(_logger, batch.Count, Text(answer));
            }
        }
        catch (JsonException)
        {
            LogUnreadableAnswer(_logger, (int)status, Text(answer));
        }
    }

    private static string Text(byte[] answer) =>
        System.Text.Encoding.UTF8.GetString(answer, 0, Math.Min(answer.Length, 500)).ReplaceLineEndings(" ");

    public override void Dispose()
    {
        base.Dispose();
        _meter.Dispose();
        _http.Dispose();
        _queued.Dispose();
        _drained.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming HTTP delivery: {Count} events still queued in {Path}")]
    private static partial void LogResuming(ILogger logger, long count, string path);

    [LoggerMessage(Level = LogLevel.Warning, Message = "POST {Endpoint} failed ({Error}); attempt {Attempt} in {Delay}")]
    private static partial void LogRetry(ILogger logger, Uri endpoint, string error, int attempt, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "CONFIGURATION ERROR: the PNA at {Endpoint} refuses this bridge: {Error}; events stay queued, retrying in {Delay}")]
    private static partial void LogConfigurationError(ILogger logger, Uri endpoint, string error, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Error, Message = "The PNA rejected event {Index} (id {Id}) at field {Field}: {Error}; dropped, not retried")]
    private static partial void LogRejected(ILogger logger, int index, string? id, string? field, string error);

    [LoggerMessage(Level = LogLevel.Error, Message = "The PNA refused a batch of {Count} events with 400: {Answer}; dropped, not retried")]
    private static partial void LogBatchRefused(ILogger logger, int count, string answer);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event {Id} alone ({Bytes} bytes) is larger than the PNA accepts (413); dropped")]
    private static partial void LogTooLarge(ILogger logger, string? id, int bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The PNA answered {Status} with an unreadable body: {Answer}")]
    private static partial void LogUnreadableAnswer(ILogger logger, int status, string answer);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivery queue full ({Bytes} of {MaxBytes} bytes, {Count} events): watchers wait for room")]
    private static partial void LogQueueFull(ILogger logger, long bytes, long maxBytes, long count);
}

/// <summary>A POST that must be sent again: a server error, 503, or a configuration error (401/403/415).</summary>
public sealed class DeliveryRetryException : Exception
{
    public DeliveryRetryException()
    {
    }

    public DeliveryRetryException(string message)
        : base(message)
    {
    }

    public DeliveryRetryException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public DeliveryRetryException(string message, bool configurationError, TimeSpan? retryAfter)
        : base(message)
    {
        ConfigurationError = configurationError;
        RetryAfter = retryAfter;
    }

    public bool ConfigurationError { get; }

    public TimeSpan? RetryAfter { get; }
}
