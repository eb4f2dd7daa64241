using Aggregators.Integration.Tests.Peers;
using Aggregators.MailWatch;
using Aggregators.MailWatch.Sources;
using Aggregators.Xmpp.Client;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>MailWatch over XMPP: Dovecot → co-hosted bridge → PNA → Prosody (component) → MailWatch (c2s as juliet@example.com).</summary>
public sealed class MailWatchXmppTests(ProsodyServer prosody) : IClassFixture<ProsodyServer>
{
    private MailWatchOptions Options(DovecotServer dovecot) => new()
    {
        Address = MailWatchPna.Account,
        Transport = WatchTransport.Xmpp,
        Heartbeat = MailWatchScenario.Heartbeat,
        Service = "events.example.com",
        XmppServer = new HostPort("127.0.0.1", prosody.C2sPort),
        XmppPassword = ProsodyServer.Users["juliet@example.com"],
        XmppTls = ClientTlsMode.WhenOffered,
        AllowPlainWithoutTls = true,
        Imap = new HostPort("127.0.0.1", dovecot.Port),
        ImapUser = DovecotServer.Juliet.User,
        ImapPassword = DovecotServer.Juliet.Password,
        VerifyImap = true,
        MaxBackoff = TimeSpan.FromSeconds(2),
    };

    [Fact]
    public async Task Counts_follow_delivered_and_read_mail_and_stale_shows_when_the_pna_stops()
    {
        await using var dovecot = await DovecotServer.StartAsync();
        var dir = RequiredPeer.TempDirectory("mailwatch-xmpp");
        await using var pna = MailWatchPna.Create(dir, dovecot, prosody);
        await pna.StartAsync();
        await dovecot.DeliverAsync(DovecotServer.Juliet.User, "First");
        await MailWatchScenario.RunAsync(dovecot, pna, (o, log) => new XmppMailSource(o, "events.example.com", log), Options(dovecot),
            Path.Combine(dir, "mailwatch.log"));
    }
}
