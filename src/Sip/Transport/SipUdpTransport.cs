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
    public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        // On the receive thread while it handles a batch (a 200 released a dialog's next NOTIFY):
        // queued and sent with the batch's other datagrams by one sendmmsg after the batch.
        if (_receiveSends is { } batch && Environment.CurrentManagedThreadId == _receiveThreadId)
        {
            batch.Send(datagram, remote);
            return;
        }
        _socket.SendTo(datagram, SocketFlags.None, remote);
    }

    /// <summary>One <c>sendto</c>, never queued (the batch's own way out for a datagram it cannot hold).</summary>
    internal void SendNow(ReadOnlySpan<byte> datagram, SocketAddress remote) => _socket.SendTo(datagram, SocketFlags.None, remote);

    private SipDatagramBatch? _receiveSends; // set by the receive thread, only while it handles a received batch
    private int _receiveThreadId;

    /// <summary>The socket's handle, for <see cref="SipDatagramBatch"/>'s <c>sendmmsg</c>; throws <see cref="ObjectDisposedException"/> once closed.</summary>
    internal System.Runtime.InteropServices.SafeHandle SocketHandle
    {
        get
        {
            ObjectDisposedException.ThrowIf(_stop.IsCancellationRequested, this);
            return _socket.SafeHandle;
        }
    }

    private void ReceiveLoop()
    {
        var buffer = new byte[65536];
        // One SocketAddress filled in by every receive: no EndPoint object per datagram. An IPEndPoint
        // is made only for what goes up the stack (requests, responses not taken by the fast path).
        var family = LocalEndPoint.AddressFamily;
        var from = new SocketAddress(family);
        var template = new IPEndPoint(family == AddressFamily.InterNetworkV6 ? IPAddress.IPv6Any : IPAddress.Any, 0);
        var fastPath = _options.ResponseFastPath;
        if (UdpBatchReceiver.IsSupported && !ReceiveBatches(template, fastPath)) return;
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
    /// Linux: the datagrams already queued are taken with one <c>recvmmsg</c>, and the NOTIFYs
    /// their 200s release leave together with one <c>sendmmsg</c> after every
    /// <see cref="SendsPerFlush"/> of them and at the end of the batch, so a burst of 200s costs a
    /// few system calls instead of two per datagram. False when the transport is stopping; true when
    /// <c>recvmmsg</c> failed in a way the plain <c>ReceiveFrom</c> loop should handle instead.
    /// </summary>
    private bool ReceiveBatches(IPEndPoint template, SipResponseFastPath? fastPath)
    {
        const int EINTR = 4, EBADF = 9, EAGAIN = 11, ENOTSOCK = 88, ECONNREFUSED = 111;
        using var batch = new UdpBatchReceiver(LocalEndPoint.AddressFamily);
        var sends = new SipDatagramBatch(this);
        _receiveThreadId = Environment.CurrentManagedThreadId;
        while (!_stop.IsCancellationRequested)
        {
            int count, error;
            try
            {
                count = batch.Receive(_socket.SafeHandle, out error);
            }
            catch (ObjectDisposedException)
            {
                return false; // the socket's handle was closed before the call
            }
            if (_stop.IsCancellationRequested) return false; // shut down under the blocking receive
            if (count < 0)
            {
                // ICMP port unreachable from an earlier send, or a signal: receive again.
                if (error is EINTR or EAGAIN or ECONNREFUSED) continue;
                if (error is EBADF or ENOTSOCK) return false;
                return true;
            }
            if (!OnBatch(batch, count, sends, template, fastPath)) return false;
        }
        return false;
    }

    /// <summary>
    /// The most NOTIFYs the receive thread holds before sending them: a thread preempted in the
    /// middle of a batch delays at most this many.
    /// </summary>
    internal const int SendsPerFlush = 16;

    private bool OnBatch(UdpBatchReceiver batch, int count, SipDatagramBatch sends, IPEndPoint template, SipResponseFastPath? fastPath)
    {
        _receiveSends = sends;
        try
        {
            for (var i = 0; i < count; i++)
            {
                // An oversize datagram (cut short by the kernel) is dropped, like MessageSize in the plain loop.
                if (!batch.TryGetDatagram(i, out var datagram, out var from)) continue;
                if (!OnDatagram(datagram, from, template, fastPath)) return false;
                if (sends.Count >= SendsPerFlush) FlushReceiveSends(sends);
            }
            return true;
        }
        finally
        {
            _receiveSends = null;
            FlushReceiveSends(sends);
        }
    }

    private void FlushReceiveSends(SipDatagramBatch sends)
    {
        if (sends.Count == 0) return;
        if (sends.Flush() is > 0 and var dropped) LogSendsDropped(dropped);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "The kernel refused {Count} datagrams of a batch; timer E retransmits them")]
    private partial void LogSendsDropped(int count);

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
        try
        {
            // Wakes a receive blocked in recvmmsg (closing the descriptor alone would not). On an
            // unconnected UDP socket Linux reports ENOTCONN but still shuts the receive side down.
            _socket.Shutdown(SocketShutdown.Both);
        }
        catch (SocketException)
        {
        }
        _socket.Dispose(); // unblocks the plain receive
        if (Thread.CurrentThread != _receiving) _receiving.Join();
        _stop.Dispose();
    }
}
