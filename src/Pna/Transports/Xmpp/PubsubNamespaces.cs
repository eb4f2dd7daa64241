namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>Namespaces of XEP-0060 (pubsub), XEP-0004 (data forms) and XEP-0199 (ping).</summary>
internal static class PubsubNamespaces
{
    public const string Pubsub = "http://jabber.org/protocol/pubsub";
    public const string Event = "http://jabber.org/protocol/pubsub#event";
    public const string Errors = "http://jabber.org/protocol/pubsub#errors";
    public const string SubscribeOptions = "http://jabber.org/protocol/pubsub#subscribe_options";
    public const string DataForms = "jabber:x:data";
    public const string Ping = "urn:xmpp:ping";
}
