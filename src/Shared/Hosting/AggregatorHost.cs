using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Hosting;

/// <summary>
/// The host set-up every aggregator process shares (PNA, CNA, standalone IMAP bridge). One source
/// file compiled into each host project (linked from src/Shared), internal to each: the hosts have
/// no common project that may depend on ASP.NET Core.
/// </summary>
internal static class AggregatorHost
{
    /// <summary>
    /// A web host builder with the shared conventions: configuration from appsettings.json next to
    /// the binary, environment variables and the command line (plus what
    /// <paramref name="addSources"/> adds, before the URLs are read); listening on
    /// <paramref name="defaultUrl"/> (loopback) unless <c>Urls</c> / <c>ASPNETCORE_URLS</c> /
    /// <c>--urls</c> say otherwise; no <c>Server</c> header; one-line UTC console logs
    /// (<c>Logging:Console:FormatterName=json</c> switches to JSON lines).
    /// </summary>
    public static WebApplicationBuilder CreateBuilder(string[] args, string defaultUrl, Action<IConfigurationBuilder>? addSources = null)
    {
        var builder = WebApplication.CreateBuilder(new WebApplicationOptions
        {
            Args = args,
            ContentRootPath = AppContext.BaseDirectory,
        });
        addSources?.Invoke(builder.Configuration);
        if (string.IsNullOrEmpty(builder.Configuration[WebHostDefaults.ServerUrlsKey]))
        {
            builder.WebHost.UseUrls(defaultUrl);
        }
        builder.WebHost.ConfigureKestrel(k => k.AddServerHeader = false);
        builder.Services.Configure<Microsoft.Extensions.Logging.Console.SimpleConsoleFormatterOptions>(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-ddTHH:mm:ss.fffZ ";
            o.UseUtcTimestamp = true;
        });
        return builder;
    }

    /// <summary><c>GET /healthz</c>: 200 "ok" while the process serves HTTP (liveness; readiness is each host's <c>/readyz</c>).</summary>
    public static void MapHealth(WebApplication app) => app.MapGet("/healthz", () => Results.Text("ok\n"));
}
