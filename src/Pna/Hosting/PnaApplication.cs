using System.Net;
using Aggregators.Hosting;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Bridge;
using Aggregators.Pna.Dispatch;
using Aggregators.Pna.Heartbeats;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Operations;
using Aggregators.Pna.Operations.Status;
using Aggregators.Pna.State;
using Aggregators.Pna.Storage;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Hosting;

/// <summary>
/// Composes the PNA host: configuration (appsettings.json, environment variables such as
/// <c>Pna__Ingest__MaxBodyBytes</c>, command line), options validated at start, services, and
/// the HTTP endpoints. Program.cs and the tests both start it from here.
/// </summary>
public static class PnaApplication
{
    public const string DefaultUrl = "http://127.0.0.1:8480";

    /// <summary>Builds the host; <paramref name="configureTestServices"/> runs last, so tests can add transports or replace services.</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureTestServices = null)
    {
        var builder = AggregatorHost.CreateBuilder(args, DefaultUrl);

        AddPna(builder.Services, builder.Configuration);
        builder.Services.AddSipNotifier(builder.Configuration);
        configureTestServices?.Invoke(builder.Services);

        var app = builder.Build();
        MapEndpoints(app);
        return app;
    }

    public static IServiceCollection AddPna(IServiceCollection services, Microsoft.Extensions.Configuration.IConfiguration configuration)
    {
        services.AddOptions<PnaOptions>()
            .Bind(configuration.GetSection(PnaOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<PnaOptions>, PnaOptionsValidator>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddMetrics();
        services.AddSingleton<PnaMetrics>();
        services.AddSingleton<PrometheusExporter>();
        services.AddSingleton<IPnaStore>(sp => new SqlitePnaStore(
            Path.Combine(sp.GetRequiredService<IOptions<PnaOptions>>().Value.DataDirectoryFullPath, "pna.db"),
            sp.GetRequiredService<ILogger<SqlitePnaStore>>()));
        services.AddSingleton<MailboxStateStore>();
        services.AddSingleton<SubscriptionRegistry>();
        services.AddSingleton<ActiveSubscriptions>();
        services.AddSingleton(sp =>
        {
            var dispatcher = new Dispatcher(
                sp.GetRequiredService<IOptions<PnaOptions>>().Value.Ingest.QueueCapacity,
                sp.GetRequiredService<MailboxStateStore>(),
                sp.GetRequiredService<SubscriptionRegistry>(),
                sp.GetRequiredService<ActiveSubscriptions>(),
                sp.GetRequiredService<PnaMetrics>(),
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<Dispatcher>>());
            var active = sp.GetRequiredService<ActiveSubscriptions>();
            sp.GetRequiredService<PnaMetrics>().ObserveGauges(() => active.Count, () => dispatcher.QueueDepth);
            return dispatcher;
        });
        // Pna:Authorization:Policy: configured grants plus owner access (default), the IMAP
        // server's ACLs, or either; anything else is denied.
        services.AddAuthorizationPolicy(configuration);
        services.AddHeartbeatOptions();
        // Due heartbeats go through the dispatcher, so they share order and sequence numbers with events.
        services.AddSingleton(sp => new HeartbeatScheduler(
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<IOptions<HeartbeatOptions>>().Value,
            subscription => sp.GetRequiredService<Dispatcher>().EnqueueHeartbeat(subscription),
            sp.GetRequiredService<ILogger<HeartbeatScheduler>>()));
        services.TryAddSingleton<IHeartbeats, SchedulerHeartbeats>();
        services.AddSingleton<SubscriptionManager>();
        services.AddSingleton<EventIngest>();
        services.AddSingleton<IEventIngest>(sp => sp.GetRequiredService<EventIngest>());
        services.AddSingleton<IngestTokens>();
        services.AddSingleton<IngestEndpoint>();
        services.AddSingleton<PnaLifecycle>();
        services.AddHostedService(sp => sp.GetRequiredService<PnaLifecycle>());
        services.AddXmppPubsub(configuration);
        // Unsolicited alerts (docs/alerts.md): after the store and the XMPP component.
        services.AddAlerts(configuration);
        // The IMAP bridge co-hosted in this process when "Bridge:Enabled" is true (off by default).
        services.AddCoHostedBridge(configuration);
        // GET /status and /v1/status (docs/configuration.md "Status page").
        services.AddPnaStatus();
        return services;
    }

    private static void MapEndpoints(WebApplication app)
    {
        // Services are resolved per request, not here, so a bad configuration is reported by the
        // options validation at start, not as a failure to build.
        app.MapPost(IngestEndpoint.Path, (HttpContext context) =>
            context.RequestServices.GetRequiredService<IngestEndpoint>().HandleAsync(context));

        AggregatorHost.MapHealth(app);
        app.MapGet("/readyz", (PnaLifecycle lifecycle, EventIngest events, IEnumerable<IReadinessCheck> checks) =>
        {
            // 503 with one line per reason (a load balancer reads the status, an admin the body).
            var reasons = new List<string>();
            if (!lifecycle.Ready)
            {
                reasons.Add("pna: store or dispatcher not running");
            }
            if (!events.Accepting)
            {
                reasons.Add("ingest: not accepting events (shutting down)");
            }
            reasons.AddRange(checks.Select(c => c.NotReadyReason is { } r ? c.Name + ": " + r : null).OfType<string>());
            return reasons.Count == 0
                ? Results.Text("ready\n")
                : Results.Text("not ready\n" + string.Concat(reasons.Select(r => r + "\n")), statusCode: StatusCodes.Status503ServiceUnavailable);
        });
        app.MapGet("/metrics", (PrometheusExporter exporter) =>
            Results.Text(exporter.Scrape(), "text/plain; version=0.0.4; charset=utf-8"));

        AlertsEndpoint.Map(app, AdminOnly);
        app.MapPnaStatus();
        var admin = app.MapGroup("/v1").AddEndpointFilter(AdminOnly);
        admin.MapGet("/accounts/{account}/mailboxes", (string account, MailboxStateStore state) =>
        {
            if (!EventModel.AccountId.TryParse(account, out var id, out var error))
            {
                return Results.Json(new { error }, statusCode: StatusCodes.Status400BadRequest);
            }
            var mailboxes = state.GetAccount(id).Select(m => new
            {
                mailbox = m.Mailbox.Value,
                totals = m.Totals is { } t ? new { messages = t.Messages, unseen = t.Unseen, uidnext = t.UidNext, uidvalidity = t.UidValidity } : null,
                lastEvent = m.LastEventType is { } type ? EventModel.MailEventTypes.ToRfcName(type) : null,
                lastEventTime = m.LastEventTime,
                lastEventId = m.LastEventId,
            });
            return Results.Json(new { account = id.Value, mailboxes });
        });
        admin.MapGet("/subscriptions", (SubscriptionManager manager) =>
        {
            var active = manager.Snapshot().Select(s => new
            {
                id = s.Id,
                subscriber = s.Subscriber,
                transport = s.Transport.Name,
                account = s.Filter.Account.Value,
                mailbox = s.Filter.Mailbox.Value,
                depth = s.Filter.Depth == EventModel.SubscriptionDepth.One ? "1" : "infinity",
                events = s.Filter.Events.ToString(),
                heartbeatSeconds = s.Filter.Heartbeat?.TotalSeconds,
                expires = s.Expires,
                sequence = Interlocked.Read(ref s.Sequence),
                active = true,
            });
            var inactive = manager.Inactive.Select(s => new
            {
                id = s.Id,
                subscriber = s.Subscriber,
                transport = s.Transport,
                account = s.Filter.Account.Value,
                mailbox = s.Filter.Mailbox.Value,
                depth = s.Filter.Depth == EventModel.SubscriptionDepth.One ? "1" : "infinity",
                events = s.Filter.Events.ToString(),
                heartbeatSeconds = s.Filter.Heartbeat?.TotalSeconds,
                expires = s.Expires,
                sequence = 0L,
                active = false,
            });
            return Results.Json(new { subscriptions = active.Concat(inactive) });
        });
    }

    /// <summary>
    /// Admin pages are read-only and open from loopback, or anywhere with the configured admin token:
    /// <c>Authorization: Bearer &lt;token&gt;</c>, or HTTP basic authentication with the token as the
    /// password and any user name (RFC 7617), for browsers.
    /// </summary>
    internal static async ValueTask<object?> AdminOnly(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var remote = http.Connection.RemoteIpAddress;
        if (remote is not null && IPAddress.IsLoopback(remote))
        {
            return await next(context).ConfigureAwait(false);
        }
        var token = http.RequestServices.GetRequiredService<IOptions<PnaOptions>>().Value.Admin.Token;
        var given = IngestTokens.BearerToken(http.Request.Headers.Authorization);
        if (given.IsEmpty)
        {
            given = BasicPassword(http.Request.Headers.Authorization);
        }
        if (token.Length > 0 && !given.IsEmpty &&
            System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(given.ToArray()), System.Text.Encoding.UTF8.GetBytes(token)))
        {
            return await next(context).ConfigureAwait(false);
        }
        http.Response.Headers.WWWAuthenticate = "Bearer realm=\"pna-admin\"";
        return Results.Json(new { error = "admin endpoints are open from loopback or with the admin token" }, statusCode: StatusCodes.Status401Unauthorized);
    }

    /// <summary>The password of <c>Authorization: Basic base64(user:password)</c> (RFC 7617 §2); empty when absent or malformed.</summary>
    internal static ReadOnlySpan<char> BasicPassword(string? authorization)
    {
        const string scheme = "Basic ";
        if (authorization is null || !authorization.StartsWith(scheme, StringComparison.OrdinalIgnoreCase) || authorization.Length > 4096)
        {
            return default;
        }
        var bytes = new byte[authorization.Length];
        if (!Convert.TryFromBase64String(authorization[scheme.Length..].Trim(), bytes, out var length))
        {
            return default;
        }
        var text = System.Text.Encoding.UTF8.GetString(bytes, 0, length);
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon < 0 ? default : text.AsSpan(colon + 1);
    }
}
