using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Aggregators.Sip.Parsing;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Sip.Transport;

public enum SipTransportProtocol
{
    Udp,
    Tcp,
    Tls,
}

/// <summary>See <see cref="SipTransportOptions.ResponseFastPath"/>.</summary>
public delegate bool SipResponseFastPath(ReadOnlySpan<byte> message);

/// <summary>A message handed up by a transport, with where it came from (RFC 3261 §18.2.1, §18.1.2).</summary>
public sealed record SipReceivedMessage(SipMessage Message, ISipTransport Transport, IPEndPoint RemoteEndPoint)
{
    public SipTransportProtocol Protocol => Transport.Protocol;
    public IPEndPoint LocalEndPoint => Transport.LocalEndPoint;
}

/// <summary>One SIP transport bound to one local endpoint. Sending never waits for receiving.</summary>
public interface ISipTransport : IAsyncDisposable
{
    SipTransportProtocol Protocol { get; }

    /// <summary>Reliable transports carry no retransmissions (RFC 3261 §17.1.2.2, timers E/K).</summary>
    bool IsReliable { get; }

    IPEndPoint LocalEndPoint { get; }

    /// <summary>Sends a message; on streams over the connection to <paramref name="remote"/>, opened if needed.</summary>
    ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default);
}

public sealed record SipTransportOptions
{
    /// <summary>The address and port to bind (e.g. 127.0.0.1:5060; port 0 picks one).</summary>
    public required IPEndPoint LocalEndPoint { get; init; }

    public SipParserLimits Limits { get; init; } = SipParserLimits.Default;

    /// <summary>Stream connections with no traffic for this long are closed.</summary>
    public TimeSpan IdleTimeout { get; init; } = TimeSpan.FromMinutes(5);

    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>UDP only: the socket receive buffer to ask for, in bytes (SO_RCVBUF, capped by the system); 0 keeps the system default.</summary>
    public int ReceiveBufferSize { get; init; }

    public int MaxConnections { get; init; } = 10_000;

    /// <summary>TLS only: the server certificate (with private key) presented to peers.</summary>
    public X509Certificate2? ServerCertificate { get; init; }

    /// <summary>TLS only: how outgoing connections authenticate the peer (TargetHost is set per connection if empty).</summary>
    public RemoteCertificateValidationCallback? RemoteCertificateValidation { get; init; }

    /// <summary>
    /// UDP only: offered the bytes of each received response before the full parse, on the receive
    /// loop itself (no channel, no thread hop); returns true when it consumed the response (e.g.
    /// <see cref="Transactions.SipTransactionLayer.TryMatchResponse"/>), false to have it parsed and
    /// queued as usual. It must return quickly and not block.
    /// </summary>
    public SipResponseFastPath? ResponseFastPath { get; init; }

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;

    public ILoggerFactory LoggerFactory { get; init; } = NullLoggerFactory.Instance;
}

/// <summary>Rules a transport applies to what it receives (RFC 3261 §18.2.1, RFC 3581 §4) and where responses go (§18.2.2).</summary>
public static class SipTransportRules
{
    /// <summary>
    /// Adds received= when the top Via's sent-by host differs from the source address, and fills in
    /// a valueless rport with the source port.
    /// </summary>
    public static void StampReceived(SipRequest request, IPEndPoint source)
    {
        var vias = request.Headers.GetAll(SipHeaderNames.Via).ToList();
        if (vias.Count == 0) return;
        var all = request.Via;
        var top = all[0];
        var address = source.Address.IsIPv4MappedToIPv6 ? source.Address.MapToIPv4() : source.Address;
        var changed = false;
        if (!string.Equals(top.Host.Trim('[', ']'), address.ToString(), StringComparison.OrdinalIgnoreCase) || top.HasRport)
        {
            top.Received = address.ToString(); // IPv4address / IPv6address, no brackets (§25.1 via-received)
            changed = true;
        }
        if (top.HasRport && top.Parameters["rport"] is null)
        {
            top.Parameters.Set("rport", source.Port.ToString(System.Globalization.CultureInfo.InvariantCulture));
            changed = true;
        }
        if (!changed) return;
        // Rewrite the Via fields: the new top value first, then the rest, one per field.
        request.Headers.Remove(SipHeaderNames.Via);
        for (var i = all.Count - 1; i >= 0; i--) request.Headers.Prepend(SipHeaderNames.Via, (i == 0 ? top : all[i]).ToString());
    }

    /// <summary>
    /// Where an unreliable transport sends a response (§18.2.2, RFC 3581 §4): received (or sent-by
    /// host) and rport (or sent-by port, or 5060).
    /// </summary>
    public static IPEndPoint? ResponseDestination(SipVia topVia, IPEndPoint? source = null)
    {
        var host = topVia.Received ?? topVia.Host;
        if (!IPAddress.TryParse(host.Trim('[', ']'), out var address)) return null;
        var port = topVia.Rport ?? (topVia.HasRport ? source?.Port : null) ?? topVia.Port ?? (topVia.Transport == "TLS" ? 5061 : 5060);
        return new IPEndPoint(address, port);
    }
}

/// <summary>
/// A datagram transport (UDP, RFC 3261 §18.1.1) that also sends bytes already written, from the
/// calling thread — what <see cref="Transactions.SipClientTransactionSlot"/> sends and retransmits.
/// </summary>
public interface ISipDatagramTransport : ISipTransport
{
    /// <summary>Sends one datagram; throws <see cref="System.Net.Sockets.SocketException"/> or <see cref="ObjectDisposedException"/>.</summary>
    void Send(ReadOnlySpan<byte> datagram, System.Net.SocketAddress remote);
}
