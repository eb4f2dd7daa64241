namespace Aggregators.Xmpp.Client;

/// <summary>Namespaces of client-to-server streams (RFC 6120) and the extensions the client uses.</summary>
public static class ClientNamespaces
{
    /// <summary>RFC 6120 §4.8.2: content namespace of a client-to-server stream.</summary>
    public const string Client = "jabber:client";

    /// <summary>RFC 6120 §5: STARTTLS.</summary>
    public const string Tls = "urn:ietf:params:xml:ns:xmpp-tls";

    /// <summary>RFC 6120 §6: SASL.</summary>
    public const string Sasl = "urn:ietf:params:xml:ns:xmpp-sasl";

    /// <summary>RFC 6120 §7: resource binding.</summary>
    public const string Bind = "urn:ietf:params:xml:ns:xmpp-bind";

    /// <summary>RFC 3921 §3 (kept as an optional feature by draft-cridland-xmpp-session): session establishment.</summary>
    public const string Session = "urn:ietf:params:xml:ns:xmpp-session";

    /// <summary>XEP-0199: XMPP ping.</summary>
    public const string Ping = "urn:xmpp:ping";
}
