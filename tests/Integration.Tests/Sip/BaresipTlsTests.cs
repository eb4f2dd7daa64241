using Aggregators.EventModel;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Transports.Sip;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>
/// SIP over TLS against a real peer (RFC 3261 §18, §26.2.1): baresip registers to the minimal
/// registrar and subscribes with digest auth over a TLS connection to the PNA's TLS listener (a
/// throwaway self-signed certificate it trusts through <c>sip_cafile</c>); the NOTIFYs come back
/// over the same connection and its lamp follows the mailbox. SIPp is not used here: Debian's
/// sip-tester is built without TLS ("To use a TLS transport you must compile SIPp with OpenSSL").
/// </summary>
public sealed class BaresipTlsTests
{
    [Fact]
    public async Task Lamp_follows_the_mailbox_over_tls()
    {
        var dir = RequiredPeer.TempDirectory("pna-baresip-tls");
        var (certificate, ca) = TestCertificate.WritePem(dir);
        var tlsPort = TestPorts.Next();
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), new Dictionary<string, string>
        {
            ["Pna:Sip:Registrar:Enabled"] = "true",
            ["Pna:Sip:Authentication:Algorithms:0"] = "MD5", // baresip 1.0 (libre) fails on a SHA-256 challenge listed first
            ["Pna:Sip:Tls:0"] = $"127.0.0.1:{tlsPort}",
            ["Pna:Sip:TlsCertificateFile"] = certificate,
        });
        await pna.MailboxChangedAsync(messages: 4, unseen: 1);
        await using var phone = await BaresipPhone.StartAsync(tlsPort, SipPna.Password, TimeSpan.FromSeconds(90), tlsCaFile: ca);

        var initial = await phone.WaitForMwiAsync(m => m.MessagesWaiting, "the initial NOTIFY over TLS");
        Assert.Equal((1u, 3u), (initial.Lines[0].New, initial.Lines[0].Old));
        var state = SipDialogState.FromJson(Assert.Single(pna.Subscriptions.Snapshot()).TransportState)!;
        Assert.Equal("tls", state.Transport);

        await pna.MailboxChangedAsync(messages: 4, unseen: 0, type: MailEventType.FlagsSet);
        var seen = await phone.WaitForMwiAsync(m => !m.MessagesWaiting, "Messages-Waiting: no over TLS");
        Assert.Equal(4u, seen.Lines[0].Old);
    }
}
