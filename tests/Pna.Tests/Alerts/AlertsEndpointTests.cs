using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aggregators.Pna.Tests.Hosting;

namespace Aggregators.Pna.Tests.Alerts;

public sealed class AlertsEndpointTests
{
    private static readonly Dictionary<string, string> Settings = new()
    {
        ["Pna:Alerts:Targets:0:Target"] = "sip:juliet@127.0.0.1:9",
        ["Pna:Alerts:Targets:0:AllowSources:0"] = PnaTestHost.SourceName,
        ["Pna:Alerts:Expiry"] = "00:00:05",
    };

    private static async Task<HttpResponseMessage> Post(PnaTestHost host, string body, string contentType = "application/json", string? token = PnaTestHost.Token)
    {
        using var client = host.NewClient(token);
        return await client.PostAsync("/v1/alerts", new StringContent(body, Encoding.UTF8, MediaTypeHeaderValue.Parse(contentType)));
    }

    [Fact]
    public async Task Post_answers_one_id_per_target_and_the_admin_views_show_them()
    {
        await using var host = await PnaTestHost.StartAsync(settings: Settings);
        var response = await Post(host, """{"targets":["sip:juliet@127.0.0.1:9","xmpp:nurse@example.com"],"text":"Mail from Romeo","from":"romeo@example.com"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var alerts = doc.RootElement.GetProperty("alerts");
        Assert.Equal(2, alerts.GetArrayLength());
        Assert.Equal("queued", alerts[0].GetProperty("status").GetString());
        Assert.Equal("refused", alerts[1].GetProperty("status").GetString());
        Assert.Contains("no consent", alerts[1].GetProperty("reason").GetString(), StringComparison.Ordinal);
        var refusedId = alerts[1].GetProperty("id").GetInt64();

        using var admin = host.NewClient(null);
        using var one = JsonDocument.Parse(await admin.GetStringAsync($"/v1/alerts/{refusedId}"));
        Assert.Equal("refused", one.RootElement.GetProperty("status").GetString());
        Assert.Equal("xmpp:nurse@example.com", one.RootElement.GetProperty("target").GetString());
        Assert.Equal("test", one.RootElement.GetProperty("source").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await admin.GetAsync("/v1/alerts/999999")).StatusCode);

        using var list = JsonDocument.Parse(await admin.GetStringAsync("/v1/alerts?status=refused"));
        Assert.Single(list.RootElement.GetProperty("alerts").EnumerateArray());
        using var counts = JsonDocument.Parse(await admin.GetStringAsync("/v1/alerts/counts"));
        Assert.Equal(1, counts.RootElement.GetProperty("refused").GetInt64());
        Assert.Equal(HttpStatusCode.BadRequest, (await admin.GetAsync("/v1/alerts?status=lost")).StatusCode);
    }

    [Fact]
    public async Task Errors_are_precise()
    {
        await using var host = await PnaTestHost.StartAsync(settings: Settings);
        var bad = await Post(host, """{"targets":["mailto:x@y"],"text":"x","importance":"max"}""");
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        var body = await bad.Content.ReadAsStringAsync();
        Assert.Contains("\"field\":\"targets[0]\"", body, StringComparison.Ordinal);
        Assert.Contains("\"field\":\"importance\"", body, StringComparison.Ordinal);

        var unauthorized = await Post(host, "{}", token: "wrong-token-0123456789");
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);
        Assert.Equal("Bearer", unauthorized.Headers.WwwAuthenticate.Single().Scheme);
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, (await Post(host, "{}", "text/plain")).StatusCode);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Post(host, "{\"text\":\"" + new string('x', 70_000) + "\"}")).StatusCode);
    }
}
