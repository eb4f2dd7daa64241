using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging;

namespace Aggregators.Sip.Transport;

/// <summary>UDP: one datagram, one message (RFC 3261 §18.3); malformed datagrams are logged and dropped.</summary>
public sealed partial class SipUdpTransport : ISipTransport
{
    private readonly Socket _socket;
    private readonly SipTransportOptions _options;
    private readonly ChannelWriter<SipReceivedMessage> _inbox;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receiving;

    private SipUdpTransport(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox)
    {
        _options = options;
        _inbox = inbox;
        _logger = options.LoggerFactory.CreateLogger<SipUdpTransport>();
        _socket = new Socket(options.LocalEndPoint.AddressFamily, SocketType.Dgram, ProtocolType.Udp);
        try
        {
            _socket.Bind(options.LocalEndPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }
        LocalEndPoint = (IPEndPoint)_socket.LocalEndPoint!;
        _receiving = Task.Run(ReceiveLoopAsync);
    }

    public static SipUdpTransport Bind(SipTransportOptions options, ChannelWriter<SipReceivedMessage> inbox) => new(options, inbox);

    public SipTransportProtocol Protocol => SipTransportProtocol.Udp;
    public bool IsReliable => false;
    public IPEndPoint LocalEndPoint { get; }

    public async ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        // Written into a pooled buffer and sent from it: no array per datagram (timer E resends too).
        using var buffer = new PooledBufferWriter(1024 + message.Body.Length);
        SipMessageWriter.Write(message, buffer);
        await _socket.SendToAsync(buffer.WrittenMemory, SocketFlags.None, remote, cancellationToken).ConfigureAwait(false);
    }

    private async Task ReceiveLoopAsync()
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
                received = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, from, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException) when (_stop.IsCancellationRequested)
            {
                return; // the SocketAddress overload reports a cancelled receive as OperationAborted
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.MessageSize)
            {
                continue; // ICMP port unreachable from an earlier send, or an oversize datagram
            }
            var datagram = buffer.AsSpan(0, received);
            if (IsKeepAlive(datagram)) continue;
            if (fastPath is not null && IsResponse(datagram) && fastPath(datagram)) continue;
            var remote = (IPEndPoint)template.Create(from);
            SipMessage message;
            try
            {
                message = SipMessageParser.ParseDatagram(datagram, _options.Limits);
            }
            catch (SipParseException e)
            {
                LogDropped(remote, e.Message);
                continue;
            }
            if (message is SipRequest request) SipTransportRules.StampReceived(request, remote);
            await _inbox.WriteAsync(new SipReceivedMessage(message, this, remote), _stop.Token).ConfigureAwait(false);
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
        await _stop.CancelAsync().ConfigureAwait(false);
        _socket.Dispose();
        try
        {
            await _receiving.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
