using System.Globalization;
using System.Xml.Linq;
using Aggregators.Pna.Alerts;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>The component's sending seam for unsolicited alerts (docs/alerts.md); the pubsub service is untouched.</summary>
public sealed partial class XmppPubsubTransport
{
    private const string AlertIdPrefix = "alert-";

    /// <summary>
    /// Sends one alert message on the component's connection, waiting for queue space. Delivered
    /// means written to the XMPP server; the server bounces it later if the user does not exist
    /// (see <see cref="HandleAlertBounce"/>).
    /// </summary>
    internal async ValueTask<DeliveryOutcome> SendAlertAsync(Message message, CancellationToken cancellationToken)
    {
        if (Sink is not { } sink)
        {
            return DeliveryOutcome.Temporary("the XMPP component has not started");
        }
        try
        {
            await sink.SendAsync(message, cancellationToken).ConfigureAwait(false);
            return DeliveryOutcome.Delivered($"sent to the XMPP server as <message type='{message.TypeName ?? "normal"}'/>");
        }
        catch (ComponentNotConnectedException e)
        {
            return DeliveryOutcome.Temporary("the XMPP component is not connected: " + e.Message);
        }
        catch (ArgumentException e)
        {
            return DeliveryOutcome.Permanent("the XMPP server would refuse the stanza: " + e.Message);
        }
    }

    internal static string AlertStanzaId(long alertId) => AlertIdPrefix + alertId.ToString(CultureInfo.InvariantCulture);

    /// <summary>An error reply to an alert message: the alert's status becomes refused with the condition.</summary>
    private bool HandleAlertBounce(Message message)
    {
        if (message.Id is not { } id || !id.StartsWith(AlertIdPrefix, StringComparison.Ordinal)
            || !long.TryParse(id.AsSpan(AlertIdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out var alertId))
        {
            return false;
        }
        var error = message.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition);
        _services.GetService<AlertService>()?.ReportBounce(alertId, $"XMPP error from {message.From}: {error}");
        return true;
    }

    /// <summary>
    /// RFC 5437 §2.7: the alert as an XMPP message from <paramref name="from"/>: type headline, or
    /// normal for high importance (so servers keep it for an offline user, RFC 6121 §8.5.2);
    /// the text in &lt;body/&gt;, the mail's subject in &lt;subject/&gt;, the IMAP URL in a jabber:x:oob
    /// &lt;url/&gt; (XEP-0066), and the importance as the SHIM "Urgency" header (RFC 5437 §2.4 (:importance), XEP-0131).
    /// </summary>
    internal static Message BuildAlert(AlertRecord alert, Jid to, Jid from)
    {
        var type = alert.Importance == AlertImportance.High ? MessageType.Normal : MessageType.Headline;
        var message = new Message(type, to, from, AlertStanzaId(alert.Id));
        XNamespace ns = message.Namespace;
        if (alert.Subject is { Length: > 0 } subject)
        {
            message.Element.Add(new XElement(ns + "subject", subject));
        }
        message.Body = alert.Text;
        if (alert.ImapUrl is { } url)
        {
            XNamespace oob = "jabber:x:oob";
            message.Element.Add(new XElement(oob + "x", new XElement(oob + "url", url)));
        }
        XNamespace shim = "http://jabber.org/protocol/shim";
        message.Element.Add(new XElement(shim + "headers",
            new XElement(shim + "header", new XAttribute("name", "Urgency"), alert.Importance switch
            {
                AlertImportance.Low => "low",
                AlertImportance.High => "high",
                _ => "medium",
            })));
        return message;
    }
}
