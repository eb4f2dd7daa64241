using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Xmpp.Client;

/// <summary>
/// One client-to-server session (RFC 6120): connect, negotiate (STARTTLS, SASL, resource
/// binding, session), then exchange stanzas until <see cref="CloseAsync"/> or the stream ends.
/// Incoming messages and presences go to the handler given to <see cref="ConnectAsync"/>, one at a
/// time in arrival order; iq responses complete <see cref="IqAsync"/>. No reconnection here: the
/// caller watches <see cref="Completion"/> and connects again.
/// </summary>
public sealed class XmppClientConnection : IAsyncDisposable
{
    private static readonly XNamespace ClientNs = ClientNamespaces.Client;

    private readonly XmppClientOptions _options;
    private readonly Socket _socket;
    private readonly Stream _stream;
    private readonly XmlStreamReader _reader;
    private readonly XmlStreamWriter _writer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<Stanza, CancellationToken, ValueTask> _onStanza;
    private readonly ConcurrentDictionary<string, PendingIq> _pending = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _nextId;
    private int _closing;

    private XmppClientConnection(XmppClientOptions options, Negotiated session, Func<Stanza, CancellationToken, ValueTask> onStanza,
        TimeProvider time, ILogger logger)
    {
        _options = options;
        _socket = session.Socket;
        _stream = session.Stream;
        _reader = session.Reader;
        _time = time;
        _logger = logger;
        _onStanza = onStanza;
        BoundJid = session.BoundJid;
        IsEncrypted = session.Encrypted;
        Mechanism = session.Mechanism;
        _writer = new XmlStreamWriter(_stream, ClientNamespaces.Client, options.SendQueueCapacity, options.WriteTimeout, time);
        _ = RunAsync();
    }

    /// <summary>The full JID the server bound (RFC 6120 §7.6.1).</summary>
    public Jid BoundJid { get; }

    /// <summary>True when the stream runs over TLS.</summary>
    public bool IsEncrypted { get; }

    /// <summary>The SASL mechanism that authenticated the session.</summary>
    public string Mechanism { get; }

    /// <summary>
    /// Completes when the stream has ended: successfully after <see cref="CloseAsync"/> (or the
    /// server's polite close), faulted with <see cref="XmppStreamException"/> when it broke.
    /// </summary>
    public Task Completion => _completion.Task;

    /// <summary>
    /// Connects and negotiates the session. Throws <see cref="XmppClientException"/> saying what
    /// failed (connection, TLS, authentication, binding, timeout, protocol).
    /// </summary>
    public static async Task<XmppClientConnection> ConnectAsync(XmppClientOptions options, Func<Stanza, CancellationToken, ValueTask> onStanza,
        CancellationToken cancellationToken, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(onStanza);
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        var negotiated = await ClientNegotiation.RunAsync(options, time, cancellationToken).ConfigureAwait(false);
        logger.LogInformation("XMPP client {Jid} connected to {Host}:{Port} ({Mechanism}{Tls})", negotiated.BoundJid,
            options.Host ?? Jid.Parse(options.Jid).Domain, options.Port, negotiated.Mechanism, negotiated.Encrypted ? ", TLS" : "");
        return new XmppClientConnection(options, negotiated, onStanza, time, logger);
    }

    /// <summary>Queues a stanza (in jabber:client), waiting while the send queue is full.</summary>
    public ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        CheckNamespace(stanza);
        return _writer.WriteAsync(stanza.Element, cancellationToken);
    }

    /// <summary>
    /// Sends an iq get/set and waits for its response (RFC 6120 §8.2.3), at most
    /// <see cref="XmppClientOptions.IqTimeout"/>. An id is assigned when the request has none.
    /// Returns the result; throws <see cref="XmppIqErrorException"/> for an error response,
    /// <see cref="TimeoutException"/>, or <see cref="XmppStreamException"/> when the stream ends first.
    /// </summary>
    public async Task<Iq> IqAsync(Iq request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!request.IsRequest)
        {
            throw new ArgumentException("only get and set iqs have responses", nameof(request));
        }
        CheckNamespace(request);
        if (string.IsNullOrEmpty(request.Id) || _pending.ContainsKey(request.Id))
        {
            request.Id = "mw" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture);
        }
        var pending = new PendingIq(request.To);
        if (!_pending.TryAdd(request.Id!, pending))
        {
            throw new InvalidOperationException($"iq id '{request.Id}' is already waiting for a response");
        }
        try
        {
            if (_completion.Task.IsCompleted)
            {
                throw new XmppStreamException("the stream is closed");
            }
            await _writer.WriteAsync(request.Element, cancellationToken).ConfigureAwait(false);
            var response = await pending.Response.Task.WaitAsync(_options.IqTimeout, _time, cancellationToken).ConfigureAwait(false);
            if (response.Type == IqType.Error)
            {
                throw new XmppIqErrorException(response);
            }
            return response;
        }
        catch (TimeoutException ex)
        {
            throw new TimeoutException($"no response to iq '{request.Id}' to {request.To?.ToString() ?? "the server"} within {_options.IqTimeout.TotalSeconds:0.#} s", ex);
        }
        finally
        {
            _pending.TryRemove(request.Id!, out _);
        }
    }

    /// <summary>A new iq in jabber:client with the next id.</summary>
    public Iq CreateIq(IqType type, Jid? to, XElement payload) =>
        new(type, "mw" + Interlocked.Increment(ref _nextId).ToString(CultureInfo.InvariantCulture), to, null, payload, ClientNs);

    private static void CheckNamespace(Stanza stanza)
    {
        if (stanza.Namespace != ClientNs)
        {
            throw new ArgumentException($"stanza namespace '{stanza.Namespace.NamespaceName}' is not {ClientNamespaces.Client}", nameof(stanza));
        }
    }

    private async Task RunAsync()
    {
        var monitor = MonitorAsync(_stop.Token);
        Exception? failure = null;
        try
        {
            await ReadLoopAsync().ConfigureAwait(false);
        }
#pragma warning disable CA1031 // Every way the stream ends is reported through Completion.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            failure = Volatile.Read(ref _closing) != 0 && ex is XmppStreamException { Error: null }
                ? null // our own close cut the read short
                : ex;
        }
        await _stop.CancelAsync().ConfigureAwait(false);
        await monitor.ConfigureAwait(false);
        var ended = failure ?? new XmppStreamException("the stream is closed");
        foreach (var (_, pending) in _pending)
        {
            pending.Response.TrySetException(ended);
        }
        if (failure is not null)
        {
            _logger.LogWarning("XMPP client {Jid}: stream ended: {Reason}", BoundJid, failure.Message);
            await ShutdownAsync(failure is XmppStreamException { Error: { } error, SentByPeer: false } ? error : null).ConfigureAwait(false);
            _completion.TrySetException(failure);
        }
        else
        {
            await ShutdownAsync(null).ConfigureAwait(false);
            _completion.TrySetResult();
        }
    }

    private async Task ReadLoopAsync()
    {
        while (true)
        {
            var e = await _reader.ReadAsync(CancellationToken.None).ConfigureAwait(false);
            switch (e.Kind)
            {
                case XmlStreamEventKind.StreamError:
                    throw new XmppStreamException(e.Error!, sentByPeer: true);
                case XmlStreamEventKind.StreamClosed:
                    if (Volatile.Read(ref _closing) == 0)
                    {
                        // RFC 6120 §4.4: the server closed; answer with our closing tag.
                        _logger.LogInformation("XMPP client {Jid}: the server closed the stream", BoundJid);
                        throw new XmppStreamException("the server closed the stream");
                    }
                    return;
            }
            Stanza stanza;
            try
            {
                stanza = Stanza.FromElement(e.Element!);
            }
            catch (StanzaFormatException ex)
            {
                // Not answerable safely (the server is the only peer and it sent garbage): dropped.
                _logger.LogWarning("XMPP client {Jid}: dropped a malformed <{Name}/> from the server: {Reason}", BoundJid, e.Element!.Name.LocalName, ex.Message);
                continue;
            }
            if (stanza is Iq iq)
            {
                HandleIq(iq);
                continue;
            }
            try
            {
                await _onStanza(stanza, _stop.Token).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A handler bug must not take the session down.
            catch (Exception ex) when (ex is not OperationCanceledException || !_stop.IsCancellationRequested)
#pragma warning restore CA1031
            {
                _logger.LogError(ex, "XMPP client {Jid}: stanza handler failed", BoundJid);
            }
        }
    }

    private void HandleIq(Iq iq)
    {
        if (!iq.IsRequest)
        {
            // RFC 6120 §8.1.2.1: the response comes from the request's 'to', or, for a request
            // without 'to', from the server (no from, our bare JID or our domain).
            if (iq.Id is { } id && _pending.TryGetValue(id, out var pending) && pending.IsFromExpectedSender(iq.From, BoundJid))
            {
                pending.Response.TrySetResult(iq);
            }
            else
            {
                _logger.LogDebug("XMPP client {Jid}: iq response '{Id}' from {From} matches no request", BoundJid, iq.Id, iq.From);
            }
            return;
        }
        if (iq.Type == IqType.Get && iq.Payload?.Name == XName.Get("ping", ClientNamespaces.Ping))
        {
            _writer.TryWrite(iq.CreateResult().Element); // XEP-0199 §4
            return;
        }
        // RFC 6120 §8.4: a request for a namespace we do not serve gets service-unavailable.
        _writer.TryWrite(iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)).Element);
    }

    /// <summary>Whitespace keepalive when nothing was sent for a while (RFC 6120 §4.6.1).</summary>
    private async Task MonitorAsync(CancellationToken cancellationToken)
    {
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks, _options.KeepaliveInterval.Ticks / 4));
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                await Task.WhenAny(Task.Delay(tick, _time, cancellationToken), _writer.Completion).ConfigureAwait(false);
                if (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                if (_writer.Completion.IsCompleted)
                {
                    if (_writer.Completion.IsFaulted)
                    {
                        // The write side died (peer not reading, connection reset): end the read too.
                        _logger.LogWarning("XMPP client {Jid}: {Reason}", BoundJid, _writer.Completion.Exception!.InnerException!.Message);
                        _socket.Dispose();
                    }
                    return;
                }
                if (_time.GetElapsedTime(_writer.LastWrite) >= _options.KeepaliveInterval)
                {
                    _writer.TryWriteWhitespacePing();
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopped with the read loop
        }
    }

    /// <summary>
    /// Closes the stream politely (RFC 6120 §4.4): sends &lt;/stream:stream&gt; and waits, at most
    /// <paramref name="timeout"/> (default 2 s), for the server's closing tag before closing the socket.
    /// </summary>
    public async Task CloseAsync(TimeSpan? timeout = null)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            await _writer.CloseAsync(null, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        try
        {
            await _completion.Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(2), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            _socket.Dispose(); // the server did not answer: the read ends now
        }
        catch (XmppStreamException)
        {
            // already ended, reported through Completion
        }
        try
        {
            await _completion.Task.ConfigureAwait(false);
        }
        catch (XmppStreamException)
        {
            // reported through Completion
        }
    }

    private async Task ShutdownAsync(StreamError? error)
    {
        if (Interlocked.Exchange(ref _closing, 1) == 0)
        {
            await _writer.CloseAsync(error, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        }
        try
        {
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            // already gone
        }
        _socket.Dispose();
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await CloseAsync().ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        _reader.Dispose();
        await _stream.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
        _stop.Dispose();
    }

    private sealed class PendingIq(Jid? to)
    {
        public TaskCompletionSource<Iq> Response { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public bool IsFromExpectedSender(Jid? from, Jid bound)
        {
            if (to is null || to == bound.Bare)
            {
                return from is null || from == bound.Bare || from == bound || (from.Local is null && from.Resource is null && from.Domain == bound.Domain);
            }
            return from == to;
        }
    }
}

/// <summary>A negotiated stream, handed from the negotiation to the session.</summary>
internal sealed record Negotiated(Socket Socket, Stream Stream, XmlStreamReader Reader, Jid BoundJid, bool Encrypted, string Mechanism);
