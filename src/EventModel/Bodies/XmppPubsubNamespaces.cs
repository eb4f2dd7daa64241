namespace Aggregators.EventModel.Bodies;

/// <summary>
/// Namespaces of XEP-0060 (pubsub) and XEP-0004 (data forms) shared by the PNA's pubsub service,
/// the CNA's XMPP proxy and MailWatch (docs/xmpp.md).
/// </summary>
public static class XmppPubsubNamespaces
{
    public const string Pubsub = "http://jabber.org/protocol/pubsub";
    public const string Event = "http://jabber.org/protocol/pubsub#event";
    public const string Errors = "http://jabber.org/protocol/pubsub#errors";
    public const string SubscribeOptions = "http://jabber.org/protocol/pubsub#subscribe_options";
    public const string DataForms = "jabber:x:data";
}
