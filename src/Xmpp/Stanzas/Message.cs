using System.Xml.Linq;

namespace Aggregators.Xmpp.Stanzas;

/// <summary>RFC 6121 §5.2.2: message types; absent means normal.</summary>
public enum MessageType
{
    Normal,
    Chat,
    Groupchat,
    Headline,
    Error,
}

/// <summary>A message stanza (RFC 6120 §8.2.1, RFC 6121 §5): push, no response expected.</summary>
public sealed class Message : Stanza
{
    internal Message(XElement element) : base(element)
    {
        // RFC 6121 §5.2.2: an unknown type is treated as normal.
        Type = (string?)element.Attribute("type") switch
        {
            "chat" => MessageType.Chat,
            "groupchat" => MessageType.Groupchat,
            "headline" => MessageType.Headline,
            "error" => MessageType.Error,
            _ => MessageType.Normal,
        };
    }

    public Message(MessageType type, Jid? to, Jid? from, string? id = null, XNamespace? ns = null)
        : base((ns ?? XmppNamespaces.ComponentAccept) + "message", to, from, id, type == MessageType.Normal ? null : type.ToString().ToLowerInvariant())
    {
        Type = type;
    }

    public MessageType Type { get; }

    /// <summary>The &lt;body/&gt; text (RFC 6121 §5.2.3), or null; setting replaces it.</summary>
    public string? Body
    {
        get => Element.Element(Namespace + "body")?.Value;
        set => Element.SetElementValue(Namespace + "body", value);
    }
}
