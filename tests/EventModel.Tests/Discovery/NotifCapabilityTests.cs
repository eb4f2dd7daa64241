using Aggregators.EventModel;
using Aggregators.EventModel.Discovery;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests.Discovery;

public sealed class NotifCapabilityTests
{
    [Theory]
    [InlineData("NOTIF=sip:pna.example.com", "pna.example.com", null, null)]
    [InlineData("NOTIF=sip:pna.example.com:5060;transport=udp", "pna.example.com", 5060, "udp")]
    [InlineData("notif=SIP:PNA.Example.COM:5061;TRANSPORT=TLS", "pna.example.com", 5061, "tls")]
    [InlineData("NOTIF=sip:192.0.2.10;transport=tcp", "192.0.2.10", null, "tcp")]
    public void SIP_atoms_name_the_notifier_host_port_and_transport(string atom, string host, int? port, string? transport)
    {
        var c = NotifCapability.Parse(atom);
        Assert.Equal(NotifScheme.Sip, c.Scheme);
        Assert.Equal(host, c.Host);
        Assert.Equal(port, c.Port);
        Assert.Equal(transport, c.SipTransport);
        Assert.Equal("sip:juliet@example.com", c.ResourceFor(AccountId.Parse("juliet@example.com")));
    }

    [Fact]
    public void An_XMPP_atom_names_the_pubsub_service_and_the_account_JID_is_local_at_it()
    {
        var c = NotifCapability.Parse("NOTIF=xmpp:events.example.com");
        Assert.Equal(NotifScheme.Xmpp, c.Scheme);
        Assert.Equal("events.example.com", c.Host);
        Assert.Equal("juliet@events.example.com", c.ResourceFor(AccountId.Parse("juliet@example.com")));
        Assert.Equal("NOTIF=xmpp:events.example.com", c.ToString());
        Assert.Equal("xmpp:events.example.com", c.Uri);
    }

    [Theory]
    [InlineData("NOTIFY", "not a NOTIF=")]
    [InlineData("NOTIF=pna.example.com", "has no scheme")]
    [InlineData("NOTIF=http://pna.example.com", "neither sip nor xmpp")]
    [InlineData("NOTIF=sip:", "host is empty")]
    [InlineData("NOTIF=sip:pna.example.com:0", "port '0'")]
    [InlineData("NOTIF=sip:pna.example.com:65536", "port '65536'")]
    [InlineData("NOTIF=sip:pna.example.com:50x", "port '50x'")]
    [InlineData("NOTIF=sip:pna.example.com;transport=sctp", "transport 'sctp'")]
    [InlineData("NOTIF=sip:pna.example.com;lr", "parameter 'lr'")]
    [InlineData("NOTIF=sip:juliet@example.com", "not a user")]
    [InlineData("NOTIF=sip:-bad-.example.com", "not a DNS name")]
    [InlineData("NOTIF=sip:a..b", "not a DNS name")]
    [InlineData("NOTIF=xmpp:juliet@events.example.com", "not a DNS name")]
    [InlineData("NOTIF=xmpp:events.example.com:5269", "not a DNS name")]
    [InlineData("NOTIF=xmpp:events.example.com?subscribe", "not a DNS name")]
    public void Anything_outside_the_fixed_format_is_refused_with_a_reason(string atom, string reason)
    {
        Assert.False(NotifCapability.TryParse(atom, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Only_NOTIF_atoms_are_picked_from_a_capability_list_and_bad_ones_are_reported()
    {
        var (found, errors) = NotifCapability.FromCapabilities(
            ["IMAP4rev1", "IDLE", "NOTIFY", "NOTIF=sip:pna.example.com:5060;transport=udp", "NOTIF=xmpp:events.example.com", "NOTIF=ftp:x"]);
        Assert.Equal(["NOTIF=sip:pna.example.com:5060;transport=udp", "NOTIF=xmpp:events.example.com"], found.Select(f => f.ToString()));
        Assert.Single(errors);
        Assert.StartsWith("NOTIF=ftp:x: ", errors[0], StringComparison.Ordinal);
    }

    [Fact]
    public void Formatting_then_parsing_gives_the_same_capability_and_the_atom_is_IMAP_atom_safe()
    {
        var label = Gen.Choose(1, 12).SelectMany(n => Gen.ArrayOf(Gen.Elements("abcdefghijklmnopqrstuvwxyz0123456789".ToCharArray()), n))
            .Select(chars => new string(chars));
        var host = Gen.Choose(1, 4).SelectMany(n => Gen.ListOf(label, n)).Select(ls => string.Join('.', ls));
        var sip = from h in host
                  from port in Gen.OneOf(Gen.Constant<int?>(null), Gen.Choose(1, 65535).Select(p => (int?)p))
                  from transport in Gen.Elements<string?>(null, "udp", "tcp", "tls")
                  select NotifCapability.Sip(h, port, transport);
        var xmpp = host.Select(NotifCapability.Xmpp);
        Prop.ForAll(Arb.From(Gen.OneOf(sip, xmpp)), c =>
        {
            var atom = c.ToString();
            // RFC 3501 §9: ATOM-CHAR is any CHAR except atom-specials ( ) { SP CTL % * " \ ].
            return atom.All(ch => ch > ' ' && ch < 0x7F && "(){%*\"\\]".IndexOf(ch, StringComparison.Ordinal) < 0)
                && NotifCapability.Parse(atom) == c;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Arbitrary_text_never_throws_from_TryParse()
    {
        Prop.ForAll<string>(s =>
        {
            NotifCapability.TryParse("NOTIF=" + s, out _, out _);
            NotifCapability.TryParse(s, out _, out _);
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
