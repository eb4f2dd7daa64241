using System.Globalization;
using System.Text.Json;
using Aggregators.Integration.Tests.Peers;
using Aggregators.MailWatch;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>
/// <c>mailwatch --once</c> as a script runs it (the real command line, stdout JSON, exit codes),
/// finding the PNA through the IMAP server's <c>NOTIF=</c> capabilities (Dovecot's imap_capability).
/// </summary>
public sealed class MailWatchOnceTests(ProsodyServer prosody) : IClassFixture<ProsodyServer>
{
    private static async Task<(int Code, string Out, string Err)> RunAsync(params string[] args)
    {
        using var stdout = new StringWriter(CultureInfo.InvariantCulture);
        using var stderr = new StringWriter(CultureInfo.InvariantCulture);
        var code = await MailWatchApp.RunAsync(args, stdout, stderr, CancellationToken.None);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Once_prints_the_counts_over_xmpp_and_sip_with_the_service_discovered_over_imap()
    {
        var sipPort = TestPorts.Next();
        await using var dovecot = await DovecotServer.StartAsync(extraConfig:
            $"imap_capability = +NOTIF=xmpp:events.example.com NOTIF=sip:127.0.0.1:{sipPort};transport=udp");
        var dir = RequiredPeer.TempDirectory("mailwatch-once");
        await using var pna = MailWatchPna.Create(dir, dovecot, prosody, sipPort);
        await pna.StartAsync();
        await dovecot.DeliverAsync(DovecotServer.Juliet.User, "One");
        await dovecot.DeliverAsync(DovecotServer.Juliet.User, "Two");
        string[] common = ["--address", MailWatchPna.Account, "--once", "--timeout", "20",
            "--imap", $"127.0.0.1:{dovecot.Port}", "--imap-user", DovecotServer.Juliet.User, "--imap-password", DovecotServer.Juliet.Password];

        // The PNA learns the totals from the bridge shortly after delivery: retry until both are in.
        foreach (var transport in new[] { "xmpp", "sip" })
        {
            string[] args = transport == "xmpp"
                ? [.. common, "--xmpp-server", $"127.0.0.1:{prosody.C2sPort}", "--xmpp-password", ProsodyServer.Users["juliet@example.com"], "--allow-plain"]
                : [.. common, "--transport", "sip", "--sip-password", MailWatchPna.SipPassword];
            var deadline = DateTime.UtcNow.AddSeconds(60);
            var result = await RunAsync(args);
            while (!(result.Code == MailWatchApp.Ok && result.Out.Contains("\"messages\": 2", StringComparison.Ordinal)))
            {
                Assert.True(DateTime.UtcNow < deadline, $"{transport} --once: exit {result.Code}, out {result.Out}, err {result.Err}");
                await Task.Delay(250);
                result = await RunAsync(args);
            }
            var json = JsonDocument.Parse(result.Out).RootElement;
            Assert.Equal(transport, json.GetProperty("transport").GetString());
            var inbox = Assert.Single(json.GetProperty("mailboxes").EnumerateArray());
            Assert.Equal(("INBOX", 2, 2), (inbox.GetProperty("mailbox").GetString(), inbox.GetProperty("messages").GetInt32(), inbox.GetProperty("unseen").GetInt32()));
        }

        // Failures are exit codes with a reason on stderr.
        var wrong = await RunAsync([.. common, "--xmpp-server", $"127.0.0.1:{prosody.C2sPort}", "--xmpp-password", "wrong", "--allow-plain"]);
        Assert.Equal(MailWatchApp.SourceFailed, wrong.Code);
        Assert.Contains("not-authorized", wrong.Err, StringComparison.Ordinal);
        var usage = await RunAsync("--address", "juliet");
        Assert.Equal(MailWatchApp.BadOptions, usage.Code);
        Assert.Contains("--address 'juliet'", usage.Err, StringComparison.Ordinal);
    }
}
