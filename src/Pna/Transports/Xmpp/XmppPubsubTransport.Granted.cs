using System.Globalization;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// The options a subscription was granted: the requested ones with <c>pna#heartbeat</c> as the
/// heartbeat scheduler clamps it (Pna:Heartbeats:Min..Max), so a subscriber judges silence by the
/// interval it really gets. Returned by options retrieval (XEP-0060 §6.3.2) and beside the
/// subscription in the reply to subscribe-and-configure (XEP-0060 §6.3.7).
/// </summary>
public sealed partial class XmppPubsubTransport
{
    private XElement GrantedOptions(string node, Jid jid, long id, SubscriptionFilter filter) =>
        new(Ps + "options",
            new XAttribute("node", node), new XAttribute("jid", jid.ToString()),
            new XAttribute("subid", id.ToString(CultureInfo.InvariantCulture)),
            (filter with { Heartbeat = Manager.GrantedHeartbeat(filter) }).ToSubscribeOptions().ToForm());

    /// <summary>The subscribe reply (§6.1.2) with the granted options (§6.3.7), when the subscription is known.</summary>
    private Iq SubscribedResult(Iq iq, string node, Jid jid, long id)
    {
        var pubsub = SubscriptionElement(node, jid, id);
        if (Manager.Get(id) is { } subscription)
        {
            pubsub.Add(GrantedOptions(node, jid, id, subscription.Filter));
        }
        return iq.CreateResult(pubsub);
    }
}
