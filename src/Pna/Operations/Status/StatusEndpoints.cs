using Aggregators.Pna.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Operations.Status;

/// <summary>
/// The admin status page <c>GET /status</c> (HTML) and <c>GET /v1/status</c> (JSON), behind
/// <see cref="PnaApplication.AdminOnly"/>: open from loopback, elsewhere with the admin token as a
/// bearer token or as the password of HTTP basic authentication (any user name), so a browser can
/// open the page.
/// </summary>
public static class StatusEndpoints
{
    public const string PagePath = "/status";
    public const string JsonPath = "/v1/status";

    public static IServiceCollection AddPnaStatus(this IServiceCollection services)
    {
        services.AddSingleton<RateHistory>();
        services.AddSingleton<RecentErrors>();
        services.AddSingleton<ILoggerProvider, RecentErrorsLoggerProvider>();
        services.AddSingleton<PnaStatusReporter>();
        // Created at start, not at the first request, so the chart counts from the start.
        services.AddHostedService<StatusStarter>();
        return services;
    }

    private sealed class StatusStarter(RateHistory rates, PnaStatusReporter reporter) : Microsoft.Extensions.Hosting.IHostedService
    {
        public Task StartAsync(CancellationToken cancellationToken)
        {
            GC.KeepAlive(rates);
            GC.KeepAlive(reporter);
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public static void MapPnaStatus(this IEndpointRouteBuilder app)
    {
        app.MapGet(JsonPath, (PnaStatusReporter reporter) => Results.Json(reporter.Build()))
            .AddEndpointFilter(PnaApplication.AdminOnly);
        app.MapGet(PagePath, (PnaStatusReporter reporter, HttpContext http) =>
        {
            http.Response.Headers.CacheControl = "no-store";
            // The page has no script or external asset: forbid them outright.
            http.Response.Headers.ContentSecurityPolicy = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";
            http.Response.Headers.XContentTypeOptions = "nosniff";
            return Results.Content(StatusPage.Render(reporter.Build()), "text/html; charset=utf-8");
        }).AddEndpointFilter(async (context, next) =>
        {
            var result = await PnaApplication.AdminOnly(context, next).ConfigureAwait(false);
            if (context.HttpContext.Response.Headers.WWWAuthenticate.Count > 0)
            {
                // Browsers prompt for basic credentials (RFC 7617); the token is the password.
                context.HttpContext.Response.Headers.WWWAuthenticate = "Basic realm=\"pna-admin\", Bearer realm=\"pna-admin\"";
            }
            return result;
        });
    }
}
