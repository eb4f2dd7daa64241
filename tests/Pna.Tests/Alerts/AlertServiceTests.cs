using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Aggregators.EventModel;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Operations;
using Aggregators.Pna.Storage;
using Aggregators.Tests.Shared;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Alerts;

/// <summary>A channel answering from a script of outcomes (the last one repeats).</summary>
internal sealed class ScriptedChannel(string scheme, params DeliveryOutcome[] script) : IAlertChannel
{
    private int _calls;

    public string Scheme => scheme;

    public ConcurrentQueue<AlertRecord> Sent { get; } = new();

    public int Calls => Volatile.Read(ref _calls);

    public ValueTask<DeliveryOutcome> SendAsync(AlertRecord alert, AlertTarget target, CancellationToken cancellationToken)
    {
        var n = Interlocked.Increment(ref _calls);
        Sent.Enqueue(alert);
        return ValueTask.FromResult(script[Math.Min(n, script.Length) - 1]);
    }
}

public sealed class AlertServiceTests : IDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "pna-alerts-" + Guid.NewGuid().ToString("N"));
    private readonly ManualTimeProvider _time = new();
    private readonly ServiceProvider _meters = new ServiceCollection().AddMetrics().BuildServiceProvider();
    private readonly SqlitePnaStore _store;

    public AlertServiceTests()
    {
        Directory.CreateDirectory(_dir);
        _store = new SqlitePnaStore(Path.Combine(_dir, "pna.db"), NullLogger<SqlitePnaStore>.Instance);
        _store.Open();
    }

    public void Dispose()
    {
        _store.Dispose();
        _meters.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private static AlertOptions Options(Action<AlertOptions>? change = null)
    {
        var o = new AlertOptions
        {
            Targets = [new() { Target = "xmpp:juliet@example.com", AllowSources = ["sieve"] }, new() { Target = "sip:juliet@example.com", AllowSources = ["sieve"] }],
            RetryDelay = TimeSpan.FromSeconds(2),
            MaxRetryDelay = TimeSpan.FromSeconds(30),
            Expiry = TimeSpan.FromMinutes(10),
        };
        change?.Invoke(o);
        return o;
    }

    private AlertService Service(AlertOptions options, params IAlertChannel[] channels) => new(
        options, _store, channels, new AlertConsent(options, (_, _) => []), _time,
        new PnaMetrics(_meters.GetRequiredService<IMeterFactory>()), NullLogger<AlertService>.Instance);

    private static AlertRequest Request(string text = "Mail from Romeo", string? clientId = null, params string[] targets)
    {
        var r = new AlertRequest { Text = text, From = "romeo@example.com", ClientId = clientId };
        foreach (var t in targets.Length == 0 ? ["xmpp:juliet@example.com"] : targets)
        {
            r.Targets.Add(AlertTarget.TryParse(t, out var target, out var e) ? target : throw new FormatException(e));
        }
        return r;
    }

    /// <summary>Moves the manual clock in steps until the alert is final (Polly's delays run on it).</summary>
    private async Task<AlertRecord> UntilFinal(long id, TimeSpan step, int maxSteps = 2000)
    {
        for (var i = 0; i < maxSteps; i++)
        {
            if (_store.GetAlert(id) is { IsFinal: true } done)
            {
                return done;
            }
            await Task.Delay(2);
            _time.Advance(step);
        }
        throw new TimeoutException($"alert {id} did not reach a final status");
    }

    [Fact]
    public async Task An_allowed_alert_is_delivered_and_stored()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(), channel);
        var outcome = Assert.Single(service.Submit(Request(), "sieve"));
        Assert.Equal(AlertStatus.Queued, outcome.Status);
        var record = await UntilFinal(outcome.Id, TimeSpan.Zero);
        Assert.Equal(AlertStatus.Delivered, record.Status);
        Assert.Equal(1, record.Attempts);
        Assert.Equal("xmpp:juliet@example.com", record.Target);
        Assert.Equal(0, service.Pending);
    }

    [Fact]
    public async Task Temporary_failures_are_retried_with_backoff_then_delivered()
    {
        var channel = new ScriptedChannel("sip",
            DeliveryOutcome.Temporary("SIP 503"), DeliveryOutcome.Temporary("SIP 408"), DeliveryOutcome.Delivered("SIP 200 OK"));
        using var service = Service(Options(), channel);
        var outcome = Assert.Single(service.Submit(Request(targets: "sip:juliet@example.com"), "sieve"));
        var record = await UntilFinal(outcome.Id, TimeSpan.FromMilliseconds(500));
        Assert.Equal(AlertStatus.Delivered, record.Status);
        Assert.Equal(3, record.Attempts);
        Assert.Equal("SIP 200 OK", record.Reason);
    }

    [Fact]
    public async Task A_permanent_failure_is_final_with_its_reason()
    {
        var channel = new ScriptedChannel("sip", DeliveryOutcome.Permanent("SIP 404 Not Found from 127.0.0.1:5070"));
        using var service = Service(Options(), channel);
        var outcome = Assert.Single(service.Submit(Request(targets: "sip:juliet@example.com"), "sieve"));
        var record = await UntilFinal(outcome.Id, TimeSpan.Zero);
        Assert.Equal(AlertStatus.Refused, record.Status);
        Assert.Equal("SIP 404 Not Found from 127.0.0.1:5070", record.Reason);
        Assert.Equal(1, channel.Calls);
    }

    [Fact]
    public async Task Alerts_that_keep_failing_expire()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Temporary("component down"));
        using var service = Service(Options(o => o.Expiry = TimeSpan.FromMinutes(1)), channel);
        var outcome = Assert.Single(service.Submit(Request(), "sieve"));
        var record = await UntilFinal(outcome.Id, TimeSpan.FromSeconds(1));
        Assert.Equal(AlertStatus.Expired, record.Status);
        Assert.Contains("component down", record.Reason, StringComparison.Ordinal);
        Assert.InRange(channel.Calls, 3, 40);
    }

    [Fact]
    public void Without_consent_the_alert_is_refused_and_stored_with_the_reason()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(), channel);
        var outcome = Assert.Single(service.Submit(Request(targets: "xmpp:nurse@example.com"), "sieve"));
        Assert.Equal(AlertStatus.Refused, outcome.Status);
        Assert.Contains("no consent", outcome.Reason, StringComparison.Ordinal);
        Assert.Equal(AlertStatus.Refused, _store.GetAlert(outcome.Id)!.Status);
        Assert.Equal(0, channel.Calls);
    }

    [Fact]
    public void A_flood_is_folded_and_rate_limited()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(o => o.PerTarget = new AlertRateOptions { Burst = 3, PerMinute = 1 }), channel);
        var first = Assert.Single(service.Submit(Request("same"), "sieve"));
        var again = Assert.Single(service.Submit(Request("same"), "sieve"));
        Assert.Equal(AlertStatus.Folded, again.Status);
        Assert.Equal(first.Id, again.FoldedInto);
        Assert.Equal($"folded into {first.Id}", again.Reason);
        var outcomes = Enumerable.Range(0, 10).Select(i => Assert.Single(service.Submit(Request($"text {i}"), "sieve"))).ToList();
        Assert.Equal(2, outcomes.Count(o => o.Status == AlertStatus.Queued));
        Assert.All(outcomes.Skip(2), o =>
        {
            Assert.Equal(AlertStatus.Refused, o.Status);
            Assert.Contains("rate limit of xmpp:juliet@example.com exceeded", o.Reason, StringComparison.Ordinal);
        });
        // One snapshot: deliveries run meanwhile, so separate reads could count an alert as queued and then as delivered.
        var counts = _store.CountAlerts();
        Assert.Equal(10, counts[AlertStatus.Refused] + counts[AlertStatus.Queued] + counts[AlertStatus.Delivered] - 1);
    }

    [Fact]
    public void The_source_rate_limit_spans_targets()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(o => o.PerSource = new AlertRateOptions { Burst = 2, PerMinute = 1 }), channel,
            new ScriptedChannel("sip", DeliveryOutcome.Delivered("ok")));
        var outcomes = service.Submit(Request("x", null, "xmpp:juliet@example.com", "sip:juliet@example.com"), "sieve")
            .Concat(service.Submit(Request("y"), "sieve")).ToList();
        Assert.Equal([AlertStatus.Queued, AlertStatus.Queued, AlertStatus.Refused], outcomes.Select(o => o.Status));
        Assert.Contains("rate limit of source 'sieve'", outcomes[2].Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_repeated_client_id_returns_the_first_alert()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(), channel);
        var first = Assert.Single(service.Submit(Request("x", "spool-1"), "sieve"));
        var repeat = Assert.Single(service.Submit(Request("x", "spool-1"), "sieve"));
        Assert.Equal(first.Id, repeat.Id);
        Assert.True(repeat.Repeat);
        var other = Assert.Single(service.Submit(Request("x", "spool-1"), "other-source"));
        Assert.NotEqual(first.Id, other.Id);
    }

    [Fact]
    public async Task Queued_alerts_survive_a_restart()
    {
        var down = new ScriptedChannel("xmpp", DeliveryOutcome.Temporary("component down"));
        long id;
        using (var service = Service(Options(), down))
        {
            id = Assert.Single(service.Submit(Request(), "sieve")).Id;
            for (var i = 0; i < 500 && down.Calls == 0; i++)
            {
                await Task.Delay(5);
            }
            await service.StopAsync(CancellationToken.None);
        }
        Assert.Equal(AlertStatus.Queued, _store.GetAlert(id)!.Status);
        var up = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var restarted = Service(Options(), up);
        await restarted.StartAsync(CancellationToken.None);
        var record = await UntilFinal(id, TimeSpan.Zero);
        Assert.Equal(AlertStatus.Delivered, record.Status);
        Assert.Equal(2, record.Attempts);
        await restarted.StopAsync(CancellationToken.None);
    }

    [Fact]
    public async Task A_bounce_after_delivery_turns_the_status_to_refused()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(), channel);
        var id = Assert.Single(service.Submit(Request(), "sieve")).Id;
        await UntilFinal(id, TimeSpan.Zero);
        Assert.True(service.ReportBounce(id, "service-unavailable"));
        var record = _store.GetAlert(id)!;
        Assert.Equal(AlertStatus.Refused, record.Status);
        Assert.Contains("service-unavailable", record.Reason, StringComparison.Ordinal);
        Assert.False(service.ReportBounce(id, "again"));
    }

    [Fact]
    public void An_alert_about_an_account_defaults_to_INBOX()
    {
        var channel = new ScriptedChannel("xmpp", DeliveryOutcome.Delivered("ok"));
        using var service = Service(Options(), channel);
        var r = Request();
        r.Account = AccountId.Parse("juliet@example.com");
        var id = Assert.Single(service.Submit(r, "sieve")).Id;
        Assert.Equal("INBOX", _store.GetAlert(id)!.Mailbox);
    }
}
