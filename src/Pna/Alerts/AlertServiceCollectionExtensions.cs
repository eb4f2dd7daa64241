using Aggregators.Pna.Operations;
using Aggregators.Pna.Storage;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Alerts;

public static class AlertServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="AlertOptions"/> ("Pna:Alerts") and adds the alert service with its xmpp: and
    /// sip: channels. Call after the PNA's own services and the XMPP transport, so queued alerts
    /// are restored once the store is open.
    /// </summary>
    public static IServiceCollection AddAlerts(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<AlertOptions>().Bind(configuration.GetSection(AlertOptions.SectionName)).ValidateOnStart();
        services.AddSingleton<IValidateOptions<AlertOptions>, AlertOptionsValidator>();
        services.AddSingleton<IAlertStore>(sp => sp.GetRequiredService<IPnaStore>() as IAlertStore
            ?? throw new InvalidOperationException("the configured IPnaStore does not store alerts (IAlertStore)"));
        services.AddSingleton(sp => new AlertConsent(
            sp.GetRequiredService<IOptions<AlertOptions>>().Value,
            AlertConsent.FromRegistry(sp.GetRequiredService<SubscriptionRegistry>())));
        services.AddSingleton<SipAlertChannel>();
        services.AddSingleton<IAlertChannel>(sp => sp.GetRequiredService<SipAlertChannel>());
        services.AddSingleton<IAlertChannel, XmppAlertChannel>();
        services.AddSingleton<AlertTokens>();
        services.AddSingleton(sp => new AlertService(
            sp.GetRequiredService<IOptions<AlertOptions>>().Value,
            sp.GetRequiredService<IAlertStore>(),
            sp.GetServices<IAlertChannel>(),
            sp.GetRequiredService<AlertConsent>(),
            sp.GetRequiredService<TimeProvider>(),
            sp.GetRequiredService<PnaMetrics>(),
            sp.GetRequiredService<ILogger<AlertService>>()));
        services.AddHostedService(sp => sp.GetRequiredService<AlertService>());
        return services;
    }
}
