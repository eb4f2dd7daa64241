using Aggregators.EventModel;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>
/// baresip as a real MWI phone: it registers to the PNA's minimal registrar and subscribes with
/// digest auth; its message-waiting display follows mail put in through the PNA's ingest, also
/// across a PNA restart.
/// </summary>
public sealed class BaresipMwiTests
{
    private static readonly Dictionary<string, string> Registrar = new()
    {
        ["Pna:Sip:Registrar:Enabled"] = "true",
        ["Pna:Sip:Authentication:Algorithms:0"] = "MD5", // baresip 1.0 (libre) fails on a SHA-256 challenge listed first
    };

    [Fact]
    public async Task Lamp_follows_new_mail_and_seen_and_survives_a_pna_restart()
    {
        var dir = RequiredPeer.TempDirectory("pna-baresip");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), Registrar);
        await pna.MailboxChangedAsync(messages: 5, unseen: 0);
        await using var phone = await BaresipPhone.StartAsync(pna.Port, SipPna.Password, TimeSpan.FromSeconds(90));

        var initial = await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "the initial NOTIFY (nothing waiting)");
        Assert.Equal(5u, initial.Lines[0].Old);
        Assert.Equal("sip:juliet@example.com", Assert.Single(pna.Subscriptions.Snapshot()).Subscriber);

        await pna.MailboxChangedAsync(messages: 7, unseen: 2);
        var waiting = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "Messages-Waiting: yes");
        Assert.Equal((2u, 5u), (waiting.Lines[0].New, waiting.Lines[0].Old));

        await pna.MailboxChangedAsync(messages: 7, unseen: 0, type: MailEventType.FlagsSet);
        var seen = await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "Messages-Waiting: no after \\Seen");
        Assert.Equal(7u, seen.Lines[0].Old);

        // A restart in the middle: the stored dialog resumes and the lamp still follows.
        await pna.RestartAsync();
        Assert.Single(pna.Subscriptions.Snapshot());
        await pna.MailboxChangedAsync(messages: 8, unseen: 1);
        var after = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "Messages-Waiting: yes after the restart");
        Assert.Equal(1u, after.Lines[0].New);
    }

    [Fact]
    public async Task Through_kamailio_as_outbound_proxy_the_lamp_follows_and_survives_a_pna_restart()
    {
        var dir = RequiredPeer.TempDirectory("pna-kamailio");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), Registrar);
        await using var proxy = await KamailioProxy.StartAsync(pna.Port);
        await pna.MailboxChangedAsync(messages: 1, unseen: 1);
        await using var phone = await BaresipPhone.StartAsync(proxy.Port, SipPna.Password, TimeSpan.FromSeconds(90));

        var initial = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "the initial NOTIFY through Kamailio");
        Assert.Equal(1u, initial.Lines[0].New);
        var state = Aggregators.Pna.Transports.Sip.SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;
        Assert.Contains(state.RouteSet, r => r.Contains(":" + proxy.Port.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal));

        await pna.MailboxChangedAsync(messages: 1, unseen: 0, type: MailEventType.FlagsSet);
        await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "Messages-Waiting: no after \\Seen, through Kamailio");

        await pna.RestartAsync();
        await pna.MailboxChangedAsync(messages: 4, unseen: 3);
        var after = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "Messages-Waiting: yes after the restart, through Kamailio");
        Assert.Equal(3u, after.Lines[0].New);
    }
}
