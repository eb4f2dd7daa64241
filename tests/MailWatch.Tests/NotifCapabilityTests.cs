using Aggregators.MailWatch.Discovery;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.MailWatch.Tests;

public sealed class NotifCapabilityTests
{
    [Theory]
    [InlineData("NOTIF=sip:pna.example.com", "pna.example.com", 5060, "udp")]
    [InlineData("NOTIF=sip:pna.example.com:5070", "pna.example.com", 5070, "udp")]
    [InlineData("NOTIF=sip:127.0.0.1:25060;transport=tcp", "127.0.0.1", 25060, "tcp")]
    [InlineData("NOTIF=sip:pna.example.com;transport=TLS", "pna.example.com", 5061, "tls")]
    [InlineData("notif=sip:[2001:db8::1]:5080;transport=udp", "2001:db8::1", 5080, "udp")]
    public void Sip_atoms(string atom, string host, int port, string transport)
    {
        Assert.True(NotifCapability.TryParse(atom, out var c, out var error), error);
        Assert.Equal((WatchTransport.Sip, host, port, transport), (c!.Transport, c.Host, c.Port, c.SipTransport));
    }

    [Fact]
    public void Xmpp_atom_and_the_sip_uri_to_use()
    {
        Assert.True(NotifCapability.TryParse("NOTIF=xmpp:events.example.com", out var c, out _));
        Assert.Equal((WatchTransport.Xmpp, "events.example.com"), (c!.Transport, c.Host));
        Assert.True(NotifCapability.TryParse("NOTIF=sip:[::1]:5060", out var s, out _));
        Assert.Equal("sip:[::1]:5060;transport=udp", s!.SipUri);
    }

    [Theory]
    [InlineData("NOTIF=http://pna.example.com", "unknown scheme")]
    [InlineData("NOTIF=sip:", "not a SIP host")]
    [InlineData("NOTIF=sip:juliet@pna.example.com", "not a SIP host")]
    [InlineData("NOTIF=sip:pna:0", "port")]
    [InlineData("NOTIF=sip:pna:99999", "port")]
    [InlineData("NOTIF=sip:pna;transport=sctp", "transport")]
    [InlineData("NOTIF=sip:pna;lr", "parameter")]
    [InlineData("NOTIF=xmpp:juliet@events.example.com", "not an XMPP domain")]
    [InlineData("NOTIF=xmpp:", "not an XMPP domain")]
    [InlineData("IDLE", "not a NOTIF")]
    public void Malformed_atoms_say_why(string atom, string reason)
    {
        Assert.False(NotifCapability.TryParse(atom, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Capabilities_keep_the_wellformed_atoms_in_order_and_report_the_others()
    {
        var bad = new List<string>();
        var found = NotifCapability.FromCapabilities(
            ["IMAP4rev1", "NOTIF=xmpp:events.example.com", "NOTIF=sip:pna;transport=ws", "IDLE", "NOTIF=sip:pna.example.com:5060"], bad.Add);
        Assert.Equal([WatchTransport.Xmpp, WatchTransport.Sip], found.Select(f => f.Transport));
        Assert.Single(bad);
    }

    [Fact]
    public void Any_atom_is_parsed_or_refused_never_thrown()
    {
        var chars = Gen.Elements("NOTIF=sip:xmp[]:;@./transport=tcpudls0123456789 \u00e9%".ToCharArray());
        var atoms = Gen.ListOf(chars).Select(cs => new string([.. cs]));
        Prop.ForAll(Arb.From(atoms), atom =>
        {
            var ok = NotifCapability.TryParse(atom, out var c, out var error);
            return ok ? c is not null && error is null : c is null && error is not null;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
