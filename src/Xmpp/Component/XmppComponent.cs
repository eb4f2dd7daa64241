using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Polly;
using Polly.Retry;

namespace Aggregators.Xmpp.Component;

/// <summary>
/// A long-lived XEP-0114 external component: keeps one <see cref="ComponentConnection"/> up,
/// reconnecting with exponential backoff and jitter (Polly) when the server restarts, the
/// stream fails or the connection goes dead, and reports every change through
/// <see cref="StateChanged"/>. A conflict (a previous connection of ours still registered on
/// the server) is retried like a network failure; a wrong secret or unknown domain stops the
/// component unless <see cref="ComponentOptions.RetryConfigurationErrors"/> is set.
/// </summary>
/// <remarks>
/// Incoming stanzas go to the handler given to the constructor, one at a time in arrival order
/// (a slow handler slows reading: back-pressure towards the server). Outgoing stanzas go through
/// <see cref="SendAsync"/> (waits for queue space) or <see cref="TrySend"/> (never blocks). The
/// handler and <see cref="StateChanged"/> subscribers run on the component's loop: keep them short.
/// </remarks>
public sealed class XmppComponent : IAsyncDisposable
{
    private readonly ComponentOptions _options;
    private readonly Func<Stanza, CancellationToken, ValueTask> _handler;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly ResiliencePipeline _connectPipeline;
    private readonly CancellationTokenSource _stop = new();
    private readonly object _gate = new();
    private TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private volatile ComponentConnection? _current;
    private Task? _loop;
    private int _attempt;
    private int _disposed;

    public XmppComponent(ComponentOptions options, Func<Stanza, CancellationToken, ValueTask> handler,
        ILogger<XmppComponent>? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(handler);
        _options = options;
        _handler = handler;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = time ?? TimeProvider.System;
        Domain = Jid.Parse(options.Domain);
        _connectPipeline = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<ComponentException>(ex => !ex.IsConfigurationError || _options.RetryConfigurationErrors),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.ReconnectDelay,
                MaxDelay = options.MaxReconnectDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    var ex = (ComponentException)args.Outcome.Exception!;
                    SetState(new ComponentStateChangedEventArgs(ComponentState.Disconnected, ex.Message, ex, ex.Failure, args.RetryDelay, _attempt));
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    /// <summary>The component's domain.</summary>
    public Jid Domain { get; }

    /// <summary>The current state.</summary>
    public ComponentState State { get; private set; } = ComponentState.Idle;

    /// <summary>Raised on every state change (connecting, connected, disconnected with the reason and retry delay, stopped).</summary>
    public event EventHandler<ComponentStateChangedEventArgs>? StateChanged;

    /// <summary>True while a connection is authenticated.</summary>
    public bool IsConnected => _current is not null;

    /// <summary>Starts connecting in the background.</summary>
    public void Start()
    {
        lock (_gate)
        {
            if (_loop is not null)
            {
                throw new InvalidOperationException("the component was already started");
            }
            _loop = Task.Run(() => RunAsync(_stop.Token));
        }
    }

    /// <summary>Completes once connected (now or later); throws if the component stops first.</summary>
    public Task WaitUntilConnectedAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            return _connected.Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Sends a stanza on the current connection, waiting for queue space. Throws
    /// <see cref="ComponentNotConnectedException"/> when no connection is up, <see cref="ArgumentException"/>
    /// for a stanza the server would reject (from outside the domain, no to).
    /// </summary>
    public async ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        var connection = _current ?? throw new ComponentNotConnectedException();
        try
        {
            await connection.SendAsync(stanza, cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStreamException ex)
        {
            throw new ComponentNotConnectedException("the XMPP component's connection closed: " + ex.Message, ex);
        }
    }

    /// <summary>Sends without waiting: false when not connected or the send queue is full.</summary>
    public bool TrySend(Stanza stanza)
    {
        var connection = _current;
        return connection is not null && connection.TrySend(stanza);
    }

    /// <summary>
    /// Sends a stanza serialised by the caller (UTF-8, unprefixed in <c>jabber:component:accept</c>,
    /// well-formed, from= in the component's domain and a to=: not checked, the server closes the
    /// stream otherwise) without waiting: false when not connected or the send queue is full. For
    /// hot paths that build stanzas as bytes (the pubsub fan-out); the span may be reused at once.
    /// </summary>
    public bool TrySendSerialized(ReadOnlySpan<byte> utf8Stanza)
    {
        var connection = _current;
        return connection is not null && connection.TrySendSerialized(utf8Stanza);
    }

    private async Task RunAsync(CancellationToken stop)
    {
        var reason = "stopped";
        Exception? fatal = null;
        try
        {
            while (!stop.IsCancellationRequested)
            {
                _attempt = 0;
                var connection = await _connectPipeline.ExecuteAsync(async ct =>
                {
                    _attempt++;
                    SetState(new ComponentStateChangedEventArgs(ComponentState.Connecting,
                        $"connecting to {_options.Host}:{_options.Port}", attempt: _attempt));
                    return await ComponentConnection.ConnectAsync(_options, ct, _logger, _time).ConfigureAwait(false);
                }, stop).ConfigureAwait(false);
                _current = connection;
                SetState(new ComponentStateChangedEventArgs(ComponentState.Connected, $"authenticated as {Domain} (stream {connection.StreamId})", attempt: _attempt));
                Exception ended;
                try
                {
                    await connection.RunAsync(_handler, stop).ConfigureAwait(false);
                    ended = new XmppStreamException("the connection ended");
                }
#pragma warning disable CA1031 // whatever ended the connection, the component reconnects
                catch (Exception ex) when (!stop.IsCancellationRequested)
#pragma warning restore CA1031
                {
                    ended = ex;
                }
                finally
                {
                    _current = null;
                    lock (_gate)
                    {
                        _connected = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    }
                    await connection.DisposeAsync().ConfigureAwait(false);
                }
                // A fresh connection right away would hit a restarting server: wait one base
                // delay, jittered, before the first attempt (then the backoff takes over).
                var delay = _options.ReconnectDelay * (0.5 + Random.Shared.NextDouble());
                SetState(new ComponentStateChangedEventArgs(ComponentState.Disconnected, ended.Message, ended,
                    ComponentFailure.ConnectionFailed, delay));
                await Task.Delay(delay, _time, stop).ConfigureAwait(false);
            }
        }
#pragma warning disable CA1031 // whatever a connection threw while we were stopping, this is a stop
        catch (Exception) when (stop.IsCancellationRequested)
#pragma warning restore CA1031
        {
            // A stop that races a failing connection (the peer closed as we cancelled) must
            // not fault the loop: StopAsync/DisposeAsync await it and would rethrow.
            reason = "stopped";
        }
        catch (ComponentException ex)
        {
            // Not retried: a configuration error (wrong secret, unknown domain).
            reason = ex.Message;
            fatal = ex;
        }
#pragma warning disable CA1031 // reported as the reason of the stop
        catch (Exception ex) when (!stop.IsCancellationRequested)
#pragma warning restore CA1031
        {
            reason = "unexpected failure: " + ex.Message;
            fatal = ex;
        }
        SetState(new ComponentStateChangedEventArgs(ComponentState.Stopped, reason, fatal, (fatal as ComponentException)?.Failure));
        lock (_gate)
        {
            _connected.TrySetException(fatal ?? new ComponentNotConnectedException("the XMPP component stopped"));
        }
    }

    private void SetState(ComponentStateChangedEventArgs change)
    {
        State = change.State;
        var level = change.State is ComponentState.Disconnected ? LogLevel.Warning
            : change.State is ComponentState.Stopped && change.Exception is not null ? LogLevel.Error : LogLevel.Information;
        _logger.Log(level, "XMPP component {Domain}: {Change}", Domain, change);
        if (change.State == ComponentState.Connected)
        {
            lock (_gate)
            {
                _connected.TrySetResult();
            }
        }
        try
        {
            StateChanged?.Invoke(this, change);
        }
#pragma warning disable CA1031 // a subscriber's bug must not stop the component
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogError(ex, "XMPP component {Domain}: a StateChanged subscriber failed", Domain);
        }
    }

    /// <summary>Closes the stream politely and stops reconnecting.</summary>
    public async Task StopAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task? loop;
        lock (_gate)
        {
            loop = _loop;
        }
        if (loop is not null)
        {
            await loop.ConfigureAwait(false);
        }
    }

    /// <summary>Stops (see <see cref="StopAsync"/>); calling it again does nothing.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await StopAsync().ConfigureAwait(false);
        _stop.Dispose();
    }
}
