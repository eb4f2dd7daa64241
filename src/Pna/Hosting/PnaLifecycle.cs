using Aggregators.Pna.Dispatch;
using Aggregators.Pna.Heartbeats;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.State;
using Aggregators.Pna.Storage;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Hosting;

/// <summary>
/// Starts and stops the PNA's parts in the one order that loses nothing. Start: open the store,
/// load state, restore subscriptions, start the dispatcher and the write-behind and expiry
/// timers. Stop: refuse new events (503), drain the dispatch queue completely, flush state, close
/// the store.
/// </summary>
internal sealed partial class PnaLifecycle : IHostedService, IDisposable
{
    private readonly IPnaStore _store;
    private readonly MailboxStateStore _state;
    private readonly Dispatcher _dispatcher;
    private readonly EventIngest _ingest;
    private readonly IngestTokens _tokens;
    private readonly SubscriptionManager _subscriptions;
    private readonly PnaOptions _options;
    private readonly TimeProvider _time;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly ILogger<PnaLifecycle> _logger;
    private readonly HeartbeatScheduler _heartbeats;
    private readonly CancellationTokenSource _stopping = new();
    private Task? _heartbeatRun;
    private readonly Lock _flushLock = new();
    private ITimer? _flushTimer;
    private ITimer? _sweepTimer;
    private volatile bool _ready;

    public PnaLifecycle(
        IPnaStore store,
        MailboxStateStore state,
        Dispatcher dispatcher,
        EventIngest ingest,
        IngestTokens tokens,
        SubscriptionManager subscriptions,
        HeartbeatScheduler heartbeats,
        Operations.PrometheusExporter exporter,
        IOptions<PnaOptions> options,
        TimeProvider time,
        IHostApplicationLifetime lifetime,
        ILogger<PnaLifecycle> logger)
    {
        _store = store;
        _state = state;
        _dispatcher = dispatcher;
        _ingest = ingest;
        _tokens = tokens;
        _subscriptions = subscriptions;
        _heartbeats = heartbeats;
        _ = exporter; // resolved here so it listens from the first event on
        _options = options.Value;
        _time = time;
        _lifetime = lifetime;
        _logger = logger;
    }

    /// <summary>Store open and dispatcher running (GET /readyz).</summary>
    public bool Ready => _ready && _store.IsOpen && _dispatcher.IsRunning;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        _options.EnsureDataDirectory();
        _store.Open();
        var rows = _store.LoadMailboxStates();
        _state.Load(rows);
        var restored = _subscriptions.Restore();
        _dispatcher.Start();
        _heartbeatRun = _heartbeats.RunAsync(_stopping.Token);
        _flushTimer = _time.CreateTimer(_ => Flush(), null, _options.State.FlushInterval, _options.State.FlushInterval);
        _sweepTimer = _time.CreateTimer(_ => Sweep(), null, _options.Subscriptions.ExpirySweepInterval, _options.Subscriptions.ExpirySweepInterval);
        // Refuse new events as soon as shutdown begins, before the server stops taking requests.
        _lifetime.ApplicationStopping.Register(_ingest.StopAccepting);
        _ready = true;
        LogStarted(_options.DataDirectoryFullPath, rows.Count, restored, _subscriptions.Inactive.Count, _tokens.TokenFilePath ?? "(configured sources)");
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _ready = false;
        _ingest.StopAccepting();
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_heartbeatRun is not null)
        {
            await _heartbeatRun.ConfigureAwait(false);
        }
        var pending = _dispatcher.QueueDepth;
        var before = _dispatcher.DispatchedEvents;
        try
        {
            await _dispatcher.DrainAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
            LogDrained(_dispatcher.DispatchedEvents - before, pending);
        }
        catch (OperationCanceledException)
        {
            // The host's shutdown timeout ran out: keep what was dispatched, say what was not.
            LogDrainTimedOut(_dispatcher.DispatchedEvents - before, _dispatcher.QueueDepth);
        }
        if (_flushTimer is not null)
        {
            await _flushTimer.DisposeAsync().ConfigureAwait(false);
        }
        if (_sweepTimer is not null)
        {
            await _sweepTimer.DisposeAsync().ConfigureAwait(false);
        }
        int written;
        lock (_flushLock)
        {
            written = Flush();
            _store.Dispose();
        }
        LogStopped(written);
    }

    /// <summary>Writes changed mailbox state in one transaction; on failure the changes are kept for the next try.</summary>
    internal int Flush()
    {
        lock (_flushLock)
        {
            if (!_store.IsOpen)
            {
                return 0;
            }
            var (upserts, deletes) = _state.TakeDirty();
            if (upserts.Count == 0 && deletes.Count == 0)
            {
                return 0;
            }
            try
            {
                _store.WriteMailboxStates(upserts, deletes);
                return upserts.Count + deletes.Count;
            }
#pragma warning disable CA1031 // a failed flush is retried, never fatal to the timer
            catch (Exception ex)
#pragma warning restore CA1031
            {
                _state.MarkDirty(upserts.Select(u => (u.Account, u.Mailbox)).Concat(deletes));
                LogFlushFailed(ex, upserts.Count + deletes.Count);
                return 0;
            }
        }
    }

    private void Sweep()
    {
        try
        {
            var n = _subscriptions.SweepExpired();
            if (n > 0)
            {
                LogSwept(n);
            }
        }
#pragma warning disable CA1031 // the sweep is a safety net; it must not kill the timer
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogSweepFailed(ex);
        }
    }

    public void Dispose()
    {
        _flushTimer?.Dispose();
        _sweepTimer?.Dispose();
        _stopping.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "PNA started: data directory {DataDirectory}, {Mailboxes} mailbox states loaded, {Restored} subscriptions restored, {Inactive} inactive; ingest tokens: {TokenSource}")]
    private partial void LogStarted(string dataDirectory, int mailboxes, int restored, int inactive, string tokenSource);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutdown: dispatch queue drained, {Dispatched} events dispatched ({Pending} were queued when shutdown began)")]
    private partial void LogDrained(long dispatched, long pending);

    [LoggerMessage(Level = LogLevel.Error, Message = "Shutdown timeout: {Dispatched} events dispatched, {Left} accepted events were NOT dispatched (raise HostOptions:ShutdownTimeout)")]
    private partial void LogDrainTimedOut(long dispatched, long left);

    [LoggerMessage(Level = LogLevel.Information, Message = "Shutdown: {Written} mailbox state rows flushed, store closed")]
    private partial void LogStopped(int written);

    [LoggerMessage(Level = LogLevel.Error, Message = "Flushing {Count} mailbox state changes failed; will retry")]
    private partial void LogFlushFailed(Exception exception, int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Expiry sweep removed {Count} subscriptions")]
    private partial void LogSwept(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Expiry sweep failed")]
    private partial void LogSweepFailed(Exception exception);
}
