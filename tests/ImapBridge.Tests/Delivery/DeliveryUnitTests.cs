using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Delivery;

namespace Aggregators.ImapBridge.Tests.Delivery;

/// <summary>The durable queue alone, and <see cref="HttpEventSink"/> against scripted HTTP answers.</summary>
public sealed class DeliveryUnitTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "delivery-tests-" + Guid.NewGuid().ToString("N"));

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

    private string QueuePath => Path.Combine(_dir, DurableEventQueue.DefaultFileName);

    private static (string?, byte[]) Item(string id, int size = 10) => (id, Encoding.UTF8.GetBytes(new string('x', size)));

    [Fact]
    public void Queue_keeps_order_and_survives_reopening()
    {
        using (var q = new DurableEventQueue(QueuePath, 1000))
        {
            Assert.True(q.TryAppend([Item("a"), Item("b")]));
            Assert.True(q.TryAppend([Item("c")]));
            q.Remove(q.Peek(1, 1000));
        }
        using var reopened = new DurableEventQueue(QueuePath, 1000);
        Assert.Equal(2, reopened.Count);
        Assert.Equal(20, reopened.Bytes);
        Assert.Equal(["b", "c"], reopened.Peek(10, 1000).Select(e => e.Id));
    }

    [Fact]
    public void Queue_is_bounded_in_bytes_and_takes_a_batch_whole_or_not_at_all()
    {
        using var q = new DurableEventQueue(QueuePath, 100);
        Assert.True(q.TryAppend([Item("a", 60)]));
        Assert.False(q.TryAppend([Item("b", 30), Item("c", 30)]));
        Assert.Equal(1, q.Count);
        Assert.True(q.TryAppend([Item("b", 40)]));
        Assert.Throws<ArgumentException>(() => q.TryAppend([Item("huge", 101)]));
    }

    [Fact]
    public void Peek_respects_the_byte_limit_but_returns_at_least_one()
    {
        using var q = new DurableEventQueue(QueuePath, 1000);
        Assert.True(q.TryAppend([Item("a", 50), Item("b", 50), Item("c", 50)]));
        Assert.Equal(2, q.Peek(10, 120).Count);
        Assert.Single(q.Peek(10, 10));
    }

    [Theory]
    [InlineData(HttpStatusCode.ServiceUnavailable)]
    [InlineData(HttpStatusCode.InternalServerError)]
    [InlineData(HttpStatusCode.BadGateway)]
    public async Task Server_errors_are_retried_until_accepted(HttpStatusCode failure)
    {
        var handler = new ScriptedHandler(failure, failure, HttpStatusCode.Accepted);
        using var queue = new DurableEventQueue(QueuePath, 1 << 20);
        using var sink = NewSink(queue, handler);
        await sink.DeliverAsync([Event(1), Event(2)], default);
        await sink.StartAsync(default);
        await WaitUntil(() => sink.Pending == 0);
        await sink.StopAsync(default);
        Assert.Equal(3, handler.Bodies.Count);
        Assert.All(handler.Bodies, b => Assert.Equal(2, b.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length));
    }

    [Fact]
    public async Task Network_errors_are_retried()
    {
        var handler = new ScriptedHandler(null, HttpStatusCode.Accepted);
        using var queue = new DurableEventQueue(QueuePath, 1 << 20);
        using var sink = NewSink(queue, handler);
        await sink.DeliverAsync([Event(1)], default);
        await sink.StartAsync(default);
        await WaitUntil(() => sink.Pending == 0);
        await sink.StopAsync(default);
        Assert.Equal(2, handler.Bodies.Count);
    }

    [Fact]
    public async Task Body_is_ndjson_with_the_bearer_token()
    {
        var handler = new ScriptedHandler(HttpStatusCode.Accepted);
        using var queue = new DurableEventQueue(QueuePath, 1 << 20);
        using var sink = NewSink(queue, handler);
        await sink.DeliverAsync([Event(7)], default);
        await sink.StartAsync(default);
        await WaitUntil(() => sink.Pending == 0);
        await sink.StopAsync(default);
        Assert.Equal("Bearer t0ken", handler.Authorization.Single());
        Assert.Equal("application/x-ndjson", handler.ContentTypes.Single());
        var line = handler.Bodies.Single();
        Assert.EndsWith("\n", line, StringComparison.Ordinal);
        Assert.Contains("\"id\":\"ev-7\"", line, StringComparison.Ordinal);
    }

    private HttpEventSink NewSink(DurableEventQueue queue, HttpMessageHandler handler) =>
        new(new HttpDeliveryOptions
        {
            Url = new Uri("http://127.0.0.1:9"),
            Token = "t0ken",
            RetryBaseDelay = TimeSpan.FromMilliseconds(10),
            RetryMaxDelay = TimeSpan.FromMilliseconds(50),
        }, queue, handler: handler);

    private static MailEvent Event(int i) => new()
    {
        Type = MailEventType.MessageNew,
        Account = AccountId.Parse("juliet@example.com"),
        Mailbox = MailboxPath.Inbox,
        Id = "ev-" + i,
        Totals = new MailboxTotals(1, 1, 2, 3),
    };

    private static async Task WaitUntil(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "timed out");
            await Task.Delay(10);
        }
    }

    /// <summary>Answers with the given statuses in turn (null: a network error); the last one repeats.</summary>
    private sealed class ScriptedHandler(params HttpStatusCode?[] answers) : HttpMessageHandler
    {
        private int _next;

        public ConcurrentQueue<string> Bodies { get; } = new();
        public ConcurrentQueue<string> Authorization { get; } = new();
        public ConcurrentQueue<string> ContentTypes { get; } = new();

        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            Bodies.Enqueue(await request.Content!.ReadAsStringAsync(cancellationToken));
            Authorization.Enqueue(request.Headers.Authorization!.ToString());
            ContentTypes.Enqueue(request.Content.Headers.ContentType!.MediaType!);
            var status = answers[Math.Min(_next++, answers.Length - 1)];
            if (status is not { } s)
            {
                throw new HttpRequestException("connection refused");
            }
            var response = new HttpResponseMessage(s)
            {
                Content = new StringContent(s == HttpStatusCode.Accepted ? "{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}" : "{\"error\":\"busy\"}"),
            };
            if (s == HttpStatusCode.ServiceUnavailable)
            {
                response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.Zero);
            }
            return response;
        }
    }
}
