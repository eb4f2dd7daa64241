using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>Pna:Sip:AdvertisedHost: what Via and Contact say when the listener is bound to 0.0.0.0.</summary>
public class SipAdvertisedHostTests
{
    [Theory]
    [InlineData("pna.example.com", "pna.example.com:5060")]
    [InlineData("192.0.2.10", "192.0.2.10:5060")]
    [InlineData("2001:db8::a", "[2001:db8::a]:5060")]
    [InlineData("[2001:db8::a]", "[2001:db8::a]:5060")]
    public async Task Via_and_contact_carry_the_advertised_host_and_the_bound_port(string advertised, string hostPort)
    {
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" }, AdvertisedHost = advertised };
        options.Authentication.Enabled = false;
        var transport = new RecordingSipTransport(reliable: false);
        var notifier = new SipNotifier(options, new FakeSipHost(), SipCredentials.Empty, new ManualTimeProvider(), NullLogger<SipNotifier>.Instance);
        notifier.AddTransport(transport);
        var ua = new TestSubscriber();
        notifier.Receive(new SipReceivedMessage(ua.Subscribe(), transport, ua.EndPoint));
        await Wait.Until(() => transport.Notifies.Count > 0, "the first NOTIFY");

        var ok = Assert.Single(transport.Responses);
        Assert.Equal("sip:pna@" + hostPort, ok.Contact[0].Uri.ToString());
        var notify = transport.Notifies[0];
        var via = notify.TopVia!;
        Assert.Equal(hostPort, via.Port is { } p ? $"{(via.Host.Contains(':', StringComparison.Ordinal) && !via.Host.StartsWith('[') ? "[" + via.Host + "]" : via.Host)}:{p}" : via.Host);
        Assert.Equal("sip:pna@" + hostPort, notify.Contact[0].Uri.ToString());
    }

    [Theory]
    [InlineData("0.0.0.0:5060", "", true)]
    [InlineData("[::]:5060", "", true)]
    [InlineData("0.0.0.0:5060", "pna.example.com", false)]
    [InlineData("127.0.0.1:5060", "", false)]
    [InlineData("127.0.0.1:5060", "not a host!", true)]
    public void An_unspecified_bind_address_needs_an_advertised_host(string udp, string advertised, bool error)
    {
        var options = new SipNotifierOptions { Enabled = true, Udp = { udp }, AdvertisedHost = advertised };
        options.Authentication.Enabled = false;
        Assert.Equal(error, options.Validate().Any());
    }
}
