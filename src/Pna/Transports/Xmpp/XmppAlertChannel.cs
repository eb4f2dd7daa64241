using Aggregators.Pna.Alerts;
using Aggregators.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Sends alerts to xmpp: targets through the PNA's XMPP component (Pna:Xmpp), from
/// <c>&lt;Pna:Alerts:XmppFrom&gt;@&lt;component domain&gt;</c>. Without the component (Pna:Xmpp:Enabled
/// false) every xmpp: alert is refused with that reason.
/// </summary>
public sealed class XmppAlertChannel(IServiceProvider services, IOptions<AlertOptions> options) : IAlertChannel
{
    public string Scheme => "xmpp";

    public async ValueTask<DeliveryOutcome> SendAsync(AlertRecord alert, AlertTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(target);
        if (services.GetService<XmppPubsubTransport>() is not { } transport)
        {
            return DeliveryOutcome.Permanent("the PNA has no XMPP component (Pna:Xmpp:Enabled is false)");
        }
        var from = Jid.Parse(options.Value.XmppFrom + "@" + transport.Domain);
        var message = XmppPubsubTransport.BuildAlert(alert, target.Jid!, from);
        return await transport.SendAlertAsync(message, cancellationToken).ConfigureAwait(false);
    }
}
