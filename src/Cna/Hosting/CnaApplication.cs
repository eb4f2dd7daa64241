using Aggregators.Cna.Xmpp;
using Aggregators.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Aggregators.Cna.Sip;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Cna.Hosting;

/// <summary>
/// Composes the CNA host: configuration (appsettings.json, environment variables such as
/// <c>Cna__DataDirectory</c>, command line), services, and the HTTP endpoints (health, metrics).
/// Program.cs and the tests both start it from here.
/// </summary>
public static class CnaApplication
{
    public const string DefaultUrl = "http://127.0.0.1:8490";

    /// <summary>Builds the host; <paramref name="configureTestServices"/> runs last, so tests can replace services.</summary>
    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureTestServices = null)
    {
        var builder = AggregatorHost.CreateBuilder(args, DefaultUrl);

        AddCna(builder.Services, builder.Configuration);
        configureTestServices?.Invoke(builder.Services);

        var app = builder.Build();
        MapEndpoints(app);
        return app;
    }

    public static IServiceCollection AddCna(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<CnaOptions>().Bind(configuration.GetSection(CnaOptions.SectionName));
        services.AddMetrics();
        // The SIP side (Cna:Sip) and the XMPP side (Cna:Xmpp) register themselves here.
        services.AddCnaSip(configuration);
        services.AddCnaXmpp(configuration);
        return services;
    }

    private static void MapEndpoints(WebApplication app)
    {
        AggregatorHost.MapHealth(app);
        app.MapGet("/readyz", (IEnumerable<ICnaReadinessCheck> checks) =>
        {
            var (status, text) = CnaStatusPages.Readiness(checks);
            return Results.Text(text, statusCode: status);
        });
        app.MapGet("/metrics", (IEnumerable<ICnaMetricsSource> sources) =>
            Results.Text(CnaStatusPages.Metrics(sources), "text/plain; version=0.0.4"));
    }
}
