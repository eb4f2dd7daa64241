using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>
/// The account watcher against a real Cyrus IMAP 3.6, which has no NOTIFY: IDLE on INBOX (pushed by
/// idled within milliseconds) plus STATUS polling. Mail from Cyrus deliver and \Seen from another
/// connection reach the sink with the right totals; the admin watches a user through SASL PLAIN authzid.
/// </summary>
[Collection(CyrusCollection.Name)]
public sealed class CyrusWatcherTests(CyrusFixture fixture) : IClassFixture<CyrusFixture>
{
    private CyrusServer Cyrus => fixture.Server;

    private static string T(uint messages, uint unseen, uint uidnext, uint uv) => new MailboxTotals(messages, unseen, uidnext, uv).ToString();

    private ImapServerOptions ServerOptions(MasterUserOptions? master = null) => new()
    {
        Name = "cyrus",
        Host = "127.0.0.1",
        Port = Cyrus.Port,
        Security = ImapSecurity.None,
        Mode = WatchMode.Auto,
        PollInterval = TimeSpan.FromSeconds(1),
        CommandTimeout = TimeSpan.FromSeconds(10),
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(200),
        ReconnectMaxDelay = TimeSpan.FromSeconds(2),
        MasterUser = master,
    };

    private static async Task<(Task Run, CancellationTokenSource Stop)> StartAsync(AccountWatcher watcher)
    {
        var stop = new CancellationTokenSource();
        var run = Task.Run(() => watcher.RunAsync(stop.Token));
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (watcher.Status.State != WatcherState.Watching)
        {
            if (run.IsCompleted)
            {
                await run;
                throw new InvalidOperationException("the watcher stopped: " + watcher.Status);
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("watcher not watching: " + watcher.Status);
            }
            await Task.Delay(20);
        }
        return (run, stop);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Idle_only_watcher_reports_new_mail_and_seen_with_totals(bool throughAdmin)
    {
        var user = throughAdmin ? CyrusServer.Juliet : CyrusServer.Romeo;
        var server = ServerOptions(throughAdmin ? new MasterUserOptions { User = CyrusServer.Admin.User, Password = CyrusServer.Admin.Password } : null);
        var account = new AccountOptions { Login = user.User, Password = throughAdmin ? null : user.Password, Account = user.User + "@example.com" };
        var sink = new RecordingSink();
        var watcher = new AccountWatcher(new ImapServerEndpoint(server), account, sink, new InMemoryWatcherStateStore(), NullLogger.Instance);
        var (run, stop) = await StartAsync(watcher);
        try
        {
            Assert.False(watcher.Status.NotifyMode); // Cyrus offers no NOTIFY
            await using var other = await Cyrus.ConnectAsync();
            await other.LoginAsync(user.User, user.Password);
            var s = await other.StatusAsync("INBOX");
            var (uv, n0, m0, u0) = (s.UidValidity!.Value, s.UidNext!.Value, s.Messages!.Value, s.Unseen!.Value);

            await Cyrus.DeliverAsync(user.User, "to cyrus");
            var e = await sink.WaitCountAsync(0, 1, "MessageNew");
            Assert.Equal($"MessageNew INBOX uidset={n0} flags= totals={T(m0 + 1, u0 + 1, n0 + 1, uv)}", RecordingSink.Describe(e[0]));
            Assert.Equal(user.User + "@example.com", e[0].Account.Value);

            await other.SelectAsync("INBOX");
            await other.UidStoreAsync(ImapSequenceSet.Single(n0), "+FLAGS", ["\\Seen"]);
            e = await sink.WaitCountAsync(1, 1, "MessageRead");
            Assert.Equal($"MessageRead INBOX uidset={n0} flags= totals={T(m0 + 1, u0, n0 + 1, uv)}", RecordingSink.Describe(e[0]));

            await other.NoopAsync();
            await Task.Delay(1500); // one poll interval: nothing more may arrive
            Assert.Equal(2, sink.Events.Count);
        }
        finally
        {
            await stop.CancelAsync();
            await run.WaitAsync(TimeSpan.FromSeconds(20));
            stop.Dispose();
        }
    }
}
