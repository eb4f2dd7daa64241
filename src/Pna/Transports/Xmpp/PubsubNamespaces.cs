using Aggregators.EventModel.Bodies;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>Namespaces of XEP-0060 (pubsub), XEP-0004 (data forms) and XEP-0199 (ping); the shared ones from <see cref="XmppPubsubNamespaces"/>.</summary>
internal static class PubsubNamespaces
{
    public const string Pubsub = XmppPubsubNamespaces.Pubsub;
    public const string Event = XmppPubsubNamespaces.Event;
    public const string Errors = XmppPubsubNamespaces.Errors;
    public const string DataForms = XmppPubsubNamespaces.DataForms;
    public const string Ping = "urn:xmpp:ping";
}
