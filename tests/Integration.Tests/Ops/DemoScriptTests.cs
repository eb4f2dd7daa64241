using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Ops;

/// <summary>
/// scripts/demo.sh end to end in its CI mode (docs/deployment.md "The one-command demo"): a
/// throwaway Dovecot and Prosody, the PNA built for these tests with the bridge and XMPP, a
/// slixmpp watcher, three mails and one read; it exits 0 only when every expected notification
/// arrived, and leaves nothing behind.
/// </summary>
public sealed class DemoScriptTests
{
    [Fact]
    public async Task The_demo_shows_notifications_flowing_and_cleans_up()
    {
        RequiredPeer.Executable("/usr/sbin/dovecot", "dovecot-imapd");
        RequiredPeer.Executable("/usr/bin/prosody", "prosody");
        var root = RepositoryRoot();
        var before = DemoDirectories();
        // --no-build: the PNA was built with this test project, in the same configuration (bin/<Configuration>/<tfm>).
        var binDir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        var pna = Path.Combine(root, "src", "Pna", "bin", binDir.Parent!.Name, binDir.Name);
        var (code, text) = await PeerCommand.RunAsync("/usr/bin/env",
            [$"PNA_DIR={pna}", "/bin/bash", Path.Combine(root, "scripts", "demo.sh"), "--ci", "--no-build"], null, TimeSpan.FromMinutes(8));
        Assert.True(code == 0, $"demo.sh --ci exited {code}:\n{text}");
        Assert.Contains("notification #1: initial", text, StringComparison.Ordinal);
        Assert.Equal(3, System.Text.RegularExpressions.Regex.Matches(text, @"notification #\d+: MessageNew ").Count);
        Assert.Contains("MessageRead  INBOX    messages=4 unseen=3", text, StringComparison.Ordinal);
        Assert.Contains("demo.sh: OK: ", text, StringComparison.Ordinal);
        Assert.Equal(before, DemoDirectories());
    }

    private static string[] DemoDirectories() =>
        Directory.GetDirectories("/tmp", "aggregators-demo.*").Order(StringComparer.Ordinal).ToArray();

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "scripts", "demo.sh")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"scripts/demo.sh not found above {AppContext.BaseDirectory}");
    }
}
