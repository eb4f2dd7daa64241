using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.MailWatch;

/// <summary>
/// The live view in a real terminal: the mailwatch executable runs in a tmux pane (120×40) on
/// its own tmux socket, and the test reads the screen with <c>tmux capture-pane -p</c>: LIVE with
/// the counts, the counts following a delivery, then STALE once the PNA stops.
/// </summary>
public sealed class MailWatchTerminalTests(ProsodyServer prosody) : IClassFixture<ProsodyServer>
{
    private const string Tmux = "/usr/bin/tmux";

    [Fact]
    public async Task The_terminal_shows_live_counts_then_stale()
    {
        RequiredPeer.Executable(Tmux, "tmux");
        var mailwatch = Path.Combine(AppContext.BaseDirectory, "Aggregators.MailWatch");
        Assert.True(File.Exists(mailwatch), "the mailwatch executable is built beside the tests: " + mailwatch);
        await using var dovecot = await DovecotServer.StartAsync();
        var dir = RequiredPeer.TempDirectory("mailwatch-tmux");
        await using var pna = MailWatchPna.Create(dir, dovecot, prosody);
        await pna.StartAsync();
        await dovecot.DeliverAsync(DovecotServer.Juliet.User, "First");

        var socket = "mailwatch-" + Guid.NewGuid().ToString("N")[..12];
        string[] command =
        [
            mailwatch, "--address", MailWatchPna.Account, "--service", "events.example.com",
            "--xmpp-server", $"127.0.0.1:{prosody.C2sPort}", "--xmpp-password", ProsodyServer.Users["juliet@example.com"], "--allow-plain",
            "--heartbeat", "3", "--max-backoff", "2", "--log-file", Path.Combine(dir, "mailwatch.log"),
        ];
        await TmuxAsync(socket, ["new-session", "-d", "-s", "mw", "-x", "120", "-y", "40", .. command]);
        try
        {
            await TmuxAsync(socket, ["set-option", "-t", "mw", "remain-on-exit", "on"]);
            string screen = "";
            async Task<bool> Shows(Func<string, bool> what)
            {
                screen = await CaptureAsync(socket);
                return what(screen);
            }
            async Task WaitScreenAsync(Func<string, bool> what, string description)
            {
                var deadline = DateTime.UtcNow.AddSeconds(60);
                while (!await Shows(what))
                {
                    Assert.True(DateTime.UtcNow < deadline, $"the terminal does not show {description}:\n{screen}");
                    await Task.Delay(200);
                }
            }

            await WaitScreenAsync(s => s.Contains("● LIVE", StringComparison.Ordinal) && Inbox(s) is { Unseen: "1", Total: "1" },
                "LIVE with 1 unseen");
            Assert.Contains("MailWatch juliet@example.com", screen, StringComparison.Ordinal);
            Assert.Contains("last update", screen, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(dir, "screen-live.txt"), screen);

            await dovecot.DeliverAsync(DovecotServer.Juliet.User, "Second");
            await WaitScreenAsync(s => Inbox(s) is { Unseen: "2", Total: "2" } row && row.Updated.EndsWith("event", StringComparison.Ordinal),
                "2 unseen after a delivery");

            await pna.StopAsync();
            await WaitScreenAsync(s => s.Contains("STALE", StringComparison.Ordinal) && Inbox(s) is { Unseen: "2?", Total: "2?" },
                "STALE with the counts marked as doubtful");
            // The reason: silence for two intervals, soon replaced by why re-subscribing fails.
            Assert.Matches(@"STALE +since \d\d:\d\d:\d\d: (nothing heard for 6 s|re-subscribe failed)", screen);
            await File.WriteAllTextAsync(Path.Combine(dir, "screen-stale.txt"), screen);
        }
        finally
        {
            await TmuxAsync(socket, ["kill-server"], check: false);
        }
    }

    private sealed record Row(string Unseen, string Total, string Updated);

    /// <summary>The cells of INBOX's table row, or null.</summary>
    private static Row? Inbox(string screen)
    {
        var line = screen.Split('\n').FirstOrDefault(l => l.Contains("│ INBOX ", StringComparison.Ordinal));
        if (line is null)
        {
            return null;
        }
        var cells = line.Split('│').Select(c => c.Trim()).ToArray(); // "", Mailbox, Unseen, Total, Updated, IMAP, ""
        return cells.Length >= 6 ? new Row(cells[2], cells[3], cells[4]) : null;
    }

    private static async Task<string> CaptureAsync(string socket) => await TmuxAsync(socket, ["capture-pane", "-p", "-t", "mw"]);

    private static async Task<string> TmuxAsync(string socket, string[] args, bool check = true)
    {
        var (code, output) = await PeerCommand.RunAsync(Tmux, ["-L", socket, .. args], null, TimeSpan.FromSeconds(20));
        if (check && code != 0)
        {
            throw new InvalidOperationException($"tmux {string.Join(' ', args)} failed ({code}): {output}");
        }
        return output;
    }
}
