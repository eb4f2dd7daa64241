using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.ImapBridge.Tests.Watching;

/// <summary>The watcher's I/O against a scripted server: IDLE, UID FETCH of new mail, IDLE renewal, refused login.</summary>
public sealed class AccountWatcherFakeServerTests
{
    private sealed class Sink : IEventSink
    {
        public readonly List<MailEvent> Events = [];

        public ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
        {
            lock (Events)
            {
                Events.AddRange(events);
            }
            return ValueTask.CompletedTask;
        }
    }

    private static AccountWatcher Watcher(FakeImapServer server, Sink sink, Action<ImapServerOptions>? configure = null)
    {
        var o = new ImapServerOptions
        {
            Port = server.Port,
            Security = ImapSecurity.None,
            PollInterval = TimeSpan.FromHours(1),
            KeepAliveInterval = TimeSpan.FromHours(1),
            IdleRenewInterval = TimeSpan.FromMilliseconds(300),
            CommandTimeout = TimeSpan.FromSeconds(10),
        };
        configure?.Invoke(o);
        return new AccountWatcher(new ImapServerEndpoint(o), new AccountOptions { Login = "juliet", Password = "pw" },
            sink, new InMemoryWatcherStateStore(), NullLogger.Instance);
    }

    /// <summary>Answers the commands of a session start; returns the tag of the first IDLE.</summary>
    private static async Task<string> ServeUntilIdleAsync(FakeConnection c)
    {
        await c.GreetAsync("IMAP4rev1 IDLE");
        while (true)
        {
            var (tag, cmd) = await c.ReadCommandAsync();
            var verb = cmd.Split(' ')[0].ToUpperInvariant();
            switch (verb)
            {
                case "LOGIN":
                    await c.SendLinesAsync($"{tag} OK [CAPABILITY IMAP4rev1 IDLE] Logged in");
                    break;
                case "CAPABILITY":
                    await c.SendLinesAsync("* CAPABILITY IMAP4rev1 IDLE", $"{tag} OK done");
                    break;
                case "LIST":
                    await c.SendLinesAsync("* LIST () \"/\" INBOX", $"{tag} OK done");
                    break;
                case "STATUS":
                    await c.SendLinesAsync("* STATUS INBOX (MESSAGES 1 UIDNEXT 5 UIDVALIDITY 7 UNSEEN 1)", $"{tag} OK done");
                    break;
                case "SELECT":
                    await c.SendLinesAsync("* 1 EXISTS", "* 0 RECENT", "* OK [UIDVALIDITY 7] ok", "* OK [UIDNEXT 5] ok", "* FLAGS (\\Seen)", $"{tag} OK [READ-WRITE] done");
                    break;
                case "UID":
                    await c.SendLinesAsync("* 1 FETCH (UID 4 FLAGS ())", $"{tag} OK done");
                    break;
                case "IDLE":
                    await c.SendLinesAsync("+ idling");
                    return tag;
                default:
                    throw new InvalidOperationException("unexpected command: " + cmd);
            }
        }
    }

    [Fact]
    public async Task New_mail_during_idle_is_fetched_by_uid_and_idle_is_renewed()
    {
        using var server = new FakeImapServer();
        var sink = new Sink();
        var watcher = Watcher(server, sink);
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => watcher.RunAsync(stop.Token));
        using var c = await server.AcceptAsync();
        var idleTag = await ServeUntilIdleAsync(c);

        await c.SendLinesAsync("* 2 EXISTS");
        // DONE and the UID FETCH come together, before the IDLE's tagged response (RFC 2177 §3).
        Assert.Equal("DONE", await c.ReadLineAsync());
        var (tag, cmd) = await c.ReadCommandAsync();
        Assert.Equal("UID FETCH 5:* (UID FLAGS RFC822.SIZE)", cmd);
        await c.SendLinesAsync($"{idleTag} OK idle done", "* 2 FETCH (UID 5 FLAGS () RFC822.SIZE 42)", $"{tag} OK done");
        (idleTag, cmd) = await c.ReadCommandAsync();
        Assert.Equal("IDLE", cmd);
        await c.SendLinesAsync("+ idling");

        lock (sink.Events)
        {
            var e = Assert.Single(sink.Events);
            Assert.Equal((MailEventType.MessageNew, "5", new MailboxTotals(2, 2, 6, 7), 42UL), (e.Type, e.Uidset, e.Totals!.Value, e.MessageSize!.Value));
        }

        // IDLE is ended and re-issued after IdleRenewInterval (RFC 2177 §3), which also proves the connection alive.
        Assert.Equal("DONE", await c.ReadLineAsync());
        await c.SendLinesAsync($"{idleTag} OK idle done");
        Assert.Equal("IDLE", (await c.ReadCommandAsync()).Command);
        Assert.Equal(WatcherState.Watching, watcher.Status.State);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task A_server_that_stops_answering_is_detected_at_idle_renewal_and_reconnected()
    {
        using var server = new FakeImapServer();
        var sink = new Sink();
        var watcher = Watcher(server, sink, o => o.CommandTimeout = TimeSpan.FromSeconds(1));
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => watcher.RunAsync(stop.Token));
        using (var dead = await server.AcceptAsync())
        {
            await ServeUntilIdleAsync(dead);
            Assert.Equal("DONE", await dead.ReadLineAsync()); // and never answered: the connection is dead
            using var again = await server.AcceptAsync();
            await ServeUntilIdleAsync(again);
            // Checked while the second session is still open: closing it (end of this block)
            // is itself a connection error that would replace LastError.
            // At least 2: on a loaded machine this thread can stall past the second session's own
            // IDLE renewal (300 ms) and command timeout (1 s), and the watcher, rightly, reconnects again.
            Assert.True(watcher.Sessions >= 2, $"sessions: {watcher.Sessions}");
            Assert.Contains("DONE", watcher.Status.LastError, StringComparison.Ordinal);
            Assert.Empty(sink.Events); // the resync found nothing new: no duplicate of anything
            await stop.CancelAsync();
        }
        await run.WaitAsync(TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task Refused_login_is_reported_as_auth_failed_and_retried_only_slowly()
    {
        using var server = new FakeImapServer();
        var watcher = Watcher(server, new Sink(), o => o.AuthFailureRetryDelay = TimeSpan.FromHours(1));
        using var stop = new CancellationTokenSource();
        var run = Task.Run(() => watcher.RunAsync(stop.Token));
        using var c = await server.AcceptAsync();
        await c.GreetAsync("IMAP4rev1 IDLE");
        var (tag, _) = await c.ReadCommandAsync();
        await c.SendLinesAsync($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.");
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (watcher.Status.State != WatcherState.AuthFailed && DateTime.UtcNow < deadline)
        {
            await Task.Delay(10);
        }
        var status = watcher.Status;
        Assert.Equal(WatcherState.AuthFailed, status.State);
        Assert.Contains("AUTHENTICATIONFAILED", status.LastError, StringComparison.Ordinal);
        Assert.Equal(1, watcher.Sessions);
        await stop.CancelAsync();
        await run.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(WatcherState.Stopped, watcher.Status.State);
    }
}
