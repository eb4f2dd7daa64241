using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging;

namespace Aggregators.Sip.Transport;

/// <summary>
/// How one dialog's in-dialog requests travel over TCP or TLS. The dialog's connection (its
/// flow: the one its SUBSCRIBE came on, RFC 5626 §3.3) is pinned against the idle sweep while the
/// dialog lives. A request goes over that connection while it is open; when the peer has closed
/// it, over a connection to the dialog's next hop — the first Route of the route set, else the
/// remote target (the Contact, RFC 3261 §12.2.1.1) — located as RFC 3263 §4.2 says for a URI
/// whose transport is already chosen (see <see cref="ResolveAsync"/>). That connection becomes the
/// flow. Only a failure of that is the request's transport error. Give this object to the
/// transaction layer as the transport of the dialog's requests; dispose it when the dialog ends.
/// </summary>
public sealed partial class SipDialogFlow : ISipTransport, IDisposable
{
    private readonly SipStreamTransport _transport;
    private readonly Func<SipUri> _nextHop;
    private readonly Action<IPEndPoint>? _moved;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private IPEndPoint _flow;
    private IDisposable? _pin;

    /// <param name="transport">The dialog's stream transport.</param>
    /// <param name="flow">The remote end of the connection the dialog was made on.</param>
    /// <param name="nextHop">The dialog's next hop now (first Route, else remote target); read when the flow is gone.</param>
    /// <param name="moved">Told the new remote end when requests move to a new connection.</param>
    /// <param name="logger">Where a move, or a failure to move, is logged.</param>
    public SipDialogFlow(SipStreamTransport transport, IPEndPoint flow, Func<SipUri> nextHop, Action<IPEndPoint>? moved, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(flow);
        _transport = transport;
        _nextHop = nextHop;
        _moved = moved;
        _logger = logger;
        _flow = flow;
        _pin = transport.Pin(flow);
    }

    /// <summary>The remote end of the dialog's connection.</summary>
    public IPEndPoint Flow
    {
        get
        {
            lock (_gate) return _flow;
        }
    }

    public SipTransportProtocol Protocol => _transport.Protocol;
    public bool IsReliable => true;
    public IPEndPoint LocalEndPoint => _transport.LocalEndPoint;

    /// <summary>Moves the dialog onto another connection (a refresh came over a new one); the old one is unpinned.</summary>
    public void MoveTo(IPEndPoint remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        lock (_gate)
        {
            if (_pin is null || _flow.Equals(remote)) return;
            _pin.Dispose();
            _pin = _transport.Pin(remote);
            _flow = remote;
        }
    }

    /// <summary>Sends over the flow, else to the next hop (<paramref name="remote"/> is not used: the flow decides).</summary>
    /// <exception cref="IOException">The flow is gone and the next hop cannot be reached.</exception>
    public async ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        var flow = Flow;
        if (await _transport.TrySendOverOpenAsync(message, flow, cancellationToken).ConfigureAwait(false)) return;
        SipUri nextHop;
        try
        {
            nextHop = _nextHop();
        }
        catch (SipParseException e)
        {
            throw new IOException($"the connection with {flow} is closed and the dialog's next hop is not a SIP URI: {e.Message}", e);
        }
        var serverName = TlsServerName(nextHop);
        IPEndPoint destination;
        try
        {
            destination = await ResolveAsync(nextHop, Protocol, cancellationToken).ConfigureAwait(false);
            await _transport.ConnectAsync(destination, serverName, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            LogUnreachable(flow, nextHop.ToString(), e.Message);
            throw new IOException($"the connection with {flow} is closed and {nextHop} cannot be reached: {e.Message}", e);
        }
        // The new connection is the dialog's (pinned) before the request leaves, so nothing its answer sets off finds the old one.
        LogMoved(flow, nextHop.ToString(), destination);
        MoveTo(destination);
        _moved?.Invoke(destination);
        await _transport.SendAsync(message, destination, serverName, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// RFC 3263 §4.2 for a URI whose transport is already chosen (the dialog's): an address as it
    /// is; a host name's A/AAAA record (IPv4 first); the URI's port, else 5060 (5061 for TLS). No SRV:
    /// a Contact names a device, with its address and port as a rule.
    /// </summary>
    /// <exception cref="IOException">The host name has no address.</exception>
    public static async Task<IPEndPoint> ResolveAsync(SipUri uri, SipTransportProtocol protocol, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(uri);
        var port = uri.Port ?? (protocol == SipTransportProtocol.Tls ? 5061 : 5060);
        var host = uri.Host.Trim('[', ']');
        if (IPAddress.TryParse(host, out var literal)) return new IPEndPoint(literal, port);
        IPAddress[] addresses;
        try
        {
            addresses = await System.Net.Dns.GetHostAddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"cannot resolve '{host}': {e.Message}", e);
        }
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault()
                      ?? throw new IOException($"cannot resolve '{host}': no address");
        return new IPEndPoint(address, port);
    }

    /// <summary>The name a TLS next hop's certificate must carry: its host when a name (RFC 5922 §7.2), else none (the address).</summary>
    private static string? TlsServerName(SipUri uri) => IPAddress.TryParse(uri.Host.Trim('[', ']'), out _) ? null : uri.Host;

    public void Dispose()
    {
        lock (_gate)
        {
            _pin?.Dispose();
            _pin = null;
        }
    }

    ValueTask IAsyncDisposable.DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP dialog: the connection with {Flow} was closed; in-dialog requests now go to {NextHop} at {Destination}")]
    private partial void LogMoved(IPEndPoint flow, string nextHop, IPEndPoint destination);

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP dialog: the connection with {Flow} was closed and {NextHop} cannot be reached: {Reason}")]
    private partial void LogUnreachable(IPEndPoint flow, string nextHop, string reason);
}
