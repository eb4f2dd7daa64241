using Aggregators.Cna.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Cna.Xmpp;

public static class CnaXmppServiceCollectionExtensions
{
    /// <summary>The CNA's XMPP side (Cna:Xmpp); nothing but the options unless Cna:Xmpp:Enabled.</summary>
    public static IServiceCollection AddCnaXmpp(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<CnaXmppOptions>().Bind(configuration.GetSection(CnaXmppOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CnaXmppOptions>, CnaXmppOptionsValidator>();
        if (!configuration.GetValue<bool>(CnaXmppOptions.SectionName + ":Enabled"))
        {
            return services;
        }
        services.AddSingleton(sp => new LocalSubscriptionStore(sp.GetRequiredService<IOptions<CnaOptions>>().Value.DataDirectoryFullPath));
        services.AddSingleton(sp => new XmppProxy(
            sp.GetRequiredService<IOptions<CnaXmppOptions>>(),
            sp.GetRequiredService<LocalSubscriptionStore>(),
            sp.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(),
            sp.GetRequiredService<ILoggerFactory>(),
            sp.GetService<TimeProvider>()));
        services.AddHostedService(sp => sp.GetRequiredService<XmppProxy>());
        services.AddSingleton<XmppProxyHealth>();
        services.AddSingleton<ICnaReadinessCheck>(sp => sp.GetRequiredService<XmppProxyHealth>());
        services.AddSingleton<ICnaMetricsSource>(sp => sp.GetRequiredService<XmppProxyHealth>());
        return services;
    }
}
