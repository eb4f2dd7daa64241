using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Tests.Hosting;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Ingest;

public sealed class HostileIngestTests : IAsyncLifetime
{
    private PnaTestHost _host = null!;

    public async Task InitializeAsync() => _host = await PnaTestHost.StartAsync();

    public async Task DisposeAsync() => await _host.DisposeAsync();

    private static readonly string[] Fragments =
    [
        "{", "}", "[", "]", ",", ":", "\"", "\n", "\r\n", " ", "\\", "\\u0000", "\u0001", "null", "true", "1e999", "-0",
        "\"event\"", "\"MessageNew\"", "\"account\"", "\"alice@example.org\"", "\"mailbox\"", "\"INBOX\"", "\"totals\"",
        "{\"messages\":1,\"unseen\":1,\"uidnext\":2,\"uidvalidity\":3}", "\"id\"", "\"x\"", "\u00e9", "\ud83d\udce8",
        Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2),
    ];

    /// <summary>Random bodies from JSON-ish fragments: the answer is always 202 or 400 with a well-formed result, and the PNA keeps serving.</summary>
    [Fact]
    public async Task Hostile_bodies_get_a_well_formed_answer_and_never_break_the_host()
    {
        var cases = Gen.ListOf(Gen.Elements(Fragments)).Select(parts => string.Concat(parts))
            .SelectMany(text => Gen.Elements("application/x-ndjson", "application/json").Select(type => (text, type)))
            .Sample(150, 40);
        foreach (var (text, type) in cases)
        {
            using var content = new ByteArrayContent(Encoding.UTF8.GetBytes(text));
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            using var response = await _host.Client.PostAsync("/v1/events", content);
            var answer = await response.Content.ReadAsStringAsync();
            Assert.True(response.StatusCode is HttpStatusCode.Accepted or HttpStatusCode.BadRequest, $"{response.StatusCode} for {text}");
            using var doc = JsonDocument.Parse(answer);
            if (doc.RootElement.TryGetProperty("accepted", out var accepted))
            {
                var rejected = doc.RootElement.GetProperty("rejected").GetArrayLength();
                Assert.Equal(response.StatusCode == HttpStatusCode.Accepted, accepted.GetInt32() > 0 || rejected == 0);
            }
            else
            {
                Assert.Equal("the body contains no events", doc.RootElement.GetProperty("error").GetString());
            }
        }

        Assert.Equal("ok\n", await _host.Client.GetStringAsync("/healthz"));
        var good = await _host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)));
        Assert.Equal(HttpStatusCode.Accepted, good.StatusCode);
    }

    [Fact]
    public async Task After_shutdown_began_ingest_answers_503_with_retry_after()
    {
        _host.App.Services.GetRequiredService<EventIngest>().StopAccepting();
        var response = await _host.PostAsync(Events.Ndjson(Events.MessageNew("alice@example.org", "INBOX", 1, 1, 2)));
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("1", response.Headers.GetValues("Retry-After").Single());
        Assert.Equal("{\"error\":\"the PNA is shutting down\"}", await response.Content.ReadAsStringAsync());
        var ready = await _host.Client.GetAsync("/readyz");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
        var result = await _host.App.Services.GetRequiredService<IEventIngest>().SubmitAsync([], "bridge", CancellationToken.None);
        Assert.Equal(IngestStatus.ShuttingDown, result.Status);
    }
}
