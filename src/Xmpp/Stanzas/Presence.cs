using System.Xml.Linq;

namespace Aggregators.Xmpp.Stanzas;

/// <summary>A presence stanza (RFC 6120 §8.2.2, RFC 6121 §4); <see cref="TypeName"/> null means available.</summary>
public sealed class Presence : Stanza
{
    internal Presence(XElement element) : base(element)
    {
    }

    /// <param name="type">null (available), unavailable, subscribe, subscribed, unsubscribe, unsubscribed, probe or error (RFC 6121 §4.7.1).</param>
    public Presence(string? type, Jid? to, Jid? from, string? id = null, XNamespace? ns = null)
        : base((ns ?? XmppNamespaces.ComponentAccept) + "presence", to, from, id, type)
    {
    }

    public bool IsAvailable => TypeName is null;
}
