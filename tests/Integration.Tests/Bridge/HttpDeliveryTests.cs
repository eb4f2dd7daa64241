using System.Net;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Delivery;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Bridge;

/// <summary>
/// <see cref="HttpEventSink"/> against a real in-process PNA: outage, restart with a non-empty
/// queue, 413 split, 400 not retried, 401 retried slowly, full queue. Exactly-once is checked at the
/// PNA's subscriber: every event id is notified once, and the state holds the last totals.
/// </summary>
public sealed class HttpDeliveryTests : IDisposable
{
    private const string Account = "juliet@example.com";

    private readonly string _dir = RequiredPeer.TempDirectory("httpdelivery");
    private readonly int _port = TestPorts.Next();

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

    private string PnaData => Path.Combine(_dir, "pna");
    private string QueuePath => Path.Combine(_dir, "bridge", DurableEventQueue.DefaultFileName);

    private HttpDeliveryOptions Options(Action<HttpDeliveryOptions>? change = null)
    {
        var o = new HttpDeliveryOptions
        {
            Url = new Uri($"http://127.0.0.1:{_port}"),
            Token = PnaInProcess.Token,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
            RetryMaxDelay = TimeSpan.FromMilliseconds(300),
            ConfigurationErrorRetryDelay = TimeSpan.FromMilliseconds(200),
            RequestTimeout = TimeSpan.FromSeconds(10),
        };
        change?.Invoke(o);
        return o;
    }

    private static MailEvent[] Events(int from, int count) =>
        [.. Enumerable.Range(from, count).Select(i => new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = AccountId.Parse(Account),
            Mailbox = MailboxPath.Inbox,
            Id = $"ib1-test-{i:D5}",
            Uidset = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
            Totals = new MailboxTotals((uint)i, (uint)i, (uint)i + 1, 42),
        })];

    private static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }

    private static void AssertExactlyOnce(PnaInProcess pna, IEnumerable<MailEvent> events)
    {
        foreach (var e in events)
        {
            Assert.True(pna.Transport.ById.TryGetValue(e.Id!, out var n), $"{e.Id} never reached the PNA");
            Assert.Equal(1, n);
        }
    }

    private (HttpEventSink Sink, DurableEventQueue Queue, CountingHandler Handler) NewSink(HttpDeliveryOptions options)
    {
        var queue = new DurableEventQueue(QueuePath, options.MaxQueueBytes);
        var handler = new CountingHandler();
        return (new HttpEventSink(options, queue, handler: handler), queue, handler);
    }

    [Fact]
    public async Task Pna_outage_loses_nothing_and_each_event_arrives_once()
    {
        var (sink, queue, _) = NewSink(Options());
        using var q = queue;
        using var s = sink;
        await sink.StartAsync(default);
        var events = Events(1, 40);
        foreach (var chunk in events.Chunk(7))
        {
            await sink.DeliverAsync(chunk, default); // returns: durably queued, though the PNA is down
        }
        Assert.Equal(40, sink.Pending);

        await using var pna = await PnaInProcess.StartAsync(_port, PnaData, Account);
        await WaitUntil(() => sink.Pending == 0 && pna.Transport.ById.Count == 40, "all 40 events at the PNA");
        AssertExactlyOnce(pna, events);
        var inbox = pna.State.GetAccount(AccountId.Parse(Account)).Single(m => m.Mailbox == MailboxPath.Inbox);
        Assert.Equal(new MailboxTotals(40, 40, 41, 42), inbox.Totals);
        await sink.StopAsync(default);
    }

    [Fact]
    public async Task Restarted_bridge_resends_what_was_not_acknowledged_and_the_pna_drops_repeats_by_id()
    {
        var events = Events(100, 25);
        await using (var pna = await PnaInProcess.StartAsync(_port, PnaData, Account))
        {
            // First life: 10 events acknowledged.
            var (sink, queue, _) = NewSink(Options());
            await sink.StartAsync(default);
            await sink.DeliverAsync(events[..10], default);
            await WaitUntil(() => sink.Pending == 0, "first 10 acknowledged");
            await sink.StopAsync(default);
            sink.Dispose();
            queue.Dispose();
        }
        // PNA down: the bridge queues the rest, and (at-least-once) the first 10 again, then stops.
        {
            var (sink, queue, _) = NewSink(Options());
            await sink.StartAsync(default);
            await sink.DeliverAsync(events, default);
            await sink.StopAsync(default);
            sink.Dispose();
            queue.Dispose();
        }
        // Second life of the bridge, PNA back (same data directory, new process state).
        await using var pna2 = await PnaInProcess.StartAsync(_port, PnaData, Account);
        var (sink2, queue2, _) = NewSink(Options());
        using var q2 = queue2;
        using var s2 = sink2;
        Assert.Equal(25, sink2.Pending);
        await sink2.StartAsync(default);
        await WaitUntil(() => sink2.Pending == 0 && pna2.Transport.ById.Count == 25, "the queued 25 after restart");
        AssertExactlyOnce(pna2, events);
        // A repeat by the same bridge within the PNA's duplicate window is dropped by id.
        await sink2.DeliverAsync(events[^5..], default);
        await WaitUntil(() => sink2.Pending == 0, "repeat acknowledged");
        await Task.Delay(200);
        AssertExactlyOnce(pna2, events);
        await sink2.StopAsync(default);
    }

    [Fact]
    public async Task Too_large_batch_is_split_until_it_fits()
    {
        await using var pna = await PnaInProcess.StartAsync(_port, PnaData, Account,
            new Dictionary<string, string> { ["Pna:Ingest:MaxBodyBytes"] = "4096" });
        var (sink, queue, handler) = NewSink(Options(o => o.MaxBatchBytes = 1 << 16));
        using var q = queue;
        using var s = sink;
        var events = Events(1000, 120); // ~200 bytes each: ~24 KB, about six times the PNA's limit
        await sink.DeliverAsync(events, default);
        await sink.StartAsync(default);
        await WaitUntil(() => sink.Pending == 0, "queue drained");
        await WaitUntil(() => pna.Transport.ById.Count == 120, "all 120 at the PNA");
        AssertExactlyOnce(pna, events);
        Assert.Contains(HttpStatusCode.RequestEntityTooLarge, handler.Statuses);
        await sink.StopAsync(default);
    }

    [Fact]
    public async Task Rejected_events_are_dropped_not_retried_and_do_not_block_the_rest()
    {
        await using var pna = await PnaInProcess.StartAsync(_port, PnaData, Account);
        var (sink, queue, handler) = NewSink(Options(o => o.MaxBatchEvents = 2));
        using var q = queue;
        using var s = sink;
        // Two events the PNA refuses (400, nothing accepted), then good ones.
        Assert.True(queue.TryAppend([("bad-1", "{\"event\":\"MessageTeleport\"}"u8.ToArray()), ("bad-2", "not json"u8.ToArray())]));
        var events = Events(1, 4);
        await sink.DeliverAsync(events, default);
        await sink.StartAsync(default);
        await WaitUntil(() => sink.Pending == 0 && pna.Transport.ById.Count == 4, "good events delivered");
        AssertExactlyOnce(pna, events);
        Assert.Equal(1, handler.Statuses.Count(x => x == HttpStatusCode.BadRequest)); // sent once, never again
        Assert.Equal(3, handler.Statuses.Count);
        await sink.StopAsync(default);
    }

    [Fact]
    public async Task Wrong_token_keeps_events_queued_and_retries()
    {
        await using var pna = await PnaInProcess.StartAsync(_port, PnaData, Account);
        var (sink, queue, handler) = NewSink(Options(o => o.Token = "wrong-token-0123456789"));
        using var q = queue;
        using var s = sink;
        await sink.DeliverAsync(Events(1, 3), default);
        await sink.StartAsync(default);
        await WaitUntil(() => handler.Statuses.Count(x => x == HttpStatusCode.Unauthorized) >= 2, "a slow retry after 401");
        Assert.Equal(3, sink.Pending);
        Assert.Empty(pna.Transport.ById);
        await sink.StopAsync(default);
    }

    [Fact]
    public async Task Full_queue_refuses_after_the_wait_so_the_watcher_backs_off()
    {
        var (sink, queue, _) = NewSink(Options(o =>
        {
            o.MaxBatchBytes = 1024;
            o.MaxQueueBytes = 2048;
            o.QueueFullTimeout = TimeSpan.FromMilliseconds(300);
        }));
        using var q = queue;
        using var s = sink;
        await sink.DeliverAsync(Events(1, 8), default); // ~1.6 KB
        var e = await Assert.ThrowsAsync<EventQueueFullException>(async () => await sink.DeliverAsync(Events(9, 4), default));
        Assert.Contains("stayed full", e.Message, StringComparison.Ordinal);
        Assert.Equal(8, sink.Pending);
    }

    /// <summary>Records the status of every answer the sink received.</summary>
    private sealed class CountingHandler() : DelegatingHandler(new SocketsHttpHandler())
    {
        public System.Collections.Concurrent.ConcurrentQueue<HttpStatusCode> Statuses { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var response = await base.SendAsync(request, cancellationToken);
            Statuses.Enqueue(response.StatusCode);
            return response;
        }
    }
}
