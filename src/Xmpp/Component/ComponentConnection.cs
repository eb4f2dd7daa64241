using System.Net.Sockets;
using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Xmpp.Component;

/// <summary>
/// One authenticated XEP-0114 connection ("accept" method): connect, exchange stream headers,
/// handshake, then <see cref="RunAsync"/> delivers incoming stanzas until the stream ends, while
/// <see cref="SendAsync"/>/<see cref="TrySend"/> queue outgoing ones. No reconnection here: see
/// <see cref="XmppComponent"/>.
/// </summary>
public sealed class ComponentConnection : IAsyncDisposable
{
    private static readonly XNamespace Accept = XmppNamespaces.ComponentAccept;

    private readonly ComponentOptions _options;
    private readonly Socket _socket;
    private readonly NetworkStream _network;
    private readonly XmlStreamReader _reader;
    private readonly XmlStreamWriter _writer;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private Exception? _failure;
    private int _closed;

    private ComponentConnection(ComponentOptions options, Socket socket, NetworkStream network, XmlStreamReader reader,
        XmlStreamWriter writer, TimeProvider time, ILogger logger, Jid domain)
    {
        _options = options;
        _socket = socket;
        _network = network;
        _reader = reader;
        _writer = writer;
        _time = time;
        _logger = logger;
        Domain = domain;
    }

    /// <summary>The component's domain; every outgoing stanza's from= must be in it.</summary>
    public Jid Domain { get; }

    /// <summary>The id of the server's stream header.</summary>
    public string StreamId { get; private set; } = "";

    /// <summary>
    /// Connects and authenticates. Throws <see cref="ComponentException"/> saying why it failed
    /// (wrong secret, unknown domain, conflict, timeout, network).
    /// </summary>
    public static async Task<ComponentConnection> ConnectAsync(ComponentOptions options, CancellationToken cancellationToken,
        ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        time ??= TimeProvider.System;
        logger ??= NullLogger.Instance;
        var domain = Jid.Parse(options.Domain);
        if (!domain.IsBare || domain.Local is not null)
        {
            throw new ArgumentException($"component domain '{options.Domain}' must be a bare domain", nameof(options));
        }
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ComponentConnection? connection = null;
        try
        {
            try
            {
                await socket.ConnectAsync(options.Host, options.Port, linked.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new ComponentException(ComponentFailure.ConnectionFailed,
                    $"cannot connect to {options.Host}:{options.Port}: {ex.SocketErrorCode}", null, ex);
            }
            EnableTcpKeepalive(socket);
            var network = new NetworkStream(socket, ownsSocket: false);
            var reader = new XmlStreamReader(network, XmppNamespaces.ComponentAccept, options.Limits, time);
            var writer = new XmlStreamWriter(network, XmppNamespaces.ComponentAccept, options.SendQueueCapacity, options.WriteTimeout, time);
            connection = new ComponentConnection(options, socket, network, reader, writer, time, logger, domain);
            // The XML parser cannot be cancelled: a timeout closes the socket, which ends the read.
            using var abort = linked.Token.Register(() => socket.Dispose());
            await connection.HandshakeAsync(linked.Token).ConfigureAwait(false);
            logger.LogInformation("XMPP component {Domain} connected to {Host}:{Port} (stream {StreamId})",
                options.Domain, options.Host, options.Port, connection.StreamId);
            return connection;
        }
        catch (Exception ex) when (ex is not ComponentException || connection is not null)
        {
            if (connection is not null)
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                socket.Dispose();
            }
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("component connection cancelled", ex, cancellationToken);
            }
            if (timeout.IsCancellationRequested)
            {
                throw new ComponentException(ComponentFailure.Timeout,
                    $"no handshake with {options.Host}:{options.Port} within {options.ConnectTimeout.TotalSeconds:0.#} s", null, ex);
            }
            throw ex is ComponentException ? ex : Classify(ex);
        }
        catch (ComponentException)
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task HandshakeAsync(CancellationToken cancellationToken)
    {
        // XEP-0114 §3: stream header to the component's domain, in jabber:component:accept.
        await _writer.WriteHeaderAsync(Domain.ToString(), cancellationToken).ConfigureAwait(false);
        StreamHeader header;
        try
        {
            header = await _reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStreamException ex) when (ex.Error is not null && !ex.SentByPeer)
        {
            await CloseAsync(ex.Error).ConfigureAwait(false);
            throw;
        }
        if (string.IsNullOrEmpty(header.Id))
        {
            // RFC 6120 §4.9.1.2: a server refusing the stream (Prosody: host-unknown) opens it
            // without an id and sends the stream error next.
            var next = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
            if (next.Kind == XmlStreamEventKind.StreamError)
            {
                await CloseAsync(null).ConfigureAwait(false);
                throw FromStreamError(next.Error!);
            }
            // The id is the salt of the handshake: without it there is nothing to prove.
            var error = new StreamError(StreamErrorCondition.InvalidXml, "stream header without an id");
            await CloseAsync(error).ConfigureAwait(false);
            throw new ComponentException(ComponentFailure.ProtocolError, "the server's stream header has no id (XEP-0114 §3)", error);
        }
        StreamId = header.Id;
        await _writer.WriteAsync(new XElement(Accept + "handshake", ComponentHandshake.Compute(header.Id, _options.Secret)), cancellationToken)
            .ConfigureAwait(false);
        var reply = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
        switch (reply.Kind)
        {
            case XmlStreamEventKind.Element when reply.Element!.Name == Accept + "handshake" && !reply.Element.HasElements:
                return; // XEP-0114 §3: an empty <handshake/> is success.
            case XmlStreamEventKind.StreamError:
                await CloseAsync(null).ConfigureAwait(false);
                throw FromStreamError(reply.Error!);
            case XmlStreamEventKind.StreamClosed:
                await CloseAsync(null).ConfigureAwait(false);
                throw new ComponentException(ComponentFailure.ProtocolError, "the server closed the stream during the handshake");
            default:
                var unexpected = new StreamError(StreamErrorCondition.NotAuthorized, "expected <handshake/>");
                await CloseAsync(unexpected).ConfigureAwait(false);
                throw new ComponentException(ComponentFailure.ProtocolError,
                    $"expected <handshake/> from the server, got <{reply.Element!.Name.LocalName}/>", unexpected);
        }
    }

    private async ValueTask<XmlStreamEvent> ReadEventAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (XmppStreamException ex) when (ex.Error is not null && !ex.SentByPeer)
        {
            // Hostile or broken input: tell the peer why, then close (RFC 6120 §4.9.1.1).
            _logger.LogWarning("XMPP component {Domain}: refusing server input: {Error}", Domain, ex.Error);
            await CloseAsync(ex.Error).ConfigureAwait(false);
            throw;
        }
    }

    private static ComponentException FromStreamError(StreamError error) => error.Condition switch
    {
        StreamErrorCondition.NotAuthorized => new ComponentException(ComponentFailure.NotAuthorized,
            $"the server rejected the component secret (not-authorized){Detail(error)}", error),
        StreamErrorCondition.HostUnknown => new ComponentException(ComponentFailure.HostUnknown,
            $"the server has no component configured for this domain (host-unknown){Detail(error)}", error),
        StreamErrorCondition.Conflict => new ComponentException(ComponentFailure.Conflict,
            $"another connection is registered for this component domain (conflict){Detail(error)}", error),
        _ => new ComponentException(ComponentFailure.ProtocolError, $"stream error from the server: {error}", error),
    };

    private static string Detail(StreamError error) => error.Text is null ? "" : ": " + error.Text;

    private static ComponentException Classify(Exception ex) => ex switch
    {
        XmppStreamException { Error: { } error, SentByPeer: true } => FromStreamError(error),
        XmppStreamException { Error: { } error } => new ComponentException(ComponentFailure.ProtocolError,
            "refused the server's stream: " + error, error, ex),
        _ => new ComponentException(ComponentFailure.ConnectionFailed, "connection failed during the handshake: " + ex.Message, null, ex),
    };

    /// <summary>
    /// Reads stanzas and hands each to <paramref name="onStanza"/>, one at a time, until the stream
    /// ends. Never returns normally: throws <see cref="XmppStreamException"/> saying how the
    /// stream ended (stream error from the server, server closed the stream, connection lost,
    /// dead connection), or <see cref="OperationCanceledException"/> after a requested stop, for
    /// which the stream is closed politely first.
    /// </summary>
    /// <remarks>
    /// A handler failure does not end the stream: an iq request whose handler threw is answered
    /// with internal-server-error (every get/set gets a response, RFC 6120 §8.2.3).
    /// </remarks>
    public async Task RunAsync(Func<Stanza, CancellationToken, ValueTask> onStanza, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(onStanza);
        using var stop = cancellationToken.Register(() => _ = CloseAsync(null));
        using var monitorStop = new CancellationTokenSource();
        var monitor = MonitorAsync(monitorStop.Token);
        try
        {
            while (true)
            {
                XmlStreamEvent e;
                try
                {
                    e = await ReadEventAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (XmppStreamException) when (_failure is not null || cancellationToken.IsCancellationRequested)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    throw _failure!;
                }
                switch (e.Kind)
                {
                    case XmlStreamEventKind.StreamError:
                        await CloseAsync(null).ConfigureAwait(false);
                        throw new XmppStreamException(e.Error!, sentByPeer: true);
                    case XmlStreamEventKind.StreamClosed:
                        cancellationToken.ThrowIfCancellationRequested();
                        await CloseAsync(null).ConfigureAwait(false);
                        throw new XmppStreamException("the server closed the stream");
                }
                Stanza stanza;
                try
                {
                    stanza = Stanza.FromElement(e.Element!);
                }
                catch (StanzaFormatException ex)
                {
                    if (!AnswerMalformed(e.Element!, ex))
                    {
                        var error = new StreamError(StreamErrorCondition.UnsupportedStanzaType, ex.Message);
                        await CloseAsync(error).ConfigureAwait(false);
                        throw new XmppStreamException(error, sentByPeer: false);
                    }
                    continue;
                }
                await DispatchAsync(stanza, onStanza, cancellationToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await monitorStop.CancelAsync().ConfigureAwait(false);
            await monitor.ConfigureAwait(false);
        }
    }

    private async ValueTask DispatchAsync(Stanza stanza, Func<Stanza, CancellationToken, ValueTask> onStanza, CancellationToken cancellationToken)
    {
        try
        {
            await onStanza(stanza, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
#pragma warning disable CA1031 // A handler bug must not take the connection down.
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _logger.LogError(ex, "XMPP component {Domain}: handler failed for {Stanza}", Domain, stanza.Element.Name.LocalName);
            if (stanza is Iq { IsRequest: true } iq && iq.From is not null && iq.To is not null)
            {
                TrySendUnchecked(iq.CreateError(StanzaError.Of(StanzaErrorCondition.InternalServerError)));
            }
        }
    }

    /// <summary>A stanza we cannot read is answered with a stanza error when it is one we may answer.</summary>
    private bool AnswerMalformed(XElement element, StanzaFormatException ex)
    {
        if (element.Name.Namespace != Accept || element.Name.LocalName is not ("iq" or "message" or "presence"))
        {
            return false; // not a stanza at all: unsupported-stanza-type (RFC 6120 §4.9.3.24)
        }
        _logger.LogWarning("XMPP component {Domain}: malformed {Kind} from the server: {Reason}", Domain, element.Name.LocalName, ex.Message);
        var type = (string?)element.Attribute("type");
        var from = (string?)element.Attribute("from");
        var to = (string?)element.Attribute("to");
        if (type == "error" || type == "result" || from is null || !Jid.TryParse(from, out _) || to is null || !Jid.TryParse(to, out var toJid)
            || toJid.Domain != Domain.Domain)
        {
            return true; // dropped: no usable address to answer, or answering is not allowed (RFC 6120 §8.3.1)
        }
        var reply = new XElement(element.Name, new XAttribute("type", "error"), new XAttribute("to", from), new XAttribute("from", to));
        if ((string?)element.Attribute("id") is { } id)
        {
            reply.SetAttributeValue("id", id);
        }
        reply.Add(StanzaError.Of(ex.Condition, ex.Message).ToElement(Accept));
        _writer.TryWrite(reply);
        return true;
    }

    /// <summary>Whitespace keepalive when idle; declares the connection dead when nothing arrives.</summary>
    private async Task MonitorAsync(CancellationToken cancellationToken)
    {
        var keepalive = _options.KeepaliveInterval;
        var receive = _options.ReceiveTimeout;
        var tick = TimeSpan.FromTicks(Math.Max(TimeSpan.FromMilliseconds(50).Ticks,
            Math.Min(keepalive.Ticks, receive == Timeout.InfiniteTimeSpan ? keepalive.Ticks : receive.Ticks) / 4));
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
                    // Closed (nothing more to watch) or failed (the stream is dead).
                    if (_writer.Completion.IsFaulted)
                    {
                        Fail(_writer.Completion.Exception!.InnerException!, null);
                    }
                    return;
                }
                if (_time.GetElapsedTime(_writer.LastWrite) >= keepalive)
                {
                    _writer.TryWriteWhitespacePing();
                }
                if (receive != Timeout.InfiniteTimeSpan && _time.GetElapsedTime(_reader.LastReceived) >= receive)
                {
                    var text = $"nothing received for {receive.TotalSeconds:0.#} s";
                    Fail(new XmppStreamException(new StreamError(StreamErrorCondition.ConnectionTimeout, text), sentByPeer: false),
                        new StreamError(StreamErrorCondition.ConnectionTimeout, text));
                    return;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // stopped with the read loop
        }
    }

    private void Fail(Exception reason, StreamError? error)
    {
        _logger.LogWarning("XMPP component {Domain}: {Reason}", Domain, reason.Message);
        _failure = reason;
        _ = CloseAsync(error);
    }

    /// <summary>
    /// Queues an outgoing stanza, waiting while the send queue is full. Throws
    /// <see cref="ArgumentException"/> for a stanza the server would reject (see <see cref="Validate"/>)
    /// and <see cref="XmppStreamException"/> once the stream is closed.
    /// </summary>
    public ValueTask SendAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        Validate(stanza);
        return _writer.WriteAsync(stanza.Element, cancellationToken);
    }

    /// <summary>Queues an outgoing stanza unless the queue is full or the stream closed.</summary>
    public bool TrySend(Stanza stanza)
    {
        Validate(stanza);
        return _writer.TryWrite(stanza.Element);
    }

    /// <summary>
    /// Queues a stanza the caller serialised itself (see <see cref="XmlStreamWriter.TryWriteSerialized"/>):
    /// the caller vouches for what <see cref="Validate"/> checks (from= in the domain, a to=).
    /// </summary>
    public bool TrySendSerialized(ReadOnlySpan<byte> utf8Stanza) => _writer.TryWriteSerialized(utf8Stanza);

    private bool TrySendUnchecked(Stanza stanza)
    {
        try
        {
            return _writer.TryWrite(stanza.Element);
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// Checks what the server enforces before it would close the stream: from= in the component's
    /// domain (else invalid-from, RFC 6120 §4.9.3.9), a to= (else bad-request), and the stanza in
    /// jabber:component:accept.
    /// </summary>
    public void Validate(Stanza stanza)
    {
        ArgumentNullException.ThrowIfNull(stanza);
        if (stanza.Element.Name.Namespace != Accept)
        {
            throw new ArgumentException($"stanza namespace '{stanza.Element.Name.NamespaceName}' is not {XmppNamespaces.ComponentAccept}", nameof(stanza));
        }
        if (stanza.From is null || stanza.From.Domain != Domain.Domain)
        {
            throw new ArgumentException(
                $"from='{stanza.From}' is not in the component's domain {Domain}: the server would close the stream (invalid-from)", nameof(stanza));
        }
        if (stanza.To is null)
        {
            throw new ArgumentException("stanza without to=: the server would answer bad-request", nameof(stanza));
        }
    }

    /// <summary>Sends the stream error (if any) and the closing tag, then closes the socket. Idempotent.</summary>
    public async Task CloseAsync(StreamError? error)
    {
        if (Interlocked.Exchange(ref _closed, 1) != 0)
        {
            return;
        }
        await _writer.CloseAsync(error, TimeSpan.FromSeconds(2)).ConfigureAwait(false);
        try
        {
            _socket.Shutdown(SocketShutdown.Send);
        }
        catch (SocketException)
        {
            // already gone
        }
        catch (ObjectDisposedException)
        {
            // already gone
        }
        _socket.Dispose();
    }

    private static void EnableTcpKeepalive(Socket socket)
    {
        socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 60);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 10);
        socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 3);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        await CloseAsync(null).ConfigureAwait(false);
        await _writer.DisposeAsync().ConfigureAwait(false);
        _reader.Dispose();
        await _network.DisposeAsync().ConfigureAwait(false);
        _socket.Dispose();
    }
}
