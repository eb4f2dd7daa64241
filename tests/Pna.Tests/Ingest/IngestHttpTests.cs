using System.Net;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using Aggregators.Pna.Tests.Hosting;

namespace Aggregators.Pna.Tests.Ingest;

public sealed class IngestHttpTests : IAsyncLifetime
{
    private PnaTestHost _host = null!;

    public async Task InitializeAsync() => _host = await PnaTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static readonly AccountId Alice = AccountId.Parse("alice@example.org");

    [Fact]
    public async Task Ndjson_batch_is_accepted_and_reaches_state()
    {
        var body = Events.Ndjson(
            Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2),
            Events.MessageNew("alice@example.org", "INBOX", 2, 2, 3));
        var response = await _host.PostAsync(body);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("{\"accepted\":2,\"duplicates\":0,\"rejected\":[]}", await response.Content.ReadAsStringAsync());
        await PnaTestHost.WaitUntil(() => _host.State.Get(Alice, MailboxPath.Inbox)?.Totals?.Messages == 2, "INBOX totals");
        Assert.Equal(new MailboxTotals(2, 2, 3, 7), _host.State.Get(Alice, MailboxPath.Inbox)!.Totals);
    }

    [Fact]
    public async Task Jsonl_media_type_is_accepted()
    {
        var response = await _host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)), "application/jsonl");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
    }

    [Fact]
    public async Task Json_array_and_single_object_are_accepted()
    {
        var array = "[" + Events.MessageNew("alice@example.org", "Work", 1, 0, 2) + ",\n " + Events.MessageNew("alice@example.org", "Work", 3, 1, 4) + "]";
        var response = await _host.PostAsync(array, "application/json");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("{\"accepted\":2,\"duplicates\":0,\"rejected\":[]}", await response.Content.ReadAsStringAsync());

        var single = await _host.PostAsync(Events.MessageNew("alice@example.org", "Work", 5, 2, 6), "application/json; charset=utf-8");
        Assert.Equal(HttpStatusCode.Accepted, single.StatusCode);
        Assert.Equal("{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}", await single.Content.ReadAsStringAsync());
        await PnaTestHost.WaitUntil(() => _host.State.Get(Alice, MailboxPath.Parse("Work"))?.Totals?.Messages == 5, "Work totals");
    }

    /// <summary>The error the codec itself gives for a line, so the test pins the response shape, not the codec's wording.</summary>
    private static EventError CodecError(string line, int index)
    {
        Assert.False(MailEventJson.TryDecode(Encoding.UTF8.GetBytes(line), index, out _, out var error));
        return error!;
    }

    private static string Rejected(params EventError[] errors) =>
        string.Join(',', errors.Select(e =>
            "{\"index\":" + e.Index + ",\"field\":" + (e.Field is null ? "null" : JsonSerializer.Serialize(e.Field)) +
            ",\"error\":" + JsonEncodedText.Encode(e.Message, System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping).ToString().Insert(0, "\"") + "\"}"));

    [Fact]
    public async Task Partly_bad_batch_accepts_every_good_event_and_reports_every_bad_one()
    {
        var subscription = await _host.SubscribeAsync("alice@example.org");
        string[] lines =
        [
            Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2, id: "a1"),
            "{\"event\":\"MessageNew\",\"account\":\"alice@example.org\",\"mailbox\":\"INBOX\",\"totals\":{\"messages\":2,\"unseen\":\"many\",\"uidnext\":3,\"uidvalidity\":7}}",
            "{\"event\":\"MessageTeleported\",\"account\":\"alice@example.org\",\"mailbox\":\"INBOX\"}",
            "{\"event\":\"MessageNew\",\"mailbox\":\"INBOX\"}",
            "{not json at all",
            Events.MessageNew("alice@example.org", "INBOX", 3, 2, 4, id: "a2"),
        ];
        var response = await _host.PostAsync(Events.Ndjson(lines));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var expected = "{\"accepted\":2,\"duplicates\":0,\"rejected\":[" +
            Rejected(CodecError(lines[1], 1), CodecError(lines[2], 2), CodecError(lines[3], 3), CodecError(lines[4], 4)) + "]}";
        var actual = await response.Content.ReadAsStringAsync();
        Assert.Equal(expected, actual);
        using (var doc = JsonDocument.Parse(actual))
        {
            var rejected = doc.RootElement.GetProperty("rejected");
            Assert.Equal("totals.unseen", rejected[0].GetProperty("field").GetString());
            Assert.Equal("event", rejected[1].GetProperty("field").GetString());
        }

        await PnaTestHost.WaitUntil(() => _host.Transport.For(subscription).Count(n => n.Kind == Aggregators.Pna.Subscriptions.NotificationKind.Event) == 2, "two event notifications");
        var notes = _host.Transport.For(subscription);
        Assert.Equal([1L, 2L, 3L], notes.Select(n => n.Sequence));
        Assert.Equal(Aggregators.Pna.Subscriptions.NotificationKind.Initial, notes[0].Kind);
        Assert.Equal(["a1", "a2"], notes.Skip(1).Select(n => n.Event!.Id));
        Assert.Equal(new MailboxTotals(3, 2, 4, 7), notes[2].Totals);
        Assert.Equal(new MailboxTotals(3, 2, 4, 7), _host.State.Get(Alice, MailboxPath.Inbox)!.Totals);
    }

    [Fact]
    public async Task Batch_with_no_good_event_is_400_with_the_same_shape()
    {
        string[] lines =
        [
            "{\"event\":\"MessageNew\",\"account\":\"alice@example.org\",\"mailbox\":\"INBOX\",\"messages\":-1}",
            "[1,2,3]",
        ];
        var response = await _host.PostAsync(Events.Ndjson(lines));
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var expected = "{\"error\":\"no event was accepted\",\"accepted\":0,\"duplicates\":0,\"rejected\":[" +
            Rejected(CodecError(lines[0], 0), CodecError(lines[1], 1)) + "]}";
        Assert.Equal(expected, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Broken_json_array_reports_the_framing_error_and_keeps_the_events_before_it()
    {
        var body = "[" + Events.MessageNew("alice@example.org", "Broken", 1, 1, 2) + ", {\"event\": \"MessageNew\", \"acc";
        var response = await _host.PostAsync(body, "application/json");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var batch = MailEventJson.DecodeBatch(Encoding.UTF8.GetBytes(body), BatchFormat.JsonArray, 100);
        Assert.NotNull(batch.FramingError);
        Assert.Equal("{\"accepted\":1,\"duplicates\":0,\"rejected\":[" + Rejected(batch.FramingError!) + "]}", await response.Content.ReadAsStringAsync());
        await PnaTestHost.WaitUntil(() => _host.State.Get(Alice, MailboxPath.Parse("Broken")) is not null, "Broken mailbox");
    }

    [Fact]
    public async Task Empty_body_is_400()
    {
        var response = await _host.PostAsync("", "application/x-ndjson");
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("{\"error\":\"the body contains no events\"}", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("wrong-token-0123456789abcdef")]
    [InlineData("")]
    public async Task Missing_or_wrong_token_is_401_with_a_bearer_challenge(string? token)
    {
        using var client = _host.NewClient(token is "" ? null : token);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/events")
        {
            Content = new StringContent(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)), Encoding.UTF8, "application/x-ndjson"),
        };
        if (token is "")
        {
            request.Headers.TryAddWithoutValidation("Authorization", "Basic dXNlcjpwYXNz");
        }
        var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal("{\"error\":\"missing or invalid bearer token\"}", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/json; charset=iso-8859-1")]
    public async Task Other_media_types_are_415(string contentType)
    {
        using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)));
        content.Headers.TryAddWithoutValidation("Content-Type", contentType);
        var response = await _host.Client.PostAsync("/v1/events", content);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, response.StatusCode);
    }

    [Fact]
    public async Task Duplicate_ids_from_the_same_source_are_counted_and_not_dispatched_again()
    {
        var subscription = await _host.SubscribeAsync("alice@example.org", "Dup", SubscriptionDepth.One);
        var line = Events.MessageNew("alice@example.org", "Dup", 1, 1, 2, id: "evt-1");
        var first = await _host.PostAsync(Events.Ndjson(line, line));
        Assert.Equal("{\"accepted\":1,\"duplicates\":1,\"rejected\":[]}", await first.Content.ReadAsStringAsync());
        var again = await _host.PostAsync(Events.Ndjson(line));
        Assert.Equal(HttpStatusCode.Accepted, again.StatusCode);
        Assert.Equal("{\"accepted\":0,\"duplicates\":1,\"rejected\":[]}", await again.Content.ReadAsStringAsync());
        var other = await _host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "Dup", 2, 2, 3, id: "evt-2")));
        Assert.Equal("{\"accepted\":1,\"duplicates\":0,\"rejected\":[]}", await other.Content.ReadAsStringAsync());
        await PnaTestHost.WaitUntil(() => _host.Transport.For(subscription).Any(n => n.Event?.Id == "evt-2"), "evt-2 notification");
        Assert.Equal(["evt-1", "evt-2"], _host.Transport.For(subscription).Where(n => n.Event is not null).Select(n => n.Event!.Id));
    }

    [Fact]
    public async Task Throwing_transport_does_not_stop_the_dispatcher()
    {
        var subscription = await _host.SubscribeAsync("alice@example.org", "Fragile", SubscriptionDepth.One);
        _host.Transport.ThrowForEventId = "boom";
        await _host.PostAsync(Events.Ndjson(
            Events.MessageNew("alice@example.org", "Fragile", 1, 1, 2, id: "boom"),
            Events.MessageNew("alice@example.org", "Fragile", 2, 2, 3, id: "fine")));
        await PnaTestHost.WaitUntil(() => _host.Transport.For(subscription).Any(n => n.Event?.Id == "fine"), "the event after the failure");
        Assert.Equal(3, _host.Transport.For(subscription).Single(n => n.Event?.Id == "fine").Sequence);
    }
}
