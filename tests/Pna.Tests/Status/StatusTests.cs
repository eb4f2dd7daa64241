using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Operations;
using Aggregators.Pna.Operations.Status;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Tests.Ingest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Tests.Status;

public sealed class StatusTests
{
    [Fact]
    public async Task V1_status_says_who_is_served_mailbox_totals_subscriptions_per_transport_and_rates()
    {
        await using var host = await PnaTestHost.StartAsync();
        var filter = new SubscriptionFilter { Account = AccountId.Parse("juliet@example.com"), Mailbox = MailboxPath.Inbox, Heartbeat = TimeSpan.FromMinutes(5) };
        var subscribed = await host.Subscriptions.SubscribeAsync("xmpp:juliet@example.com", filter, host.Transport, "{}", null, CancellationToken.None);
        Assert.True(subscribed.Succeeded);
        var response = await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 5, 2, 43)));
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        await PnaTestHost.WaitUntil(() => host.Transport.Notifications.Count >= 2, "the initial and the event notification");

        using var json = JsonDocument.Parse(await host.NewClient(token: null).GetStringAsync(new Uri("/v1/status", UriKind.Relative)));
        var root = json.RootElement;
        Assert.True(root.GetProperty("ready").GetBoolean());
        Assert.False(root.GetProperty("bridgeEnabled").GetBoolean());
        var account = Assert.Single(root.GetProperty("accounts").EnumerateArray());
        Assert.Equal("juliet@example.com", account.GetProperty("account").GetString());
        Assert.Equal(1, account.GetProperty("subscriptions").GetInt32());
        var inbox = Assert.Single(account.GetProperty("mailboxes").EnumerateArray());
        Assert.Equal(("INBOX", 5, 2, "MessageNew"), (inbox.GetProperty("mailbox").GetString(), inbox.GetProperty("messages").GetInt32(),
            inbox.GetProperty("unseen").GetInt32(), inbox.GetProperty("lastEvent").GetString()));
        var transport = Assert.Single(root.GetProperty("transports").EnumerateArray());
        Assert.Equal(("test", 1, 1, 0), (transport.GetProperty("transport").GetString(), transport.GetProperty("active").GetInt32(),
            transport.GetProperty("heartbeatsOk").GetInt32(), transport.GetProperty("heartbeatsLate").GetInt32()));
        Assert.Equal("ok", Assert.Single(transport.GetProperty("subscriptions").EnumerateArray()).GetProperty("heartbeat").GetString());
        var rates = root.GetProperty("rates");
        Assert.Equal(RateHistory.Buckets, rates.GetProperty("events").GetArrayLength());
        Assert.Equal(1, rates.GetProperty("events").EnumerateArray().Sum(e => e.GetInt64()));
        Assert.True(rates.GetProperty("notifications").EnumerateArray().Sum(e => e.GetInt64()) >= 1);
    }

    [Fact]
    public async Task The_status_page_is_HTML_without_scripts_and_answers_is_it_working()
    {
        await using var host = await PnaTestHost.StartAsync();
        await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 5, 2, 43)));
        await PnaTestHost.WaitUntil(() => host.State.GetAccounts().Count == 1, "the account in the state");
        var response = await host.NewClient(token: null).GetAsync(new Uri("/status", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html", response.Content.Headers.ContentType!.MediaType);
        Assert.Contains("default-src 'none'", response.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await response.Content.ReadAsStringAsync();
        Assert.Contains("<h1>Working</h1>", html, StringComparison.Ordinal);
        Assert.Contains("juliet@example.com", html, StringComparison.Ordinal);
        Assert.Contains("<svg", html, StringComparison.Ordinal);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Away_from_loopback_the_page_asks_for_basic_credentials_and_accepts_the_admin_token_as_password()
    {
        const string token = "status-admin-token-0123456789";
        await using var host = await PnaTestHost.StartAsync(settings: new Dictionary<string, string> { ["Pna:Admin:Token"] = token });
        // Loopback is trusted; the filter itself is checked from elsewhere below through AdminOnly.
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("admin:" + token));
        Assert.Equal(token, PnaApplication.BasicPassword("Basic " + basic).ToString());
        Assert.True(PnaApplication.BasicPassword("Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes("no-colon"))).IsEmpty);
        Assert.True(PnaApplication.BasicPassword("Basic !!!").IsEmpty);
        Assert.True(PnaApplication.BasicPassword("Bearer " + token).IsEmpty);
        var client = host.NewClient(token: null);
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/status", UriKind.Relative))).StatusCode);
    }

    [Fact]
    public void Rates_are_counted_in_ten_second_buckets_and_forgotten_after_ten_minutes()
    {
        var time = new ManualTimeProvider(new DateTimeOffset(2026, 11, 21, 12, 0, 0, TimeSpan.Zero));
        using var factory = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var metrics = new PnaMetrics(factory.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>());
        using var rates = new RateHistory(metrics, time);
        metrics.EventsAccepted.Add(3);
        metrics.NotificationsOut.Add(5);
        time.Advance(TimeSpan.FromSeconds(10));
        metrics.EventsAccepted.Add(1);
        var s = rates.Snapshot();
        Assert.Equal([3L, 1L], s.Events.Skip(RateHistory.Buckets - 2));
        Assert.Equal([5L, 0L], s.Notifications.Skip(RateHistory.Buckets - 2));
        time.Advance(TimeSpan.FromSeconds(RateHistory.BucketSeconds * (RateHistory.Buckets - 1)));
        s = rates.Snapshot();
        Assert.Equal(1, s.Events.Sum());
        Assert.Equal(1, s.Events[0]);
        time.Advance(TimeSpan.FromSeconds(RateHistory.BucketSeconds));
        Assert.Equal(0, rates.Snapshot().Events.Sum());
        // A slot reused for a new bucket starts from zero.
        metrics.EventsAccepted.Add(2);
        Assert.Equal(2, rates.Snapshot().Events.Sum());
    }

    [Fact]
    public void Recent_errors_keep_the_last_warnings_and_cut_long_messages()
    {
        var errors = new RecentErrors(TimeProvider.System);
        using var provider = new RecentErrorsLoggerProvider(errors);
        var logger = provider.CreateLogger("Aggregators.Test");
        logger.LogInformation("not kept");
        for (var i = 0; i < RecentErrors.Capacity + 5; i++)
        {
            logger.LogWarning("warning {N}", i);
        }
        logger.LogError(new InvalidOperationException("boom"), "failed");
        errors.Add("Error", "explicit", new string('x', RecentErrors.MaxMessageLength + 10));
        var items = errors.Snapshot();
        Assert.Equal(RecentErrors.Capacity, items.Count);
        Assert.Equal("failed (InvalidOperationException: boom)", items[^2].Message);
        Assert.Equal(RecentErrors.MaxMessageLength + 1, items[^1].Message.Length);
        Assert.DoesNotContain(items, e => e.Message == "not kept");
    }

    [Fact]
    public void Everything_from_outside_is_HTML_encoded()
    {
        var hostile = "<script>alert(1)</script>";
        var status = new PnaStatus(
            DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch, true, true,
            [new AccountStatus(hostile + "@example.com",
                [new WatcherView("dovecot", "BackingOff", false, null, hostile, DateTimeOffset.UnixEpoch, 0, ["NOTIF=xmpp:" + hostile])],
                [new MailboxView(hostile, 1, 1, 2, 3, "MessageNew", null)], 1)],
            [new TransportStatus("xmpp", 1, 0, 1, [new SubscriptionView(1, hostile, "a@b", hostile, "1", 60, "late", 120, null, 3)])],
            new RateSeries(10, DateTimeOffset.UnixEpoch, new long[60], new long[60]),
            [new RecentError(DateTimeOffset.UnixEpoch, "Error", hostile, hostile)]);
        var html = StatusPage.Render(status);
        Assert.DoesNotContain("<script", html, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("&lt;script&gt;", html, StringComparison.Ordinal);
        Assert.Equal("warn", StatusPage.Verdict(status).Css);
        Assert.Contains("1 account(s) not watched", StatusPage.Verdict(status).Text, StringComparison.Ordinal);
        Assert.Contains("1 heartbeat(s) late", StatusPage.Verdict(status).Text, StringComparison.Ordinal);
    }
}
