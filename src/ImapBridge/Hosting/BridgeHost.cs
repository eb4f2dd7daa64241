using Aggregators.Hosting;
using Aggregators.ImapBridge.Delivery;
using Aggregators.ImapBridge.Watching;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.ImapBridge.Hosting;

/// <summary>
/// The standalone IMAP bridge (docs/imap-bridge.md): configuration from <c>imapbridge.json</c>,
/// <c>appsettings.json</c>, environment variables (<c>Bridge__Servers__0__Host</c>) and the command
/// line; account watchers (<see cref="BridgeService"/>) delivering to a PNA over HTTP
/// (<see cref="HttpEventSink"/>, section <c>Bridge:Http</c>); one-line UTC console logs (JSON with
/// <c>Logging:Console:FormatterName=json</c>); <c>/healthz</c> and <c>/status</c> on a loopback port.
/// </summary>
public static class BridgeHost
{
    public const string DefaultUrl = "http://127.0.0.1:8481";

    public static WebApplication Build(string[] args, Action<IServiceCollection>? configureTestServices = null)
    {
        var builder = AggregatorHost.CreateBuilder(args, DefaultUrl, configuration =>
        {
            // The admin's file (copy imapbridge.sample.json); appsettings.json, environment and command line override it.
            configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
            {
                Path = "imapbridge.json",
                Optional = true,
                FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
            });
            // Standalone means the bridge runs unless it is turned off explicitly.
            configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
            {
                InitialData = new Dictionary<string, string?> { ["Bridge:Enabled"] = "true", ["Bridge:DataDirectory"] = "./data" },
            });
        });

        AddHttpDelivery(builder.Services, builder.Configuration);
        builder.Services.AddImapBridge(builder.Configuration.GetSection(BridgeOptions.SectionName),
            _ => Path.GetFullPath(builder.Configuration["Bridge:DataDirectory"] ?? "./data"));
        configureTestServices?.Invoke(builder.Services);

        var app = builder.Build();
        AggregatorHost.MapHealth(app);
        app.MapGet("/status", (IServiceProvider sp) =>
        {
            var bridge = sp.GetService<BridgeService>();
            var sink = sp.GetRequiredService<HttpEventSink>();
            return Results.Json(new
            {
                queuedEvents = sink.Pending,
                watchers = bridge?.Status.Select(s => new
                {
                    server = s.Server,
                    account = s.Account,
                    state = s.State.ToString(),
                    notify = s.NotifyMode,
                    lastError = s.LastError,
                    lastErrorAt = s.LastErrorAt,
                    watchingSince = s.WatchingSince,
                    eventsDelivered = s.EventsDelivered,
                    discovery = s.Discovery,
                }) ?? [],
            });
        });
        return app;
    }

    /// <summary>
    /// Binds and validates <see cref="HttpDeliveryOptions"/> (<c>Bridge:Http</c>) and registers the
    /// durable queue and <see cref="HttpEventSink"/> as the <see cref="IEventSink"/>. Registered before
    /// the watchers so the sink starts first and stops last.
    /// </summary>
    public static IServiceCollection AddHttpDelivery(IServiceCollection services, IConfiguration configuration)
    {
        services.AddOptions<HttpDeliveryOptions>().Bind(configuration.GetSection(HttpDeliveryOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<HttpDeliveryOptions>, HttpDeliveryOptionsValidator>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<HttpDeliveryOptions>>().Value;
            var dir = Path.GetFullPath(configuration["Bridge:DataDirectory"] ?? "./data");
            return new DurableEventQueue(o.QueuePath ?? Path.Combine(dir, DurableEventQueue.DefaultFileName), o.MaxQueueBytes);
        });
        services.AddSingleton(sp => new HttpEventSink(
            sp.GetRequiredService<IOptions<HttpDeliveryOptions>>().Value,
            sp.GetRequiredService<DurableEventQueue>(),
            sp.GetRequiredService<ILogger<HttpEventSink>>()));
        services.AddSingleton<IEventSink>(sp => sp.GetRequiredService<HttpEventSink>());
        services.AddHostedService(sp => sp.GetRequiredService<HttpEventSink>());
        return services;
    }

    private sealed class HttpDeliveryOptionsValidator : IValidateOptions<HttpDeliveryOptions>
    {
        public ValidateOptionsResult Validate(string? name, HttpDeliveryOptions options) =>
            options.Validate() is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
    }
}
