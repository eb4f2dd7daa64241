using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;
using Aggregators.MailWatch;
using Aggregators.MailWatch.Imap;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Sources;
using Aggregators.Tests.Shared;
using Microsoft.Extensions.Logging;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>
/// The end-to-end scenario both transports must pass (issue 9): counts follow delivered
/// (dovecot-lda) and read (\Seen over IMAP) mail; the PNA is stopped and MailWatch shows STALE
/// within two heartbeat intervals, verifies over IMAP STATUS, and recovers when the PNA is back.
/// MailWatch runs in process (its Watcher and source), Dovecot and Prosody as real processes.
/// </summary>
internal static class MailWatchScenario
{
    public static readonly TimeSpan Heartbeat = TimeSpan.FromSeconds(3);

    public static async Task RunAsync(DovecotServer dovecot, MailWatchPna pna, Func<MailWatchOptions, ILogger, IMailSource> source,
        MailWatchOptions options, string logPath)
    {
        using var logFile = new StreamWriter(logPath, append: true) { AutoFlush = true };
        using var factory = LoggerFactory.Create(b => b.SetMinimumLevel(LogLevel.Debug).AddProvider(new Output(logFile)));
        var logger = factory.CreateLogger("mailwatch");
        var state = new WatchState(Heartbeat);
        var watcher = new Watcher(options, source(options, logger), state, logger, TimeProvider.System, null,
            new ImapStatusVerifier(options, TimeProvider.System));
        using var stop = new CancellationTokenSource();
        var run = watcher.RunAsync(stop.Token);
        try
        {
            string Show() => Aggregators.MailWatch.Output.StatusView.PlainLine(state.Snapshot()) + $"\n(log: {logPath})";
            MailboxView? Inbox() => state.Snapshot().Mailboxes.FirstOrDefault(m => m.Mailbox == "INBOX" && m.Notified);

            // 1. The initial counts: the one message delivered before MailWatch started.
            await Until.TrueAsync(() => state.Status == WatchStatus.Live && Inbox() is { Messages: 1, Unseen: 1 }, () => "live with 1/1: " + Show(), 60);

            // 2. Delivered mail shows.
            await dovecot.DeliverAsync(DovecotServer.Juliet.User, "Second");
            await dovecot.DeliverAsync(DovecotServer.Juliet.User, "Third");
            await Until.TrueAsync(() => Inbox() is { Messages: 3, Unseen: 3 }, () => "3 unseen of 3: " + Show(), 60);

            // 3. Read mail shows (\Seen set by another IMAP client).
            await using (var imap = await dovecot.ConnectAsync())
            {
                await imap.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
                await imap.SelectAsync("INBOX");
                await imap.UidStoreAsync(ImapSequenceSet.Range(1, 2), "+FLAGS", ["\\Seen"]);
                await imap.LogoutAsync();
            }
            await Until.TrueAsync(() => Inbox() is { Messages: 3, Unseen: 1 }, () => "1 unseen of 3: " + Show(), 60);

            // 4. Heartbeats keep it live while nothing happens (longer than two intervals).
            var quietUntil = DateTime.UtcNow + (Heartbeat * 3);
            while (DateTime.UtcNow < quietUntil)
            {
                Assert.True(state.Status == WatchStatus.Live, "heartbeats keep the state live: " + Show());
                await Task.Delay(100);
            }

            // 5. The PNA stops: STALE within two heartbeat intervals of the last thing heard.
            await pna.StopAsync();
            var stopped = DateTimeOffset.UtcNow;
            await Until.TrueAsync(() => state.Status == WatchStatus.Stale, () => "STALE: " + Show(), 30);
            var snapshot = state.Snapshot();
            Assert.True(snapshot.StaleSince - snapshot.LastHeard <= (Heartbeat * 2) + TimeSpan.FromSeconds(2),
                $"stale {snapshot.StaleSince - snapshot.LastHeard} after the last update (2 intervals = {Heartbeat * 2})");
            Assert.True(snapshot.StaleSince - stopped <= (Heartbeat * 2) + TimeSpan.FromSeconds(2), $"stale {snapshot.StaleSince - stopped} after the stop");
            // --verify-imap: IMAP STATUS shows the same counts beside them.
            await Until.TrueAsync(() => state.Snapshot().Mailboxes.Any(m => m.Mailbox == "INBOX" && m.Imap is { Messages: 3, Unseen: 1 }),
                () => "IMAP STATUS counts: " + Show(), 60);

            // Mail arriving while the PNA is down.
            await dovecot.DeliverAsync(DovecotServer.Juliet.User, "Fourth");

            // 6. The PNA is back: LIVE again with the truth (the bridge resyncs, heartbeats resume or the re-subscribe reads it).
            await pna.StartAsync();
            await Until.TrueAsync(() => state.Status == WatchStatus.Live && Inbox() is { Messages: 4, Unseen: 2 }, () => "live again with 2/4: " + Show(), 90);
        }
        finally
        {
            await stop.CancelAsync();
            await run;
        }
    }

    private sealed class Output(TextWriter writer) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Line(writer);

        public void Dispose()
        {
        }

        private sealed class Line(TextWriter writer) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (writer)
                {
                    writer.WriteLine($"{DateTime.UtcNow:HH:mm:ss.fff} {logLevel} {formatter(state, exception)} {exception?.Message}");
                }
            }
        }
    }
}
