using Aggregators.EventModel.Discovery;
using Aggregators.ImapBridge;
using Aggregators.Integration.Tests.ImapBridge;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Ops;

/// <summary>
/// Discovery (docs/discovery.md) against a real Dovecot 2.3: the <c>imap_capability</c> line shipped
/// in deploy/dovecot/dovecot.conf makes Dovecot advertise the PNA's NOTIF= atoms before and after
/// login, without hiding its own capabilities, and the bridge's watcher reads them.
/// </summary>
public sealed class DiscoveryCapabilityTests
{
    private static readonly string[] Expected = ["NOTIF=sip:pna.example.com:5060;transport=udp", "NOTIF=xmpp:events.example.com"];

    [Fact]
    public async Task Dovecot_advertises_the_PNA_before_and_after_login_and_the_bridge_reads_it()
    {
        await using var dovecot = await DovecotServer.StartAsync(extraConfig: ShippedCapabilityLine());

        await using (var client = await dovecot.ConnectAsync())
        {
            var beforeLogin = await client.CapabilityAsync();
            Assert.Equal(Expected, NotifCapability.FromCapabilities(beforeLogin).Found.Select(c => c.ToString()));
            await client.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
            var afterLogin = client.Capabilities;
            var (found, errors) = NotifCapability.FromCapabilities(afterLogin);
            Assert.Empty(errors);
            Assert.Equal(Expected, found.Select(c => c.ToString()));
            // "+" adds to Dovecot's own list: NOTIFY and IDLE, which the bridge needs, are still there.
            Assert.Contains("NOTIFY", afterLogin);
            Assert.Contains("IDLE", afterLogin);
            Assert.Equal(["sip:juliet@example.com", "juliet@events.example.com"],
                found.Select(c => c.ResourceFor(Aggregators.EventModel.AccountId.Parse("juliet@example.com"))));
        }

        await using var watcher = new WatcherHarness(dovecot, DovecotServer.Juliet, WatchMode.Auto);
        await watcher.StartAsync();
        Assert.Equal(Expected, watcher.Watcher.Status.Discovery);
        Assert.True(watcher.Watcher.Status.NotifyMode);
    }

    /// <summary>The imap_capability line of deploy/dovecot/dovecot.conf, so the shipped setting is the one tested.</summary>
    internal static string ShippedCapabilityLine()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var conf = Path.Combine(dir.FullName, "deploy", "dovecot", "dovecot.conf");
            if (File.Exists(conf))
            {
                return File.ReadAllLines(conf).Single(l => l.StartsWith("imap_capability", StringComparison.Ordinal));
            }
        }
        throw new InvalidOperationException($"deploy/dovecot/dovecot.conf not found above {AppContext.BaseDirectory}");
    }
}
