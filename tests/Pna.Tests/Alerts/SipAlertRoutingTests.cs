using System.Net;
using System.Net.Sockets;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Dns;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Tests.Alerts;

/// <summary>RFC 3263 §4 (without NAPTR) for the alert sender's next hop, over a scripted DNS.</summary>
public sealed class SipAlertRoutingTests
{
    /// <summary>SRV answers and host addresses the test decides; it records the SRV names asked.</summary>
    internal sealed class ScriptedDns : ISipAlertDns
    {
        public Dictionary<string, SrvRecord[]> Srv { get; } = new(StringComparer.OrdinalIgnoreCase);
        public Dictionary<string, IPAddress> Hosts { get; } = new(StringComparer.OrdinalIgnoreCase);
        public List<string> Asked { get; } = [];

        public Task<IReadOnlyList<SrvRecord>> SrvAsync(string name, CancellationToken cancellationToken)
        {
            Asked.Add(name);
            return Task.FromResult<IReadOnlyList<SrvRecord>>(Srv.TryGetValue(name, out var r) ? r : []);
        }

        public Task<IPAddress[]> AddressesAsync(string host, CancellationToken cancellationToken) =>
            Hosts.TryGetValue(host, out var a) ? Task.FromResult(new[] { a }) : throw new SocketException((int)SocketError.HostNotFound);
    }

    private static readonly IPAddress Proxy = IPAddress.Parse("192.0.2.7");
    private static readonly IPAddress Domain = IPAddress.Parse("192.0.2.1");

    private static ScriptedDns Dns(bool srv)
    {
        var dns = new ScriptedDns();
        dns.Hosts["example.com"] = Domain;
        dns.Hosts["sip1.example.com"] = Proxy;
        if (srv)
        {
            dns.Srv["_sip._udp.example.com"] = [new SrvRecord(10, 0, 5070, "sip1.example.com", TimeSpan.FromHours(1))];
            dns.Srv["_sip._tcp.example.com"] = [new SrvRecord(10, 0, 5080, "sip1.example.com", TimeSpan.FromHours(1))];
        }
        return dns;
    }

    [Theory]
    // §4.1: no transport, an address or a port: UDP for sip:, TLS for sips:; no SRV.
    [InlineData("sip:juliet@192.0.2.9", true, "Udp", "192.0.2.9:5060", "192.0.2.9")]
    [InlineData("sip:juliet@example.com:5099", true, "Udp", "192.0.2.1:5099", "example.com")]
    [InlineData("sips:juliet@example.com:5099", true, "Tls", "192.0.2.1:5099", "example.com")]
    [InlineData("sips:juliet@192.0.2.9", false, "Tls", "192.0.2.9:5061", "192.0.2.9")]
    // The transport parameter decides; sips: with tcp is TLS.
    [InlineData("sip:juliet@192.0.2.9;transport=tcp", false, "Tcp", "192.0.2.9:5060", "192.0.2.9")]
    [InlineData("sip:juliet@192.0.2.9;transport=TLS", false, "Tls", "192.0.2.9:5061", "192.0.2.9")]
    [InlineData("sips:juliet@example.com;transport=tcp", false, "Tls", "192.0.2.1:5061", "example.com")]
    // A domain without a port: SRV (TLS, TCP, UDP in that order); the TLS name stays the domain.
    [InlineData("sip:juliet@example.com", true, "Tcp", "192.0.2.7:5080", "example.com")]
    [InlineData("sip:juliet@example.com;transport=udp", true, "Udp", "192.0.2.7:5070", "example.com")]
    // ... and without records (or SRV off): the domain's address, UDP 5060 (TLS 5061 for sips:).
    [InlineData("sip:juliet@example.com", false, "Udp", "192.0.2.1:5060", "example.com")]
    [InlineData("sips:juliet@example.com", true, "Tls", "192.0.2.1:5061", "example.com")]
    [InlineData("sip:juliet@example.com;transport=tcp", false, "Tcp", "192.0.2.1:5060", "example.com")]
    public async Task The_next_hop_follows_rfc_3263(string uri, bool srv, string protocol, string destination, string tlsName)
    {
        var (hop, error, _) = await SipAlertRouting.ResolveAsync(SipUri.Parse(uri), Dns(srv), CancellationToken.None);
        Assert.True(hop is not null, error);
        Assert.Equal((Enum.Parse<SipTransportProtocol>(protocol), IPEndPoint.Parse(destination), tlsName), (hop.Protocol, hop.Destination, hop.Host));
    }

    [Fact]
    public async Task Srv_services_are_asked_tls_first_and_none_for_an_address_or_a_port()
    {
        var dns = Dns(srv: false);
        await SipAlertRouting.ResolveAsync(SipUri.Parse("sip:juliet@example.com"), dns, CancellationToken.None);
        Assert.Equal(["_sips._tcp.example.com", "_sip._tcp.example.com", "_sip._udp.example.com"], dns.Asked);
        dns.Asked.Clear();
        await SipAlertRouting.ResolveAsync(SipUri.Parse("sips:juliet@example.com"), dns, CancellationToken.None);
        Assert.Equal(["_sips._tcp.example.com"], dns.Asked);
        dns.Asked.Clear();
        await SipAlertRouting.ResolveAsync(SipUri.Parse("sip:juliet@example.com:5060"), dns, CancellationToken.None);
        await SipAlertRouting.ResolveAsync(SipUri.Parse("sip:juliet@192.0.2.9"), dns, CancellationToken.None);
        Assert.Empty(dns.Asked);
    }

    [Theory]
    [InlineData("sips:juliet@example.com;transport=udp", true, "sips: needs TLS")]
    [InlineData("sip:juliet@example.com;transport=sctp", true, "transport=sctp")]
    [InlineData("sip:juliet@nowhere.example", false, "cannot resolve 'nowhere.example'")]
    public async Task Impossible_hops_are_refused_and_unresolvable_ones_retried(string uri, bool permanent, string reason)
    {
        var (hop, error, isPermanent) = await SipAlertRouting.ResolveAsync(SipUri.Parse(uri), Dns(srv: false), CancellationToken.None);
        Assert.Null(hop);
        Assert.Equal(permanent, isPermanent);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("proxy.example.com:5070", "sip:proxy.example.com:5070")]
    [InlineData("192.0.2.7", "sip:192.0.2.7")]
    [InlineData("sip:proxy.example.com;transport=tcp", "sip:proxy.example.com;transport=tcp")]
    [InlineData("sips:proxy.example.com", "sips:proxy.example.com")]
    public void The_outbound_proxy_is_host_port_or_a_sip_uri(string text, string uri)
    {
        Assert.True(SipAlertRouting.TryParseProxy(text, out var parsed, out var error), error);
        Assert.Equal(uri, parsed!.ToString());
    }

    [Theory]
    [InlineData("sip:alice@proxy.example.com")]
    [InlineData("proxy example.com")]
    [InlineData("sip:")]
    public void A_proxy_that_is_no_host_is_refused(string text) =>
        Assert.False(SipAlertRouting.TryParseProxy(text, out _, out _));
}
