using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Authentication;
using System.Threading.Channels;
using Aggregators.Sip;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// The alert sender's TCP or TLS side (RFC 3261 §18.1.1): outgoing connections only, one per
/// next hop, kept for further alerts and closed when idle. Unlike the notifier's listeners
/// (<see cref="SipStreamTransport"/>) it opens no listening socket, and a TLS connection checks the
/// certificate against the domain the hop was found for (RFC 5922 §7.2), not its address.
/// Responses go to the alert sender's inbox; requests a proxy might send on the connection are
/// dropped (double-CRLF keep-alive pings are answered, RFC 5626 §4.4.1).
/// </summary>
internal sealed partial class SipAlertStreamClient : ISipTransport
{
    private readonly ConcurrentDictionary<IPEndPoint, Connection> _connections = new();
    private readonly RemoteCertificateValidationCallback? _validation;
    private readonly ChannelWriter<SipReceivedMessage> _inbox;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _connectLock = new(1, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly ITimer _idleSweep;

    public SipAlertStreamClient(SipTransportProtocol protocol, IPAddress localAddress, RemoteCertificateValidationCallback? validation,
        ChannelWriter<SipReceivedMessage> inbox, TimeProvider time, ILogger logger)
    {
        if (protocol == SipTransportProtocol.Udp)
        {
            throw new ArgumentException("a stream transport is TCP or TLS", nameof(protocol));
        }
        Protocol = protocol;
        LocalEndPoint = new IPEndPoint(localAddress, 0);
        _validation = validation;
        _inbox = inbox;
        _time = time;
        _logger = logger;
        _idleSweep = time.CreateTimer(static s => ((SipAlertStreamClient)s!).CloseIdle(), this, IdleTimeout / 4, IdleTimeout / 4);
    }

    /// <summary>A connection without traffic for this long is closed.</summary>
    public static TimeSpan IdleTimeout { get; } = TimeSpan.FromMinutes(2);

    /// <summary>How long a connection (and TLS handshake) may take.</summary>
    public static TimeSpan ConnectTimeout { get; } = TimeSpan.FromSeconds(10);

    public SipTransportProtocol Protocol { get; }

    public bool IsReliable => true;

    /// <summary>The address connections leave from (each has its own port: see <see cref="ConnectAsync"/>).</summary>
    public IPEndPoint LocalEndPoint { get; }

    public int ConnectionCount => _connections.Count;

    /// <summary>
    /// The open connection to <paramref name="remote"/>, or a new one (for TLS, authenticating the
    /// server as <paramref name="host"/>); its local endpoint, for the Via's sent-by.
    /// </summary>
    /// <exception cref="IOException">No connection could be made (refused, timed out, TLS refused).</exception>
    public async Task<IPEndPoint> ConnectAsync(IPEndPoint remote, string host, CancellationToken cancellationToken)
    {
        if (_connections.TryGetValue(remote, out var open) && !open.Closed)
        {
            return open.Local;
        }
        await _connectLock.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_connections.TryGetValue(remote, out open) && !open.Closed)
            {
                return open.Local;
            }
            var connection = await OpenAsync(remote, host, cancellationToken).ConfigureAwait(false);
            _connections[remote] = connection;
            _ = Task.Run(() => ReadLoopAsync(connection), CancellationToken.None);
            return connection.Local;
        }
        finally
        {
            _connectLock.Release();
        }
    }

    public async ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        if (!_connections.TryGetValue(remote, out var connection) || connection.Closed)
        {
            throw new IOException($"no {Protocol} connection to {remote}");
        }
        await connection.WriteAsync(SipMessageWriter.ToBytes(message), cancellationToken).ConfigureAwait(false);
    }

    private async Task<Connection> OpenAsync(IPEndPoint remote, string host, CancellationToken cancellationToken)
    {
        var socket = new Socket(remote.AddressFamily, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (remote.AddressFamily == LocalEndPoint.AddressFamily)
            {
                socket.Bind(LocalEndPoint);
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stop.Token);
            timeout.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(remote, timeout.Token).ConfigureAwait(false);
            var local = (IPEndPoint)socket.LocalEndPoint!;
            Stream stream = new NetworkStream(socket, ownsSocket: true);
            if (Protocol == SipTransportProtocol.Tls)
            {
                var ssl = new SslStream(stream, leaveInnerStreamOpen: false);
                try
                {
                    // RFC 5922 §7.2: the certificate must name the domain (SNI too); the system store
                    // unless Pna:Alerts:Sip:TlsCaFile / TlsPinnedSha256 say otherwise.
                    await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions
                    {
                        TargetHost = host.Trim('[', ']'),
                        RemoteCertificateValidationCallback = _validation,
                    }, timeout.Token).ConfigureAwait(false);
                }
                catch
                {
                    await ssl.DisposeAsync().ConfigureAwait(false);
                    throw;
                }
                stream = ssl;
            }
            LogConnected(Protocol.ToString(), remote.ToString(), host);
            return new Connection(stream, remote, local, _time);
        }
        catch (Exception e) when (e is SocketException or AuthenticationException or IOException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            socket.Dispose();
            var what = e is AuthenticationException ? "TLS with " + host + " failed" : "cannot connect";
            throw new IOException($"{what} ({Protocol.ToString().ToUpperInvariant()} {remote}): {e.Message}", e);
        }
    }

    private async Task ReadLoopAsync(Connection connection)
    {
        var reader = PipeReader.Create(connection.Stream, new StreamPipeReaderOptions(bufferSize: 4096, leaveOpen: true));
        var framer = new SipStreamFramer(reader);
        var reason = "closed by peer";
        try
        {
            while (!_stop.IsCancellationRequested)
            {
                var frame = await framer.ReadAsync(_stop.Token).ConfigureAwait(false);
                connection.Touch();
                if (frame.Kind == SipFrameKind.EndOfStream)
                {
                    break;
                }
                if (frame.Kind == SipFrameKind.KeepAlivePing)
                {
                    await connection.WriteAsync("\r\n"u8.ToArray(), _stop.Token).ConfigureAwait(false);
                    continue;
                }
                if (frame.Message is SipResponse)
                {
                    _inbox.TryWrite(new SipReceivedMessage(frame.Message, this, connection.Remote));
                }
            }
        }
        catch (SipParseException e)
        {
            reason = "framing error: " + e.Message;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException or SocketException)
        {
            reason = e.Message;
        }
        finally
        {
            await reader.CompleteAsync().ConfigureAwait(false);
            _connections.TryRemove(new KeyValuePair<IPEndPoint, Connection>(connection.Remote, connection));
            await connection.DisposeAsync().ConfigureAwait(false);
            LogClosed(connection.Remote.ToString(), reason);
        }
    }

    private void CloseIdle()
    {
        var now = _time.GetUtcNow();
        foreach (var (_, connection) in _connections)
        {
            if (now - connection.LastActivity > IdleTimeout)
            {
                _ = connection.DisposeAsync().AsTask(); // the read loop ends and removes it
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        await _idleSweep.DisposeAsync().ConfigureAwait(false);
        foreach (var (_, connection) in _connections)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
        }
        _connections.Clear();
        _connectLock.Dispose();
        _stop.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP alert sender: {Protocol} connection to {Remote} ({Host})")]
    private partial void LogConnected(string protocol, string remote, string host);

    [LoggerMessage(Level = LogLevel.Debug, Message = "SIP alert sender: connection to {Remote} closed: {Reason}")]
    private partial void LogClosed(string remote, string reason);

    /// <summary>One connection; writes are serialised so messages never interleave.</summary>
    private sealed class Connection(Stream stream, IPEndPoint remote, IPEndPoint local, TimeProvider time) : IAsyncDisposable
    {
        private readonly SemaphoreSlim _write = new(1, 1);
        private long _lastActivityTicks = time.GetUtcNow().UtcTicks;
        private int _closed;

        public Stream Stream { get; } = stream;
        public IPEndPoint Remote { get; } = remote;
        public IPEndPoint Local { get; } = local;
        public bool Closed => Volatile.Read(ref _closed) != 0;
        public DateTimeOffset LastActivity => new(Interlocked.Read(ref _lastActivityTicks), TimeSpan.Zero);

        public void Touch() => Interlocked.Exchange(ref _lastActivityTicks, time.GetUtcNow().UtcTicks);

        public async ValueTask WriteAsync(ReadOnlyMemory<byte> bytes, CancellationToken cancellationToken)
        {
            await _write.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                await Stream.FlushAsync(cancellationToken).ConfigureAwait(false);
                Touch();
            }
            finally
            {
                _write.Release();
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _closed, 1) == 0)
            {
                await Stream.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
