using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Security.Authentication;
using System.Net.Sockets;
using System.Threading.Channels;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging;

namespace Aggregators.Sip.Transport;

/// <summary>
/// TCP or TLS (RFC 3261 §18, RFC 5630): a listener on the local endpoint (none in connect-only
/// mode) and a table of connections, reused for sending in both directions and closed after an
/// idle timeout. A framing error closes only the connection it came on. Connections are keyed by
/// the remote endpoint and, for outgoing TLS, the name the server's certificate was checked
/// against (RFC 5922 §7.2), so two domains served from one address never share a connection
/// authenticated for the other.
/// </summary>
public sealed partial class SipStreamTransport : ISipTransport
{
    private readonly SipTransportOptions _options;
    private readonly ChannelWriter<SipReceivedMessage> _inbox;
    private readonly ILogger _logger;
    private readonly Socket? _listener;
    private readonly ConcurrentDictionary<ConnectionKey, Task<SipConnection>> _connections = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _connectLock = new();
    private readonly Task _accepting;
    private readonly ITimer _idleSweep;

    private SipStreamTransport(SipTransportProtocol protocol, SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox, bool listen)
    {
        if (protocol == SipTransportProtocol.Udp)
            throw new ArgumentException("a stream transport is TCP or TLS", nameof(protocol));
        if (listen && protocol == SipTransportProtocol.Tls && options.ServerCertificate is null)
            throw new ArgumentException("TLS needs a ServerCertificate", nameof(options));
        Protocol = protocol;
        _options = options;
        _inbox = inbox;
        _logger = options.LoggerFactory.CreateLogger<SipStreamTransport>();
        if (listen)
        {
            _listener = new Socket(options.LocalEndPoint.AddressFamily, SocketType.Stream, ProtocolType.Tcp);
            try
            {
                _listener.Bind(options.LocalEndPoint);
                _listener.Listen(512);
            }
            catch
            {
                _listener.Dispose();
                throw;
            }
            LocalEndPoint = (IPEndPoint)_listener.LocalEndPoint!;
            _accepting = Task.Run(AcceptLoopAsync);
        }
        else
        {
            LocalEndPoint = options.LocalEndPoint;
            _accepting = Task.CompletedTask;
        }
        var sweep = options.IdleTimeout / 4 < TimeSpan.FromSeconds(1) ? options.IdleTimeout / 4 : TimeSpan.FromSeconds(Math.Min(30, options.IdleTimeout.TotalSeconds / 4));
        _idleSweep = options.TimeProvider.CreateTimer(_ => CloseIdle(), null, sweep, sweep);
    }

    public static SipStreamTransport BindTcp(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox) =>
        new(SipTransportProtocol.Tcp, options, inbox, listen: true);

    public static SipStreamTransport BindTls(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox) =>
        new(SipTransportProtocol.Tls, options, inbox, listen: true);

    /// <summary>
    /// Connect-only: no listening socket; outgoing connections leave from the address of
    /// <see cref="SipTransportOptions.LocalEndPoint"/> (port 0 is typical). TLS needs no server
    /// certificate. Everything received on the connections goes to <paramref name="inbox"/>.
    /// </summary>
    public static SipStreamTransport ConnectOnly(SipTransportProtocol protocol, SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox) =>
        new(protocol, options, inbox, listen: false);

    public SipTransportProtocol Protocol { get; }
    public bool IsReliable => true;
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Open connections (for tests and metrics).</summary>
    public int ConnectionCount => _connections.Count;

    public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default) =>
        SendAsync(message, remote, tlsServerName: null, cancellationToken);

    /// <summary>
    /// Sends over the connection to <paramref name="remote"/> for <paramref name="tlsServerName"/>,
    /// opened if needed (see <see cref="ConnectAsync"/>).
    /// </summary>
    public async ValueTask SendAsync(SipMessage message, IPEndPoint remote, string? tlsServerName, CancellationToken cancellationToken = default)
    {
        var bytes = SipMessageWriter.ToBytes(message);
        var connection = await GetOrConnectAsync(KeyOf(remote, tlsServerName), cancellationToken).ConfigureAwait(false);
        await connection.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The open connection to <paramref name="remote"/>, or a new one; its local endpoint (the
    /// sent-by of a Via). Over TLS the server's certificate must name <paramref name="tlsServerName"/>
    /// (RFC 5922 §7.2: the domain the hop was found for), or the address when it is null; the name
    /// is also sent as SNI. Ignored over TCP.
    /// </summary>
    /// <exception cref="IOException">No connection could be made (refused, timed out, TLS refused).</exception>
    public async Task<IPEndPoint> ConnectAsync(IPEndPoint remote, string? tlsServerName, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(remote);
        var connection = await GetOrConnectAsync(KeyOf(remote, tlsServerName), cancellationToken).ConfigureAwait(false);
        return connection.Local;
    }

    /// <summary>A view of this transport whose sends go over connections for <paramref name="tlsServerName"/> (for a transaction layer).</summary>
    public ISipTransport Towards(string? tlsServerName) => tlsServerName is null || Protocol != SipTransportProtocol.Tls ? this : new ServerNameView(this, tlsServerName);

    /// <summary>Whether a connection to <paramref name="remote"/> (opened by either side, any TLS name) is open now.</summary>
    public bool IsConnected(IPEndPoint remote) => FindOpen(remote) is not null;

    /// <summary>
    /// Writes to an open connection with <paramref name="remote"/> (accepted or opened, any TLS
    /// name) without opening one; false when there is none or the write failed because it closed.
    /// </summary>
    internal async ValueTask<bool> TrySendOverOpenAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken)
    {
        if (FindOpen(remote) is not { } connection) return false;
        try
        {
            await connection.WriteAsync(SipMessageWriter.ToBytes(message), cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or SocketException)
        {
            await CloseAsync(connection).ConfigureAwait(false);
            return false;
        }
    }

    /// <summary>An open connection with <paramref name="remote"/>: the one without a TLS name (accepted, or TCP) at once, else any.</summary>
    private SipConnection? FindOpen(IPEndPoint remote)
    {
        if (_connections.TryGetValue(new ConnectionKey(remote, null), out var direct) && direct.IsCompletedSuccessfully && !direct.Result.IsClosed)
            return direct.Result;
        if (Protocol != SipTransportProtocol.Tls) return null;
        foreach (var (key, task) in _connections)
        {
            if (key.Remote.Equals(remote) && task.IsCompletedSuccessfully && !task.Result.IsClosed) return task.Result;
        }
        return null;
    }

    private ConnectionKey KeyOf(IPEndPoint remote, string? tlsServerName) =>
        new(remote, Protocol == SipTransportProtocol.Tls && tlsServerName is not null ? tlsServerName.Trim('[', ']').ToLowerInvariant() : null);

    private async Task<SipConnection> GetOrConnectAsync(ConnectionKey key, CancellationToken cancellationToken)
    {
        while (true)
        {
            Task<SipConnection>? pending;
            lock (_connectLock)
            {
                // Under a lock so that two senders never open two connections to one peer.
                if (!_connections.TryGetValue(key, out pending))
                {
                    pending = ConnectAsync(key);
                    _connections[key] = pending;
                }
            }
            try
            {
                var connection = await pending.WaitAsync(cancellationToken).ConfigureAwait(false);
                if (!connection.IsClosed) return connection;
            }
            catch (Exception e) when (e is SocketException or IOException or AuthenticationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
            {
                _connections.TryRemove(new KeyValuePair<ConnectionKey, Task<SipConnection>>(key, pending));
                var what = e is AuthenticationException ? $"TLS with {key.ServerName ?? key.Remote.Address.ToString()} failed" : "cannot connect";
                throw new IOException($"{what} ({Protocol.ToString().ToUpperInvariant()} {key.Remote}): {e.Message}", e);
            }
            _connections.TryRemove(new KeyValuePair<ConnectionKey, Task<SipConnection>>(key, pending));
        }
    }

    private async Task<SipConnection> ConnectAsync(ConnectionKey key)
    {
        if (_connections.Count > _options.MaxConnections) throw new IOException("too many connections");
        var remote = key.Remote;
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            // Outgoing connections leave from the configured address (the port is the system's choice).
            if (remote.AddressFamily == LocalEndPoint.AddressFamily) socket.Bind(new IPEndPoint(LocalEndPoint.Address, 0));
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
            timeout.CancelAfter(_options.ConnectTimeout);
            await socket.ConnectAsync(remote, timeout.Token).ConfigureAwait(false);
            var local = (IPEndPoint)socket.LocalEndPoint!;
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (Protocol == SipTransportProtocol.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = key.ServerName ?? remote.Address.ToString(),
                        RemoteCertificateValidationCallback = _options.RemoteCertificateValidation,
                    }, timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
                stream = ssl;
            }
            LogConnected(Protocol, remote, key.ServerName);
            return Start(stream, key, local);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener!.AcceptAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                continue;
            }
            _ = Task.Run(() => AcceptedAsync(socket));
        }
    }

    private async Task AcceptedAsync(Socket socket)
    {
        var remote = (IPEndPoint)socket.RemoteEndPoint!;
        var local = (IPEndPoint)socket.LocalEndPoint!;
        if (_connections.Count >= _options.MaxConnections)
        {
            socket.Dispose();
            return;
        }
        socket.NoDelay = true;
        Stream stream = new NetworkStream(socket, ownsSocket: true);
        try
        {
            if (Protocol == SipTransportProtocol.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
                timeout.CancelAfter(_options.ConnectTimeout);
                await ssl.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _options.ServerCertificate }, timeout.Token).ConfigureAwait(false);
                stream = ssl;
            }
        }
        catch (Exception e) when (e is IOException or AuthenticationException or OperationCanceledException or SocketException)
        {
            LogClosed(remote, "TLS handshake failed: " + e.Message);
            await stream.DisposeAsync().ConfigureAwait(false);
            return;
        }
        var connection = Start(stream, new ConnectionKey(remote, null), local);
        _connections[connection.Key] = Task.FromResult(connection);
    }

    private SipConnection Start(Stream stream, ConnectionKey key, IPEndPoint local)
    {
        var connection = new SipConnection(stream, key, local, _options.TimeProvider);
        _ = Task.Run(() => ReadLoopAsync(connection));
        return connection;
    }

    private async Task ReadLoopAsync(SipConnection connection)
    {
        var reader = PipeReader.Create(connection.Stream, new StreamPipeReaderOptions(bufferSize: 8192, leaveOpen: true));
        var framer = new SipStreamFramer(reader, _options.Limits);
        var reason = "closed by peer";
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var frame = await framer.ReadAsync(_stop.Token).ConfigureAwait(false);
                connection.Touch();
                if (frame.Kind == SipFrameKind.EndOfStream) break;
                if (frame.Kind == SipFrameKind.KeepAlivePing)
                {
                    await connection.WriteAsync("\r\n"u8.ToArray(), _stop.Token).ConfigureAwait(false); // pong, RFC 5626 §4.4.1
                    continue;
                }
                if (frame.Message is SipRequest request) SipTransportRules.StampReceived(request, connection.Remote);
                await _inbox.WriteAsync(new SipReceivedMessage(frame.Message!, this, connection.Remote), _stop.Token).ConfigureAwait(false);
            }
        }
        catch (SipParseException e)
        {
            reason = "framing error: " + e.Message;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException or ChannelClosedException)
        {
            reason = e.Message;
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            await CloseAsync(connection).ConfigureAwait(false);
            LogClosed(connection.Remote, reason);
        }
    }

    private async Task CloseAsync(SipConnection connection)
    {
        if (_connections.TryGetValue(connection.Key, out var t) && t.IsCompletedSuccessfully && ReferenceEquals(t.Result, connection))
            _connections.TryRemove(new KeyValuePair<ConnectionKey, Task<SipConnection>>(connection.Key, t));
        await connection.DisposeAsync().ConfigureAwait(false);
    }

    private void CloseIdle()
    {
        var now = _options.TimeProvider.GetUtcNow();
        foreach (var (_, task) in _connections)
        {
            // A connection carrying live dialogs is their only way to the peer: not idle (see Pin).
            if (task.IsCompletedSuccessfully && now - task.Result.LastActivity > _options.IdleTimeout && !IsPinned(task.Result.Remote))
                _ = CloseAsync(task.Result);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP connection with {Remote} closed: {Reason}")]
    private partial void LogClosed(IPEndPoint remote, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP {Protocol} connection to {Remote} opened (TLS server name {ServerName})")]
    private partial void LogConnected(SipTransportProtocol protocol, IPEndPoint remote, string? serverName);

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _idleSweep.DisposeAsync().ConfigureAwait(false);
        _listener?.Dispose();
        await _accepting.ConfigureAwait(false);
        foreach (var (_, task) in _connections)
            if (task.IsCompletedSuccessfully) await task.Result.DisposeAsync().ConfigureAwait(false);
        _connections.Clear();
        _stop.Dispose();
    }

    /// <summary>A connection's table key: the peer and, for outgoing TLS, the server name its certificate was checked against.</summary>
    private readonly record struct ConnectionKey(IPEndPoint Remote, string? ServerName);

    /// <summary>Sends over the connections for one TLS server name (see <see cref="Towards"/>).</summary>
    private sealed class ServerNameView(SipStreamTransport transport, string serverName) : ISipTransport
    {
        public SipTransportProtocol Protocol => transport.Protocol;
        public bool IsReliable => true;
        public IPEndPoint LocalEndPoint => transport.LocalEndPoint;

        public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default) =>
            transport.SendAsync(message, remote, serverName, cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask; // the transport is disposed by its owner
    }

    /// <summary>One connection: writes are serialised by a lock so messages never interleave.</summary>
    private sealed class SipConnection(Stream stream, ConnectionKey key, IPEndPoint local, TimeProvider time) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _writeLock = new(1, 1);
        private int _closed;
        private long _lastActivityTicks = time.GetUtcNow().UtcTicks;

        public Stream Stream { get; } = stream;
        public ConnectionKey Key { get; } = key;
        public IPEndPoint Remote => Key.Remote;
        public IPEndPoint Local { get; } = local;
        public bool IsClosed => Volatile.Read(ref _closed) != 0;
        public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

        public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, time.GetUtcNow().UtcTicks);

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            await _writeLock.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                ObjectDisposedException.ThrowIf(IsClosed, this);
                await Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                Touch();
            }
            finally
            {
                _writeLock.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) != 0) return;
            await Stream.DisposeAsync().ConfigureAwait(false);
        }
    }
}
