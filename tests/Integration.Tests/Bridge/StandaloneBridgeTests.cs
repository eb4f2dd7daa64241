using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Hosting;
using Aggregators.Integration.Tests.Peers;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Bridge;

/// <summary>
/// The standalone bridge host (BridgeHost, configured only through its configuration keys) watching
/// a real Dovecot and delivering over HTTP to a real in-process PNA: mail delivered with dovecot-lda
/// reaches the PNA's subscriber with the right totals; /healthz and /status answer.
/// </summary>
public sealed class StandaloneBridgeTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>, IDisposable
{
    private readonly string _dir = RequiredPeer.TempDirectory("bridgehost");

    public void Dispose()
    {
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    [Fact]
    public async Task Delivered_mail_reaches_the_pna_over_http()
    {
        var dovecot = fixture.Server;
        var user = dovecot.NewUser();
        var account = user.User + "@example.com";
        var pnaPort = TestPorts.Next();
        await using var pna = await PnaInProcess.StartAsync(pnaPort, Path.Combine(_dir, "pna"), account);

        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Bridge:DataDirectory"] = Path.Combine(_dir, "bridge"),
            ["Bridge:Http:Url"] = $"http://127.0.0.1:{pnaPort}",
            ["Bridge:Http:Token"] = PnaInProcess.Token,
            ["Bridge:Http:RetryBaseDelay"] = "00:00:00.100",
            ["Bridge:Servers:0:Name"] = "dovecot",
            ["Bridge:Servers:0:Host"] = "127.0.0.1",
            ["Bridge:Servers:0:Port"] = dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Bridge:Servers:0:Security"] = "None",
            ["Bridge:Servers:0:Accounts:0:Login"] = user.User,
            ["Bridge:Servers:0:Accounts:0:Password"] = user.Password,
            ["Bridge:Servers:0:Accounts:0:Account"] = account,
        };
        await using var bridge = BridgeHost.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")]);
        await bridge.StartAsync();
        var address = bridge.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        using var http = new HttpClient { BaseAddress = new Uri(address) };
        Assert.Equal("ok\n", await http.GetStringAsync("/healthz"));
        await WaitUntil(async () => (await Status(http)).GetProperty("watchers")[0].GetProperty("state").GetString() == "Watching", "watching");

        await dovecot.DeliverAsync(user.User, "over http");
        await WaitUntil(() => Task.FromResult(pna.Transport.Events.Any(e => e.Type == MailEventType.MessageNew)), "MessageNew at the PNA");
        var e = pna.Transport.Events.First(e => e.Type == MailEventType.MessageNew);
        Assert.Equal(account, e.Account.Value);
        Assert.Equal(MailboxPath.Inbox, e.Mailbox);
        Assert.Equal(1u, e.Totals!.Value.Messages);
        Assert.Equal(1u, e.Totals!.Value.Unseen);
        // The PNA may dispatch the event before its 202 is back at the bridge: the queue empties just after.
        await WaitUntil(async () => (await Status(http)).GetProperty("queuedEvents").GetInt64() == 0, "the bridge's queue empty");
        await bridge.StopAsync();
    }

    private static async Task<JsonElement> Status(HttpClient http) =>
        (await http.GetFromJsonAsync<JsonElement>("/status"));

    private static async Task WaitUntil(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!await condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(50);
        }
    }
}
