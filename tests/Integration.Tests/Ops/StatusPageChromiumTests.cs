using System.Buffers.Binary;
using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Ops;

/// <summary>
/// The PNA's status page rendered by a real browser (Debian's chromium, headless) while the
/// co-hosted bridge watches a real Dovecot: one account watched, one refused by Dovecot, mail
/// delivered and read, subscriptions on two transports. The screenshot is kept at
/// tests/Integration.Tests/TestResults/status-page.png (and the DOM beside it) for a human to look at.
/// </summary>
public sealed class StatusPageChromiumTests
{
    public const string Chromium = "/usr/bin/chromium";

    [Fact]
    public async Task The_status_page_renders_in_Chromium_and_shows_who_is_served()
    {
        RequiredPeer.Executable(Chromium, "chromium");
        await using var dovecot = await DovecotServer.StartAsync(extraConfig: DiscoveryCapabilityTests.ShippedCapabilityLine());
        var dir = RequiredPeer.TempDirectory("pna-status");
        var args = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = dir,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Bridge:Enabled"] = "true",
            ["Bridge:Servers:0:Name"] = "dovecot",
            ["Bridge:Servers:0:Host"] = "127.0.0.1",
            ["Bridge:Servers:0:Port"] = dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Bridge:Servers:0:Security"] = "None",
            ["Bridge:Servers:0:MasterUser:User"] = DovecotServer.Master.User,
            ["Bridge:Servers:0:MasterUser:Password"] = DovecotServer.Master.Password,
            ["Bridge:Servers:0:Users:0"] = DovecotServer.Juliet.User,
            // An account whose password is wrong: the page must show it refused, with the reason.
            ["Bridge:Servers:0:Accounts:0:Login"] = DovecotServer.Romeo.User,
            ["Bridge:Servers:0:Accounts:0:Password"] = "not-romeos-password",
            // The fixture's accounts are bare logins ("juliet"), so owner access does not apply: grant.
            ["Pna:Authorization:Grants:0:Subscriber"] = "xmpp:juliet@example.com",
            ["Pna:Authorization:Grants:0:Account"] = DovecotServer.Juliet.User,
            ["Pna:Authorization:Grants:1:Subscriber"] = "sip:juliet@example.com",
            ["Pna:Authorization:Grants:1:Account"] = DovecotServer.Juliet.User,
        };
        await using var app = PnaApplication.Build(args.Select(p => $"--{p.Key}={p.Value}").ToArray());
        await app.StartAsync();
        var bridge = app.Services.GetRequiredService<BridgeService>();
        await WaitUntil(() => bridge.Status.Any(s => s.Account == DovecotServer.Juliet.User && s.State == WatcherState.Watching) &&
            bridge.Status.Any(s => s.Account == DovecotServer.Romeo.User && s.LastError is not null), () => string.Join("; ", bridge.Status));

        foreach (var subject in new[] { "Lunch?", "Minutes", "Your parcel" })
        {
            await dovecot.DeliverAsync(DovecotServer.Juliet.User, subject);
        }
        var state = app.Services.GetRequiredService<MailboxStateStore>();
        var juliet = AccountId.Parse(DovecotServer.Juliet.User);
        await WaitUntil(() => state.Get(juliet, MailboxPath.Inbox)?.Totals?.Messages == 3, () => $"{state.Get(juliet, MailboxPath.Inbox)}");
        await dovecot.DoveadmAsync("flags", "add", "-u", DovecotServer.Juliet.User, "\\Seen", "mailbox", "INBOX", "uid", "1");
        await WaitUntil(() => state.Get(juliet, MailboxPath.Inbox)?.Totals?.Unseen == 2, () => $"{state.Get(juliet, MailboxPath.Inbox)}");

        var manager = app.Services.GetRequiredService<SubscriptionManager>();
        var filter = new SubscriptionFilter { Account = juliet, Mailbox = MailboxPath.Inbox, Heartbeat = TimeSpan.FromMinutes(5) };
        var viaXmpp = await manager.SubscribeAsync("xmpp:juliet@example.com", filter, new QuietTransport("xmpp"), "{}", null, CancellationToken.None);
        Assert.True(viaXmpp.Succeeded, viaXmpp.Decision.Reason);
        var viaSip = await manager.SubscribeAsync("sip:juliet@example.com", filter with { Heartbeat = null }, new QuietTransport("sip"), null, null, CancellationToken.None);
        Assert.True(viaSip.Succeeded, viaSip.Decision.Reason);

        var url = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First() + "/status");
        var artifacts = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "TestResults"));
        Directory.CreateDirectory(artifacts);
        var screenshot = Path.Combine(artifacts, "status-page.png");
        File.Delete(screenshot);
        var profile = Path.Combine(dir, "chromium-profile");
        var (code, output) = await PeerCommand.RunAsync(Chromium, [.. ChromiumArgs(profile), $"--screenshot={screenshot}", "--window-size=1280,900", url.ToString()], null, TimeSpan.FromMinutes(2));
        Assert.True(code == 0 && File.Exists(screenshot), $"chromium --screenshot exited {code}:\n{output}");
        var png = await File.ReadAllBytesAsync(screenshot);
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G', 0x0D, 0x0A, 0x1A, 0x0A }, png[..8]);
        // IHDR (RFC 2083 §4.1.1): width and height right after the chunk header.
        Assert.Equal((1280, 900), (BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(16)), BinaryPrimitives.ReadInt32BigEndian(png.AsSpan(20))));
        Assert.True(png.Length > 20_000, $"a {png.Length}-byte screenshot is too small to be the rendered page");

        // What the browser rendered, as the DOM it built (no script on the page, so this is the page).
        var (domCode, dom) = await PeerCommand.RunAsync(Chromium, [.. ChromiumArgs(profile), "--dump-dom", url.ToString()], null, TimeSpan.FromMinutes(2));
        Assert.Equal(0, domCode);
        await File.WriteAllTextAsync(Path.Combine(artifacts, "status-page.html"), dom);
        Assert.Contains("Working, with problems: 1 account(s) not watched", dom, StringComparison.Ordinal);
        Assert.Contains(">Watching<", dom, StringComparison.Ordinal);
        Assert.Contains(">AuthFailed<", dom, StringComparison.Ordinal);
        Assert.Contains("NOTIF=xmpp:events.example.com", dom, StringComparison.Ordinal);
        Assert.Contains("INBOX: 3 / <b>2</b>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>xmpp</td><td class=\"n\">1</td><td class=\"n\">1</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<td>sip</td><td class=\"n\">1</td>", dom, StringComparison.Ordinal);
        Assert.Contains("<svg", dom, StringComparison.Ordinal);
        Assert.Contains("Recent warnings and errors", dom, StringComparison.Ordinal);
        await app.StopAsync();
    }

    private static string[] ChromiumArgs(string profile) =>
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
        "--hide-scrollbars", "--disable-extensions", $"--user-data-dir={profile}",
    ];

    private static async Task WaitUntil(Func<bool> condition, Func<string> state)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("condition not met in time: " + state());
            }
            await Task.Delay(50);
        }
    }

    private sealed class QuietTransport(string name) : INotificationTransport
    {
        public string Name { get; } = name;

        public void Deliver(in Notification notification)
        {
        }
    }
}
