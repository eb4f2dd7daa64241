using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Aggregators.Sip;
using Aggregators.Sip.Dns;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>Where one alert MESSAGE goes: the transport, the address, and the name a TLS server's certificate must carry.</summary>
internal sealed record SipAlertHop(SipTransportProtocol Protocol, IPEndPoint Destination, string Host)
{
    public override string ToString() =>
        string.Create(CultureInfo.InvariantCulture, $"{Protocol.ToString().ToLowerInvariant()} {Destination}");
}

/// <summary>The lookups <see cref="SipAlertRouting"/> needs; SRV answers are empty when SRV lookup is off.</summary>
internal interface ISipAlertDns
{
    Task<IReadOnlyList<SrvRecord>> SrvAsync(string name, CancellationToken cancellationToken);

    /// <summary>A/AAAA of a host name; throws <see cref="SocketException"/> when it has none.</summary>
    Task<IPAddress[]> AddressesAsync(string host, CancellationToken cancellationToken);
}

/// <summary>The system resolver for addresses, <see cref="DnsSrvResolver"/> (when configured) for SRV.</summary>
internal sealed class SipAlertDns(DnsSrvResolver? srv) : ISipAlertDns
{
    public async Task<IReadOnlyList<SrvRecord>> SrvAsync(string name, CancellationToken cancellationToken) =>
        srv is null ? [] : await srv.LookupAsync(name, cancellationToken).ConfigureAwait(false);

    public Task<IPAddress[]> AddressesAsync(string host, CancellationToken cancellationToken) =>
        Dns.GetHostAddressesAsync(host, cancellationToken);
}

/// <summary>
/// Locating the next hop of an alert (RFC 3263 §4, without NAPTR): the outbound proxy when one
/// is configured, else the target URI. Pure rules over an <see cref="ISipAlertDns"/>.
/// <list type="bullet">
/// <item>Transport (§4.1): the URI's <c>transport</c> parameter; else UDP for sip: and TLS for
/// sips: when the host is an address or a port is given; else the first SRV service found, in
/// the order <c>_sips._tcp</c> (TLS), <c>_sip._tcp</c> (TCP), <c>_sip._udp</c> (UDP) (sips: only the
/// first); else UDP (sip:) or TLS (sips:). sips: with transport=udp is refused (RFC 3261 §26.2.2).</item>
/// <item>Address and port (§4.2): an address as it is; a port given: the host's A/AAAA; else the
/// SRV records of the chosen transport (all of them, in RFC 2782 order, tried in turn when one
/// fails at the transport, §4.3), and without any, the host's address with port 5060 (5061 for TLS).</item>
/// <item>A TLS server is checked against the URI's host (the domain asked for, RFC 5922 §4.1), not
/// an SRV target.</item>
/// </list>
/// </summary>
internal static class SipAlertRouting
{
    /// <summary>Reads <c>Pna:Alerts:Sip:OutboundProxy</c>: "host[:port]" or a sip:/sips: URI.</summary>
    public static bool TryParseProxy(string text, out SipUri? uri, out string? error)
    {
        uri = null;
        error = null;
        var trimmed = text.Trim();
        var candidate = trimmed.StartsWith("sip:", StringComparison.OrdinalIgnoreCase) || trimmed.StartsWith("sips:", StringComparison.OrdinalIgnoreCase)
            ? trimmed
            : "sip:" + trimmed;
        try
        {
            uri = SipUri.Parse(candidate);
        }
        catch (SipParseException e)
        {
            error = "not host[:port] or a sip:/sips: URI (" + e.Message + ")";
            return false;
        }
        if (uri.User is not null || uri.Host.Length == 0)
        {
            error = "a proxy URI names a host, not a user";
            uri = null;
            return false;
        }
        return true;
    }

    /// <summary>The next hop for <paramref name="next"/>; on failure the reason and whether retrying may help.</summary>
    public static async Task<(SipAlertHop? Hop, string? Error, bool Permanent)> ResolveAsync(SipUri next, ISipAlertDns dns, CancellationToken cancellationToken)
    {
        var (hops, error, permanent) = await ResolveHopsAsync(next, dns, cancellationToken).ConfigureAwait(false);
        return (hops.Count > 0 ? hops[0] : null, error, permanent);
    }

    /// <summary>
    /// The next hops for <paramref name="next"/> in the order they are tried (RFC 3263 §4.3): one,
    /// or with SRV every target of the chosen service in RFC 2782 order (targets whose address
    /// cannot be resolved left out); none with the reason and whether retrying may help.
    /// </summary>
    public static async Task<(IReadOnlyList<SipAlertHop> Hops, string? Error, bool Permanent)> ResolveHopsAsync(SipUri next, ISipAlertDns dns, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(next);
        var secure = next.Scheme.Equals("sips", StringComparison.OrdinalIgnoreCase);
        var host = next.Host;
        var bare = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        var literal = IPAddress.TryParse(bare, out var address) ? address : null;

        SipTransportProtocol? protocol = null;
        if (next.Transport is { } t)
        {
            switch (t.ToLowerInvariant())
            {
                case "udp" when secure:
                    return ([], $"{next} asks for UDP, but sips: needs TLS (RFC 3261 §26.2.2)", true);
                case "udp":
                    protocol = SipTransportProtocol.Udp;
                    break;
                case "tcp":
                    protocol = secure ? SipTransportProtocol.Tls : SipTransportProtocol.Tcp;
                    break;
                case "tls":
                    protocol = SipTransportProtocol.Tls;
                    break;
                default:
                    return ([], $"{next} asks for transport={t}; alerts go over UDP, TCP or TLS", true);
            }
        }

        // §4.1/§4.2: an address or an explicit port: no SRV.
        if (literal is not null || next.Port is not null)
        {
            protocol ??= secure ? SipTransportProtocol.Tls : SipTransportProtocol.Udp;
            var port = next.Port ?? DefaultPort(protocol.Value);
            if (literal is not null)
            {
                return ([new SipAlertHop(protocol.Value, new IPEndPoint(literal, port), host)], null, false);
            }
            return One(await ByAddressAsync(host, port, protocol.Value, dns, cancellationToken).ConfigureAwait(false));
        }

        // §4.1 without NAPTR: the SRV services of the transports we support, TLS first.
        IEnumerable<SipTransportProtocol> candidates = protocol is { } chosen ? [chosen]
            : secure ? [SipTransportProtocol.Tls]
            : [SipTransportProtocol.Tls, SipTransportProtocol.Tcp, SipTransportProtocol.Udp];
        foreach (var candidate in candidates)
        {
            var service = ServiceName(candidate, host);
            var records = DnsSrvMessage.Order(await dns.SrvAsync(service, cancellationToken).ConfigureAwait(false));
            if (records.Count == 0)
            {
                continue;
            }
            var hops = new List<SipAlertHop>(records.Count);
            string? firstError = null;
            foreach (var record in records)
            {
                var (hop, error, _) = await ByAddressAsync(record.Target, record.Port, candidate, dns, cancellationToken).ConfigureAwait(false);
                if (hop is null)
                {
                    firstError ??= $"{service} names {record.Target}: {error}";
                    continue;
                }
                hops.Add(hop with { Host = host });
            }
            return hops.Count > 0 ? (hops, null, false) : ([], firstError, false);
        }
        protocol ??= secure ? SipTransportProtocol.Tls : SipTransportProtocol.Udp;
        return One(await ByAddressAsync(host, DefaultPort(protocol.Value), protocol.Value, dns, cancellationToken).ConfigureAwait(false));
    }

    private static (IReadOnlyList<SipAlertHop>, string?, bool) One((SipAlertHop? Hop, string? Error, bool Permanent) resolved) =>
        resolved.Hop is { } hop ? ([hop], null, false) : ([], resolved.Error, resolved.Permanent);

    /// <summary>The SRV service of a transport (RFC 3263 §4.2): <c>_sips._tcp</c> for TLS, <c>_sip._tcp</c>, <c>_sip._udp</c>.</summary>
    public static string ServiceName(SipTransportProtocol protocol, string domain) => protocol switch
    {
        SipTransportProtocol.Tls => "_sips._tcp." + domain,
        SipTransportProtocol.Tcp => "_sip._tcp." + domain,
        _ => "_sip._udp." + domain,
    };

    private static int DefaultPort(SipTransportProtocol protocol) => protocol == SipTransportProtocol.Tls ? 5061 : 5060;

    private static async Task<(SipAlertHop?, string?, bool)> ByAddressAsync(string host, int port, SipTransportProtocol protocol, ISipAlertDns dns, CancellationToken cancellationToken)
    {
        if (IPAddress.TryParse(host.Trim('[', ']'), out var literal))
        {
            return (new SipAlertHop(protocol, new IPEndPoint(literal, port), host), null, false);
        }
        IPAddress[] addresses;
        try
        {
            addresses = await dns.AddressesAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return (null, $"cannot resolve '{host}': {e.Message}", false);
        }
        var address = addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork) ?? addresses.FirstOrDefault();
        return address is null
            ? (null, $"cannot resolve '{host}': no address", false)
            : (new SipAlertHop(protocol, new IPEndPoint(address, port), host), null, false);
    }
}
