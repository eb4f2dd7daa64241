namespace Aggregators.Xmpp;

/// <summary>XML namespaces of the XMPP subset this library speaks.</summary>
public static class XmppNamespaces
{
    /// <summary>RFC 6120 §4.8.1: the stream namespace (prefix <c>stream</c>).</summary>
    public const string Streams = "http://etherx.jabber.org/streams";

    /// <summary>XEP-0114 §3: content namespace of an external component's stream ("accept" method).</summary>
    public const string ComponentAccept = "jabber:component:accept";

    /// <summary>RFC 6120 §4.9.3: defined conditions of stream errors.</summary>
    public const string StreamErrors = "urn:ietf:params:xml:ns:xmpp-streams";

    /// <summary>RFC 6120 §8.3.3: defined conditions of stanza errors.</summary>
    public const string StanzaErrors = "urn:ietf:params:xml:ns:xmpp-stanzas";

    /// <summary>The namespace bound to the <c>xml</c> prefix (xml:lang).</summary>
    public const string Xml = "http://www.w3.org/XML/1998/namespace";

    /// <summary>XEP-0030: service discovery, information.</summary>
    public const string DiscoInfo = "http://jabber.org/protocol/disco#info";

    /// <summary>XEP-0030: service discovery, items.</summary>
    public const string DiscoItems = "http://jabber.org/protocol/disco#items";
}
