using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Aggregators.SieveAlert;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.SieveAlert.Tests;

public sealed class SieveAlertTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "sieve-alert-" + Guid.NewGuid().ToString("N"));

    public SieveAlertTests()
    {
        Directory.CreateDirectory(_dir);
        // The program's watchdog ends the process at budget_ms: the tests' configs set it far above
        // what a run takes, so it never fires inside the test host.
        SieveAlertProgram.StartDrainers = false;
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

    [Fact]
    public void Headers_are_unfolded_and_decoded()
    {
        var message = "Received: x\r\nFrom: =?UTF-8?Q?Rom=C3=A9o?=\r\n <romeo@example.com>\r\nSubject: =?ISO-8859-1?B?QmFsY29u6Q==?=\r\nMessage-ID: <a1@example.com>\r\n\r\nFrom: not a header\r\n";
        var h = MessageHeaders.Parse(Encoding.ASCII.GetBytes(message));
        Assert.Equal("Roméo <romeo@example.com>", h.From);
        Assert.Equal("Balconé", h.Subject);
        Assert.Equal("<a1@example.com>", h.MessageId);
    }

    [Fact]
    public void Raw_utf8_headers_are_read_as_utf8()
    {
        var h = MessageHeaders.Parse(Encoding.UTF8.GetBytes("Subject: Grüße\n\nbody"));
        Assert.Equal("Grüße", h.Subject);
    }

    [Fact]
    public void Any_bytes_parse_without_throwing()
    {
        Prop.ForAll(Arb.From(Gen.ArrayOf(Gen.Elements((byte)'a', (byte)':', (byte)'\r', (byte)'\n', (byte)' ', (byte)'=', (byte)'?', (byte)'Q', (byte)0xC3, (byte)0))),
            bytes =>
            {
                var h = MessageHeaders.Parse(Encoding.ASCII.GetBytes("Subject: ").Concat(bytes).ToArray());
                return h.Subject is null || !h.Subject.Any(char.IsControl);
            }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Arguments_and_config()
    {
        var a = Arguments.Parse(["--to", "xmpp:juliet@example.com", "--to", "sip:juliet@example.com", "--text", "Mail from {from}", "--importance", "high"], out var error);
        Assert.Null(error);
        Assert.Equal(2, a.Targets.Count);
        Assert.Equal("high", a.Importance);
        Arguments.Parse(["--text", "x"], out error);
        Assert.Contains("--to", error, StringComparison.Ordinal);
        Arguments.Parse(["--to", "xmpp:a@b", "--bogus"], out error);
        Assert.Contains("--bogus", error, StringComparison.Ordinal);

        var path = Path.Combine(_dir, "conf");
        File.WriteAllText(path, "# comment\nurl = http://127.0.0.1:9/\ntoken = t0123456789abcdef\nspool = /x\npost_timeout_ms = 500\nnonsense\nbudget_ms = 5\n");
        var problems = new List<string>();
        var config = SieveAlertConfig.Load(path, new Dictionary<string, string?> { ["PNA_ALERT_SPOOL"] = "/y" }, problems);
        Assert.Equal(new Uri("http://127.0.0.1:9/"), config.Url);
        Assert.Equal("t0123456789abcdef", config.Token);
        Assert.Equal("/y", config.Spool);
        Assert.Equal(TimeSpan.FromMilliseconds(500), config.PostTimeout);
        Assert.Equal(2, problems.Count); // "nonsense" and the out-of-range budget
    }

    [Fact]
    public void The_body_carries_what_the_message_says()
    {
        var a = Arguments.Parse(["--to", "xmpp:juliet@example.com", "--text", "Mail from {from}: {subject}"], out _);
        var h = MessageHeaders.Parse(Encoding.ASCII.GetBytes("From: romeo@example.com\nSubject: Hi\nMessage-ID: <m@x>\n\n"));
        var config = new SieveAlertConfig { ImapUrl = "imap://{user}@mail.example.com/INBOX" };
        var body = SieveAlertProgram.BuildBody(a, config, h, new Dictionary<string, string?> { ["USER"] = "juliet", ["RECIPIENT"] = "juliet@example.com" }, "c1");
        using var doc = JsonDocument.Parse(body);
        var root = doc.RootElement;
        Assert.Equal("Mail from romeo@example.com: Hi", root.GetProperty("text").GetString());
        Assert.Equal("juliet@example.com", root.GetProperty("account").GetString());
        Assert.Equal("imap://juliet@mail.example.com/INBOX?HEADER%20Message-ID%20%22%3Cm%40x%3E%22", root.GetProperty("imapUrl").GetString());
        Assert.Equal("c1", root.GetProperty("clientId").GetString());
    }

    [Fact]
    public void Spool_files_appear_whole_and_failures_keep_their_reason()
    {
        var spool = new AlertSpool(Path.Combine(_dir, "spool"));
        var path = spool.Write("abc", "{}"u8.ToArray(), DateTimeOffset.UnixEpoch.AddDays(1));
        Assert.Equal([path], spool.List());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(spool.Directory, "tmp")));
        Assert.Equal(DateTimeOffset.UnixEpoch.AddDays(1), AlertSpool.CreatedOf(path));
        using (var held = spool.TryLock())
        {
            Assert.NotNull(held);
            Assert.Null(spool.TryLock());
        }
        spool.Fail(path, "400 bad");
        Assert.Empty(spool.List());
        Assert.Equal("400 bad\n", File.ReadAllText(Path.Combine(spool.Directory, "failed", Path.GetFileName(path) + ".reason")));
    }

    [Fact]
    public async Task With_the_pna_down_the_alert_is_spooled_and_the_program_returns_0()
    {
        using var closed = new TcpListener(IPAddress.Loopback, 0);
        closed.Start();
        var port = ((IPEndPoint)closed.LocalEndpoint).Port;
        closed.Stop(); // nothing listens there now
        var conf = Path.Combine(_dir, "conf");
        File.WriteAllText(conf, $"url = http://127.0.0.1:{port}\ntoken = t0123456789abcdef\nspool = {Path.Combine(_dir, "spool")}\nbudget_ms = 10000\n");
        using var stdin = new MemoryStream(Encoding.ASCII.GetBytes("From: romeo@example.com\n\nhi\n"));
        var rc = await SieveAlertProgram.RunAsync(["--config", conf, "--to", "xmpp:juliet@example.com", "--text", "x"], stdin,
            new Dictionary<string, string?> { ["USER"] = "juliet" });
        Assert.Equal(0, rc);
        Assert.Single(new AlertSpool(Path.Combine(_dir, "spool")).List());
        // A drain pass with the PNA still down keeps the alert.
        await SieveAlertProgram.RunAsync(["--config", conf, "--drain", "--once"], Stream.Null, new Dictionary<string, string?>());
        Assert.Single(new AlertSpool(Path.Combine(_dir, "spool")).List());
    }

    [Fact]
    public async Task A_pna_that_accepts_but_never_answers_gets_the_alert_spooled()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start(); // connections are accepted by the kernel, nothing is ever read or answered
        var port = ((IPEndPoint)silent.LocalEndpoint).Port;
        var conf = Path.Combine(_dir, "conf");
        File.WriteAllText(conf, $"url = http://127.0.0.1:{port}\ntoken = t0123456789abcdef\nspool = {Path.Combine(_dir, "spool")}\npost_timeout_ms = 300\nbudget_ms = 10000\n");
        var rc = await SieveAlertProgram.RunAsync(["--config", conf, "--to", "sip:juliet@example.com", "--text", "x", "--no-stdin"], Stream.Null,
            new Dictionary<string, string?>());
        Assert.Equal(0, rc);
        var file = Assert.Single(new AlertSpool(Path.Combine(_dir, "spool")).List());
        using var doc = JsonDocument.Parse(File.ReadAllBytes(file));
        Assert.Equal("sip:juliet@example.com", doc.RootElement.GetProperty("targets")[0].GetString());
    }

    [Fact]
    public async Task A_body_the_pna_refuses_goes_to_failed_with_the_reason()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        var server = Task.Run(async () =>
        {
            using var client = await listener.AcceptTcpClientAsync();
            var stream = client.GetStream();
            var buffer = new byte[65536];
            var read = 0;
            while (!Encoding.ASCII.GetString(buffer, 0, read).Contains("clientId", StringComparison.Ordinal))
            {
                read += await stream.ReadAsync(buffer.AsMemory(read));
            }
            var body = "{\"error\":\"the alert is invalid\"}";
            await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json\r\nContent-Length: {body.Length}\r\nConnection: close\r\n\r\n{body}"));
        });
        var conf = Path.Combine(_dir, "conf");
        File.WriteAllText(conf, $"url = http://127.0.0.1:{port}\ntoken = t0123456789abcdef\nspool = {Path.Combine(_dir, "spool")}\npost_timeout_ms = 5000\nbudget_ms = 10000\n");
        var rc = await SieveAlertProgram.RunAsync(["--config", conf, "--to", "xmpp:juliet@example.com", "--text", "x", "--no-stdin"], Stream.Null,
            new Dictionary<string, string?>());
        await server;
        Assert.Equal(0, rc);
        Assert.Empty(new AlertSpool(Path.Combine(_dir, "spool")).List());
        var reason = Assert.Single(Directory.EnumerateFiles(Path.Combine(_dir, "spool", "failed"), "*.reason"));
        Assert.Contains("400", File.ReadAllText(reason), StringComparison.Ordinal);
    }
}
