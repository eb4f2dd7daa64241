using System.Globalization;
using System.Xml.Linq;
using Aggregators.Pna.Subscriptions;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>Ending a pubsub subscription because the PNA withdrew the subscriber's authorization.</summary>
public sealed partial class XmppPubsubTransport : IRevocableTransport
{
    /// <summary>
    /// Ends the subscription at the PNA first (no later notification is built for it), then tells
    /// the subscriber its subscription state is now <c>none</c> (XEP-0060 §4.2) with the
    /// subscription-state notification, a pubsub#event <c>&lt;subscription/&gt;</c> naming node, JID
    /// and SubID (the form XEP-0060 uses for a subscription the service changed).
    /// </summary>
    public void Revoke(Subscription subscription, string reason)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var target = TargetOf(subscription);
        Unindex(subscription.Id);
        Manager.Unsubscribe(subscription.Id, "XMPP subscription='none': " + reason);
        if (target is null)
        {
            return;
        }
        XNamespace ev = PubsubNamespaces.Event;
        var message = new Message(MessageType.Normal, target.Subscriber, target.Service,
            string.Create(CultureInfo.InvariantCulture, $"r-{subscription.Id}"));
        message.Element.Add(new XElement(ev + "event",
            new XElement(ev + "subscription",
                new XAttribute("node", target.Node),
                new XAttribute("jid", target.Subscriber.ToString()),
                new XAttribute("subid", subscription.Id.ToString(CultureInfo.InvariantCulture)),
                new XAttribute("subscription", "none"))));
        if (Sink?.TrySend(message) != true)
        {
            _dropped.Add(1);
        }
    }
}
