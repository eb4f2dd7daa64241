using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Integration.Tests.Xmpp;
using Xunit.Abstractions;

namespace Aggregators.Integration.Tests.Alerts;

/// <summary>
/// Issue 7 end to end: Dovecot with Pigeonhole runs juliet's Sieve rule on mail from romeo, which
/// calls pna-alert (src/SieveAlert) through the wrapper docs/alerts.md describes; the PNA sends the
/// alert to juliet's slixmpp client (through Prosody and the PNA's component) and to a raw SIP UA
/// (through the outbound proxy setting). With the PNA stopped the alert is spooled, delivery still
/// completes, and the alert arrives once the PNA is back.
/// </summary>
public sealed class SieveAlertTests : IClassFixture<ProsodyServer>, IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>A generous bound for dovecot-lda with the PNA down (the program's own budget is 1.9 s).</summary>
    private static readonly TimeSpan DeliveryBound = TimeSpan.FromSeconds(8);

    private const string Script = """
        require ["vnd.dovecot.execute"];
        if address :is "from" "romeo@example.com" {
          execute :pipe "pna-alert" ["--to", "xmpp:juliet@example.com", "--to", "sip:juliet@example.com",
                                     "--text", "Mail from {from}: {subject}"];
        }
        """;

    private readonly ProsodyServer _prosody;
    private readonly string _dir = RequiredPeer.TempDirectory("alerts");

    private readonly ITestOutputHelper _output;

    public SieveAlertTests(ProsodyServer prosody, ITestOutputHelper output)
    {
        _prosody = prosody;
        _output = output;
    }

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

    /// <summary>src/SieveAlert's build output for this configuration (the test project builds it first).</summary>
    private static string SieveAlertProgram()
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "src", "SieveAlert", "bin", configuration, "net10.0", "Aggregators.SieveAlert");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException($"src/SieveAlert/bin/{configuration}/net10.0/Aggregators.SieveAlert not found: build src/SieveAlert");
    }

    /// <summary>The wrapper of docs/alerts.md: extprograms passes a small environment, so it sets DOTNET_ROOT, HOME and the config.</summary>
    private static string Wrapper(string configPath) => $"""
        #!/bin/sh
        export DOTNET_ROOT={Path.GetDirectoryName(Path.GetFullPath(new FileInfo("/usr/bin/dotnet").ResolveLinkTarget(true)?.FullName ?? "/usr/share/dotnet/dotnet"))}
        export HOME=/tmp DOTNET_NOLOGO=1 DOTNET_CLI_TELEMETRY_OPTOUT=1
        export PNA_ALERT_CONFIG={configPath}
        exec {SieveAlertProgram()} "$@"
        """;

    private string WriteAlertConfig(int pnaPort, int imapPort)
    {
        var spool = Path.Combine(_dir, "spool");
        Directory.CreateDirectory(spool);
        File.SetUnixFileMode(_dir, (UnixFileMode)0x1ED);
        File.SetUnixFileMode(spool, (UnixFileMode)0x1FF); // the mail processes' uid 65534 writes here
        var path = Path.Combine(_dir, "sieve-alert.conf");
        File.WriteAllText(path, $"url = http://127.0.0.1:{pnaPort}\ntoken = {AlertsPna.Token}\nspool = {spool}\nimap_url = imap://{{user}}@127.0.0.1:{imapPort}/INBOX\n");
        File.SetUnixFileMode(path, (UnixFileMode)0x1A4); // 0644
        return path;
    }

    /// <summary>What the spool holds, with the drainer's log, for failure messages.</summary>
    private string SpoolReport()
    {
        var spool = Path.Combine(_dir, "spool");
        var lines = new List<string>();
        foreach (var f in Directory.EnumerateFiles(spool, "*", SearchOption.AllDirectories))
        {
            try
            {
                lines.Add(f.EndsWith(".lock", StringComparison.Ordinal) ? f + " (lock)" : $"{f}:\n{File.ReadAllText(f)}");
            }
            catch (IOException e)
            {
                lines.Add($"{f}: {e.Message}");
            }
        }
        return "\n" + string.Join("\n", lines);
    }

    [Fact]
    public async Task A_sieve_rule_alerts_juliet_over_xmpp_and_sip_and_nothing_is_lost_while_the_pna_is_down()
    {
        await using var ua = new MessageUa();
        var pnaPort = TestPorts.Next();
        var data = Path.Combine(_dir, "pna");
        var imapPort = TestPorts.Next(); // only written into the IMAP URL
        var config = WriteAlertConfig(pnaPort, imapPort);
        await using var dovecot = await DovecotServer.StartAsync(sieve: new DovecotSieve(Script, new Dictionary<string, string> { ["pna-alert"] = Wrapper(config) }));
        await using var juliet = await SlixmppClient.ConnectAsync("juliet@example.com", ProsodyServer.Users["juliet@example.com"], _prosody.C2sPort);
        var pna = await AlertsPna.StartAsync(data, pnaPort, _prosody.ComponentPort, ua.Port);
        try
        {
            // 1. The PNA is up: the rule fires, both targets get the alert.
            await dovecot.DeliverAsync("juliet", "Balcony", from: "romeo@example.com");
            var message = await juliet.WaitForAsync(e => (string?)e["event"] == "message" && ((string?)e["body"])?.Contains("Balcony", StringComparison.Ordinal) == true, Wait);
            Assert.Equal("Mail from romeo@example.com: Balcony", (string?)message["body"]);
            Assert.Equal("alerts@events.example.com", (string?)message["from"]);
            Assert.Equal("headline", (string?)message["type"]);
            Assert.StartsWith($"imap://juliet@127.0.0.1:{imapPort}/INBOX?HEADER%20Message-ID", (string?)message["oob_url"], StringComparison.Ordinal);
            var sip = await ua.WaitForAsync("Balcony", Wait);
            Assert.Equal("sip:juliet@example.com", sip.RequestUri.ToString());
            Assert.Equal("text/plain;charset=UTF-8", sip.ContentType);
            Assert.Contains("sip:alerts@example.com", sip.Headers.GetFirstValue("From"), StringComparison.Ordinal);

            // 2. Mail from someone else: no rule, no alert (the next alert seen must be step 3's).
            await dovecot.DeliverAsync("juliet", "Not from romeo", from: "tybalt@example.com");

            // 3. The PNA is down: delivery completes within the bound, the alert waits in the spool...
            await pna.DisposeAsync();
            var clock = Stopwatch.StartNew();
            await dovecot.DeliverAsync("juliet", "While down", from: "romeo@example.com");
            clock.Stop();
            _output.WriteLine($"dovecot-lda with the Sieve rule and the PNA down: {clock.Elapsed.TotalMilliseconds:0} ms");
            Assert.True(clock.Elapsed < DeliveryBound, $"dovecot-lda took {clock.Elapsed} with the PNA down (bound {DeliveryBound})");
            // (An earlier alert may still be there too: a first POST slower than post_timeout_ms is
            // spooled although the PNA took it; its drainer re-posts it with the same clientId.)
            Assert.True(Directory.EnumerateFiles(Path.Combine(_dir, "spool"), "*.alert").Any(f => File.ReadAllText(f).Contains("While down", StringComparison.Ordinal)),
                "the alert should wait in the spool: " + SpoolReport());

            // ... and arrives after the PNA starts, with no other mail (the detached drainer posts it).
            pna = await AlertsPna.StartAsync(data, pnaPort, _prosody.ComponentPort, ua.Port);
            var late = await juliet.WaitForAsync(e => (string?)e["event"] == "message" && ((string?)e["body"])?.Contains("While down", StringComparison.Ordinal) == true, Wait);
            Assert.DoesNotContain("Not from romeo", (string?)late["body"], StringComparison.Ordinal);
            await ua.WaitForAsync("While down", Wait);
            var deadline = DateTime.UtcNow + Wait;
            while (Directory.EnumerateFiles(Path.Combine(_dir, "spool"), "*.alert").Any())
            {
                Assert.True(DateTime.UtcNow < deadline, "the spool was not emptied: " + SpoolReport());
                await Task.Delay(50);
            }

            // Every alert is in the PNA's store as delivered.
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{pnaPort}") };
            using var list = JsonDocument.Parse(await http.GetStringAsync("/v1/alerts?status=delivered"));
            Assert.Equal(4, list.RootElement.GetProperty("alerts").GetArrayLength());
        }
        finally
        {
            await pna.DisposeAsync();
        }
    }

    [Fact]
    public async Task An_alert_nobody_allowed_is_refused_with_its_reason_and_a_flood_is_rate_limited()
    {
        await using var ua = new MessageUa();
        var pnaPort = TestPorts.Next();
        await using var pna = await AlertsPna.StartAsync(Path.Combine(_dir, "pna"), pnaPort, _prosody.ComponentPort, ua.Port,
            new Dictionary<string, string> { ["Pna:Alerts:PerTarget:Burst"] = "5", ["Pna:Alerts:PerTarget:PerMinute"] = "1" });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{pnaPort}") };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", AlertsPna.Token);

        async Task<JsonElement> PostAsync(string json)
        {
            using var response = await http.PostAsync("/v1/alerts", new StringContent(json, Encoding.UTF8, "application/json"));
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
            return doc.RootElement.GetProperty("alerts")[0].Clone();
        }

        var refused = await PostAsync("""{"targets":["xmpp:nurse@example.com"],"text":"Mail from Romeo","from":"romeo@example.com"}""");
        Assert.Equal("refused", refused.GetProperty("status").GetString());
        using (var status = JsonDocument.Parse(await http.GetStringAsync($"/v1/alerts/{refused.GetProperty("id").GetInt64()}")))
        {
            Assert.Equal("refused", status.RootElement.GetProperty("status").GetString());
            Assert.Contains("no consent: xmpp:nurse@example.com has no entry in Pna:Alerts:Targets", status.RootElement.GetProperty("reason").GetString(), StringComparison.Ordinal);
        }

        var outcomes = new List<JsonElement>();
        for (var i = 0; i < 20; i++)
        {
            outcomes.Add(await PostAsync($$"""{"targets":["sip:juliet@example.com"],"text":"flood {{i}}"}"""));
        }
        Assert.Equal(5, outcomes.Count(o => o.GetProperty("status").GetString() == "queued"));
        Assert.All(outcomes.Skip(5), o => Assert.Contains("rate limit of sip:juliet@example.com exceeded", o.GetProperty("reason").GetString(), StringComparison.Ordinal));
        for (var i = 0; i < 5; i++)
        {
            await ua.WaitForAsync($"flood {i}", Wait);
        }
        using var counts = JsonDocument.Parse(await http.GetStringAsync("/v1/alerts/counts"));
        Assert.Equal(16, counts.RootElement.GetProperty("refused").GetInt64());
        using var metrics = new HttpClient { BaseAddress = http.BaseAddress };
        Assert.Contains("pna_alerts_final", await metrics.GetStringAsync("/metrics"), StringComparison.Ordinal);
    }
}
