using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.EventModel;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Ingest;

public sealed class IngestLimitsTests
{
    private static readonly Dictionary<string, string> SmallBodies = new() { ["Pna:Ingest:MaxBodyBytes"] = "4096" };

    private static string BigBody()
    {
        var sb = new StringBuilder();
        for (var i = 0; sb.Length <= 20_000; i++)
        {
            sb.Append(Events.MessageNew("alice@example.org", "INBOX", (uint)i, 0, (uint)i + 1)).Append('\n');
        }
        return sb.ToString();
    }

    [Fact]
    public async Task Body_over_the_limit_with_content_length_is_413()
    {
        await using var host = await PnaTestHost.StartAsync(settings: SmallBodies);
        var response = await host.PostAsync(BigBody());
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Contains("MaxBodyBytes (4096 bytes)", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Null(host.State.Get(AccountId.Parse("alice@example.org"), MailboxPath.Inbox));
    }

    /// <summary>Chunked body: no Content-Length, so the limit is found while reading, and reading stops.</summary>
    private sealed class EndlessContent : HttpContent
    {
        public int Written;

        protected override async Task SerializeToStreamAsync(Stream stream, TransportContext? context)
        {
            var line = Encoding.UTF8.GetBytes(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2) + "\n");
            try
            {
                // Far more than the limit; the server stops reading long before.
                for (var i = 0; i < 100_000; i++)
                {
                    await stream.WriteAsync(line);
                    Written += line.Length;
                }
            }
            catch (Exception ex) when (ex is IOException or HttpRequestException or ObjectDisposedException or OperationCanceledException)
            {
                // the server answered 413 and closed: expected
            }
        }

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }

    [Fact]
    public async Task Body_over_the_limit_without_content_length_is_413_and_reading_stops()
    {
        await using var host = await PnaTestHost.StartAsync(settings: SmallBodies);
        using var content = new EndlessContent();
        content.Headers.TryAddWithoutValidation("Content-Type", "application/x-ndjson");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events") { Content = content };
        request.Headers.TransferEncodingChunked = true;
        HttpResponseMessage response;
        try
        {
            response = await host.Client.SendAsync(request);
        }
        catch (HttpRequestException ex)
        {
            Assert.Fail("the server should answer 413 before the client finished sending: " + ex.Message);
            return;
        }
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Null(host.State.Get(AccountId.Parse("alice@example.org"), MailboxPath.Inbox));
    }

    [Fact]
    public async Task Connection_stays_usable_after_a_bad_request()
    {
        await using var host = await PnaTestHost.StartAsync();
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(IPAddress.Loopback, host.BaseAddress.Port);
        var stream = tcp.GetStream();
        var reader = new StreamReader(stream, Encoding.ASCII);

        async Task<(int Status, string Body)> Send(string body)
        {
            var bytes = Encoding.UTF8.GetBytes(body);
            var head = "POST /v1/events HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer " + PnaTestHost.Token +
                "\r\nContent-Type: application/x-ndjson\r\nContent-Length: " + bytes.Length + "\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head));
            await stream.WriteAsync(bytes);
            var status = int.Parse((await reader.ReadLineAsync())!.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
            var length = 0;
            string? line;
            while ((line = await reader.ReadLineAsync()) is { Length: > 0 })
            {
                Assert.False(line.StartsWith("Connection: close", StringComparison.OrdinalIgnoreCase), "server closes the connection");
                if (line.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase))
                {
                    length = int.Parse(line["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture);
                }
            }
            var buffer = new char[length];
            var read = 0;
            while (read < length)
            {
                read += await reader.ReadAsync(buffer.AsMemory(read));
            }
            return (status, new string(buffer));
        }

        var bad = await Send("{\"event\":\"MessageNew\",\"account\":\n{{{{ garbage \u0001\n[1,2\n");
        Assert.Equal(400, bad.Status);
        var good = await Send(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)));
        Assert.Equal(202, good.Status);
        Assert.Equal("{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}", good.Body);
    }

    [Fact]
    public async Task Full_queue_makes_the_request_wait_then_503_with_retry_after()
    {
        var transport = new RecordingTransport { Gate = new ManualResetEventSlim(false) };
        await using var host = await PnaTestHost.StartAsync(transport: transport, settings: new Dictionary<string, string>
        {
            ["Pna:Ingest:QueueCapacity"] = "1",
            ["Pna:Ingest:EnqueueTimeout"] = "00:00:00.300",
            ["Pna:Ingest:RetryAfterSeconds"] = "7",
        });
        // Subscribing needs the dispatcher to deliver the Initial notification: let it through first.
        transport.Gate.Set();
        await host.SubscribeAsync("alice@example.org");
        transport.Gate.Reset();

        var first = await host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)));
        Assert.Equal(HttpStatusCode.Accepted, first.StatusCode); // the dispatcher takes it and blocks in Deliver
        HttpResponseMessage? busy = null;
        for (var i = 0; i < 5 && busy is null; i++)
        {
            var r = await host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 2, 2, 3, id: "x" + i)));
            if (r.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                busy = r;
            }
        }
        Assert.NotNull(busy);
        Assert.Equal("7", busy!.Headers.GetValues("Retry-After").Single());
        transport.Gate.Set();
        // After the queue drains, the same events are welcome again (the id window forgot the refused ones).
        await PnaTestHost.WaitUntil(() => host.App.Services.GetRequiredService<Aggregators.Pna.Dispatch.Dispatcher>().QueueDepth == 0, "queue drained");
        var retry = await host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 2, 2, 3, id: "x4")));
        Assert.Equal("{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}", await retry.Content.ReadAsStringAsync());
    }
}

public sealed class InProcessIngestTests
{
    [Fact]
    public async Task In_process_events_go_through_the_same_validation_and_dispatch()
    {
        await using var host = await PnaTestHost.StartAsync();
        var subscription = await host.SubscribeAsync("bob@example.org");
        var ingest = host.App.Services.GetRequiredService<IEventIngest>();
        var bob = AccountId.Parse("bob@example.org");
        MailEvent[] events =
        [
            new() { Type = MailEventType.MessageNew, Account = bob, Mailbox = MailboxPath.Inbox, Totals = new MailboxTotals(4, 1, 10, 3), Id = "b1" },
            // RFC 5423 mailbox events need a mailbox: the codec rejects this one.
            new() { Type = MailEventType.MessageNew, Account = bob, Mailbox = MailboxPath.Root, Id = "b2" },
            new() { Type = MailEventType.MessageRead, Account = bob, Mailbox = MailboxPath.Inbox, Totals = new MailboxTotals(4, 0, 10, 3), Id = "b3" },
            new() { Type = MailEventType.MessageNew, Account = bob, Mailbox = MailboxPath.Inbox, Totals = new MailboxTotals(4, 1, 10, 3), Id = "b1" },
            new() { Type = MailEventType.MessageNew, Account = bob, Mailbox = null!, Id = "b5" },
            new() { Type = MailEventType.MessageNew, Account = default, Mailbox = MailboxPath.Inbox, Id = "b6" },
        ];
        var result = await ingest.SubmitAsync(events, "bridge", CancellationToken.None);
        Assert.Equal(IngestStatus.Accepted, result.Status);
        Assert.Equal(2, result.Accepted);
        Assert.Equal(1, result.Duplicates);
        Assert.Equal([1, 4, 5], result.Rejected.Select(r => r.Index));
        Assert.Equal("mailbox", result.Rejected[0].Field);
        await PnaTestHost.WaitUntil(() => host.Transport.For(subscription).Count(n => n.Kind == NotificationKind.Event) == 2, "two notifications");
        Assert.Equal(new MailboxTotals(4, 0, 10, 3), host.State.Get(bob, MailboxPath.Inbox)!.Totals);
    }
}

public sealed class IngestEventLimitTests
{
    [Fact]
    public async Task Events_past_max_events_per_request_are_not_read_and_reported_once()
    {
        await using var host = await PnaTestHost.StartAsync(settings: new Dictionary<string, string> { ["Pna:Ingest:MaxEventsPerRequest"] = "2" });
        var response = await host.PostAsync(Events.Ndjson(
            Events.MessageNew("alice@example.org", "A", 1, 1, 2),
            Events.MessageNew("alice@example.org", "B", 1, 1, 2),
            Events.MessageNew("alice@example.org", "C", 1, 1, 2)));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(2, doc.RootElement.GetProperty("accepted").GetInt32());
        var rejected = Assert.Single(doc.RootElement.GetProperty("rejected").EnumerateArray());
        Assert.Equal(2, rejected.GetProperty("index").GetInt32());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, rejected.GetProperty("field").ValueKind);
        Assert.Contains("more than 2 events", rejected.GetProperty("error").GetString(), StringComparison.Ordinal);
        var alice = AccountId.Parse("alice@example.org");
        await PnaTestHost.WaitUntil(() => host.State.Get(alice, MailboxPath.Parse("B")) is not null, "B");
        Assert.Null(host.State.Get(alice, MailboxPath.Parse("C")));
    }
}
