using Aggregators.Pna.Hosting;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Xmpp;

public static class XmppPubsubServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="XmppPubsubOptions"/> ("Pna:Xmpp") and, when Enabled, adds the "xmpp"
    /// transport and starts its component with the host. Call after the PNA's own services, so
    /// it starts after the stored subscriptions were restored.
    /// </summary>
    public static IServiceCollection AddXmppPubsub(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(XmppPubsubOptions.SectionName);
        services.AddOptions<XmppPubsubOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<XmppPubsubOptions>, XmppPubsubOptionsValidator>();
        if (!section.GetValue<bool>(nameof(XmppPubsubOptions.Enabled)))
        {
            return services;
        }
        services.AddSingleton<XmppPubsubTransport>();
        services.AddSingleton<INotificationTransport>(sp => sp.GetRequiredService<XmppPubsubTransport>());
        services.AddHostedService(sp => sp.GetRequiredService<XmppPubsubTransport>());
        // /readyz says not ready while the component is not connected to its server.
        services.AddSingleton<IReadinessCheck>(sp => sp.GetRequiredService<XmppPubsubTransport>());
        return services;
    }
}
