using System.Net;
using System.Net.Sockets;
using Aggregators.EventModel;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Transports.Sip;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>
/// baresip over TCP (one connection for REGISTER, SUBSCRIBE and the NOTIFYs, as a phone behind NAT
/// needs): the subscription outlives the PNA's stream idle timeout because its dialog pins the
/// connection, while a connection without a dialog is closed by the same sweep; after a PNA
/// restart (the old connection gone) NOTIFYs reach the phone again.
/// </summary>
public sealed class BaresipTcpTests
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Pna:Sip:Registrar:Enabled"] = "true",
        ["Pna:Sip:Authentication:Algorithms:0"] = "MD5", // baresip 1.0 (libre) fails on a SHA-256 challenge listed first
        ["Pna:Sip:StreamIdleTimeoutSeconds"] = "2",
    };

    /// <summary>Waits until the PNA closes <paramref name="probe"/> (it read 0 bytes): the idle sweep has run past the timeout.</summary>
    private static async Task WaitForIdleCloseAsync(TcpClient probe)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var buffer = new byte[16];
        while (await probe.GetStream().ReadAsync(buffer, timeout.Token) > 0)
        {
            // a pong to a keep-alive would land here; none is sent
        }
    }

    private static async Task WaitUntilAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }

    [Fact]
    public async Task Lamp_follows_the_mailbox_over_tcp_past_the_idle_timeout()
    {
        var dir = RequiredPeer.TempDirectory("pna-baresip-tcp");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), Settings);
        await pna.MailboxChangedAsync(messages: 3, unseen: 1);
        await using var phone = await BaresipPhone.StartAsync(pna.Port, SipPna.Password, TimeSpan.FromSeconds(120), tcp: true);

        var initial = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "the initial NOTIFY over TCP");
        Assert.Equal(1u, initial.Lines[0].New);
        var state = SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;
        Assert.Equal("tcp", state.Transport);

        // A connection with no dialog, opened after the phone's: once the sweep has closed it, the phone's has been idle as long.
        using var probe = new TcpClient();
        await probe.ConnectAsync(IPAddress.Loopback, pna.Port);
        await WaitForIdleCloseAsync(probe);

        await pna.MailboxChangedAsync(messages: 3, unseen: 0, type: MailEventType.FlagsSet);
        var seen = await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "Messages-Waiting: no after the idle timeout");
        Assert.Equal(3u, seen.Lines[0].Old);
        // Over the phone's own connection still (a NOTIFY that had to connect to the Contact would have moved the dialog there).
        var after = SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;
        Assert.Equal(state.Remote, after.Remote);
    }

    [Fact]
    public async Task After_a_pna_restart_the_stored_tcp_dialog_reaches_the_phone_again()
    {
        var dir = RequiredPeer.TempDirectory("pna-baresip-tcp-restart");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), Settings);
        await pna.MailboxChangedAsync(messages: 2, unseen: 0);
        await using var phone = await BaresipPhone.StartAsync(pna.Port, SipPna.Password, TimeSpan.FromSeconds(120), tcp: true);
        await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "the initial NOTIFY over TCP");

        var before = SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;

        await pna.RestartAsync(); // the phone's connection closes with the old PNA
        await pna.MailboxChangedAsync(messages: 3, unseen: 1);
        var after = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "Messages-Waiting: yes after the restart");
        Assert.Equal(1u, after.Lines[0].New);
        var state = SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;
        Assert.Equal(before.CallId, state.CallId); // the stored dialog, not a new subscription
        // Its old connection died with the old PNA: the NOTIFY went to the Contact (RFC 3261 §12.2.1.1).
        var contact = Aggregators.Sip.SipUri.Parse(state.RemoteTarget);
        await WaitUntilAsync(() => SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!.Remote == $"{contact.Host}:{contact.Port}",
            "the dialog to move to the Contact " + state.RemoteTarget);
    }
}
