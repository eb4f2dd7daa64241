using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging;

namespace Aggregators.Sip.Transport;

/// <summary>
/// UDP: one datagram, one message (RFC 3261 §18.3); malformed datagrams are logged and dropped.
/// One dedicated thread per transport receives with blocking calls, and every send is a blocking
/// <c>sendto</c> from the caller's thread: no async socket operation ever runs on the socket (.NET
/// would make it non-blocking for good), so a datagram costs no epoll wake-up and no thread-pool hop.
/// Responses the <see cref="SipTransportOptions.ResponseFastPath"/> takes are handled on the receive
/// thread itself; everything else is parsed there and queued to the inbox.
/// </summary>
public sealed partial class SipUdpTransport : ISipDatagramTransport
{
    private readonly Socket _socket;
    private readonly SipTransportOptions _options;
    private readonly ChannelWriter<SipReceivedMessage> _inbox;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Thread _receiving;

    private SipUdpTransport(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox)
    {
        _options = options;
        _inbox = inbox;
        _logger = options.LoggerFactory.CreateLogger<SipUdpTransport>();
        _socket = new Socket(options.LocalEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            if (options.ReceiveBufferSize > 0) _socket.ReceiveBufferSize = options.ReceiveBufferSize;
            _socket.Bind(options.LocalEndPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _receiving = new Thread(ReceiveLoop) { IsBackground = true, Name = "SIP UDP " + LocalEndPoint };
        _receiving.Start();
    }

    public static SipUdpTransport Bind(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox) => new(options, inbox);

    public SipTransportProtocol Protocol => SipTransportProtocol.Udp;
    public bool IsReliable => false;
    public IPEndPoint LocalEndPoint { get; }

    /// <summary>Sends at once from the calling thread (a blocking <c>sendto</c>); errors come back in the returned task.</summary>
    public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        // Written into a pooled buffer and sent from it: no array per datagram (timer E resends too).
        using var buffer = new PooledBufferWriter(1024 + message.Body.Length);
        SipMessageWriter.Write(message, buffer);
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            _socket.SendTo(buffer.WrittenMemory.Span, SocketFlags.None, remote);
            return ValueTask.CompletedTask;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException or OperationCanceledException)
        {
            return ValueTask.FromException(e);
        }
    }

    /// <summary>
    /// Sends a datagram already written (e.g. a NOTIFY from a dialog's pre-encoded bytes) to an
    /// address in socket form, from the calling thread. Throws <see cref="SocketException"/> or
    /// <see cref="ObjectDisposedException"/>.
    /// </summary>
    public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote) => _socket.SendTo(datagram, SocketFlags.None, remote);

    private void ReceiveLoop()
    {
        var buffer = new byte[65536];
        // One SocketAddress filled in by every receive: no EndPoint object per datagram. An IPEndPoint
        // is made only for what goes up the stack (requests, responses not taken by the fast path).
        var family = LocalEndPoint.AddressFamily;
        var from = new SocketAddress(family);
        var template = new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        var fastPath = _options.ResponseFastPath;
        while (!_stop.IsCancellationRequested)
        {
            int received;
            try
            {
                received = _socket.ReceiveFrom(buffer, SocketFlags.None, from);
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (_stop.IsCancellationRequested)
            {
                return; // closed under the blocking receive
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize or SocketError.Interrupted)
            {
                continue; // ICMP port unreachable from an earlier send, or an oversize datagram
            }
            if (!OnDatagram(buffer.AsSpan(0, received), from, template, fastPath)) return;
        }
    }

    /// <summary>
    /// One received datagram (its own method: the receive loop never returns, so the JIT only ever
    /// runs it as on-stack-replacement code; this part is compiled and tiered normally). False when
    /// the transport is stopping.
    /// </summary>
    private bool OnDatagram(Span<byte> datagram, SocketAddress from, IPEndPoint template, SipResponseFastPath? fastPath)
    {
        if (IsKeepAlive(datagram)) return true;
        if (fastPath is not null && IsResponse(datagram) && fastPath(datagram)) return true;
        var remote = (IPEndPoint)template.Create(from);
        SipMessage message;
        try
        {
            message = SipMessageParser.ParseDatagram(datagram, _options.Limits);
        }
        catch (SipParseException e)
        {
            LogDropped(remote, e.Message);
            return true;
        }
        if (message is SipRequest request) SipTransportRules.StampReceived(request, remote);
        var item = new SipReceivedMessage(message, this, remote);
        if (_inbox.TryWrite(item)) return true;
        try
        {
            // A bounded inbox that waits when full: this thread waits with it (it is ours, not the pool's).
            if (!_inbox.WaitToWriteAsync(_stop.Token).AsTask().GetAwaiter().GetResult()) return false;
            _inbox.TryWrite(item);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>A Status-Line starts with the SIP version (§7.2); a Request-Line with a method.</summary>
    private static bool IsResponse(ReadOnlySpan<byte> datagram) => datagram.TrimStart("\r\n"u8).StartsWith("SIP/"u8);

    /// <summary>CRLF keep-alives (RFC 5626 §3.5.1 uses them on streams; some UAs also send them on UDP).</summary>
    private static bool IsKeepAlive(ReadOnlySpan<byte> datagram) => datagram.Trim("\r\n\0 "u8).IsEmpty;

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped a malformed UDP datagram from {Remote}: {Reason}")]
    private partial void LogDropped(IPEndPoint remote, string reason);

    public async ValueTask DisposeAsync()
    {
        if (_stop.IsCancellationRequested) return;
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose(); // unblocks the receive
        if (Thread.CurrentThread != _receiving) _receiving.Join();
        _stop.Dispose();
    }
}
