using Aggregators.Integration.Tests.Peers;
using Aggregators.MailWatch;
using Aggregators.MailWatch.Sources;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>MailWatch over SIP: Dovecot → co-hosted bridge → PNA's SIP notifier (digest) → MailWatch's RFC 6665 subscriber.</summary>
public sealed class MailWatchSipTests
{
    private static MailWatchOptions Options(DovecotServer dovecot, int sipPort, SipPackage package, string transport) => new()
    {
        Address = MailWatchPna.Account,
        Transport = WatchTransport.Sip,
        Heartbeat = MailWatchScenario.Heartbeat,
        Pna = $"sip:127.0.0.1:{sipPort};transport={transport}",
        SipPackage = package,
        SipPassword = MailWatchPna.SipPassword,
        Imap = new HostPort("127.0.0.1", dovecot.Port),
        ImapUser = DovecotServer.Juliet.User,
        ImapPassword = DovecotServer.Juliet.Password,
        VerifyImap = true,
        MaxBackoff = TimeSpan.FromSeconds(2),
    };

    [Theory]
    [InlineData(SipPackage.MailEvent, "udp")]
    [InlineData(SipPackage.MessageSummary, "tcp")]
    public async Task Counts_follow_delivered_and_read_mail_and_stale_shows_when_the_pna_stops(SipPackage package, string transport)
    {
        await using var dovecot = await DovecotServer.StartAsync();
        var dir = RequiredPeer.TempDirectory("mailwatch-sip");
        var port = TestPorts.Next();
        await using var pna = MailWatchPna.Create(dir, dovecot, sipPort: port);
        await pna.StartAsync();
        await dovecot.DeliverAsync(DovecotServer.Juliet.User, "First");
        var options = Options(dovecot, port, package, transport);
        await MailWatchScenario.RunAsync(dovecot, pna, (o, log) => new SipMailSource(o, o.Pna!, log), options, Path.Combine(dir, "mailwatch.log"));
    }
}
