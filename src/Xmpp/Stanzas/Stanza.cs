using System.Xml.Linq;

namespace Aggregators.Xmpp.Stanzas;

/// <summary>
/// An XMPP stanza (RFC 6120 §8): a thin view over its <see cref="XElement"/>, which stays the
/// source of truth (unknown attributes and payloads pass through untouched). Addresses are
/// parsed when the stanza is read (<see cref="FromElement"/>), so a malformed one is found once.
/// </summary>
public abstract class Stanza
{
    private Jid? _to;
    private Jid? _from;

    private protected Stanza(XElement element)
    {
        Element = element;
        _to = ParseAddress(element, "to");
        _from = ParseAddress(element, "from");
    }

    private protected Stanza(XName name, Jid? to, Jid? from, string? id, string? type)
        : this(new XElement(name))
    {
        To = to;
        From = from;
        Id = id;
        if (type is not null)
        {
            Element.SetAttributeValue("type", type);
        }
    }

    /// <summary>The stanza element itself.</summary>
    public XElement Element { get; }

    /// <summary>The stanza's namespace (the stream's content namespace).</summary>
    public XNamespace Namespace => Element.Name.Namespace;

    /// <summary>Intended recipient (RFC 6120 §8.1.1).</summary>
    public Jid? To
    {
        get => _to;
        set
        {
            _to = value;
            Element.SetAttributeValue("to", value?.ToString());
        }
    }

    /// <summary>Sender (RFC 6120 §8.1.2).</summary>
    public Jid? From
    {
        get => _from;
        set
        {
            _from = value;
            Element.SetAttributeValue("from", value?.ToString());
        }
    }

    /// <summary>RFC 6120 §8.1.3: tracks a request and its response.</summary>
    public string? Id
    {
        get => (string?)Element.Attribute("id");
        set => Element.SetAttributeValue("id", value);
    }

    /// <summary>The raw <c>type</c> attribute.</summary>
    public string? TypeName => (string?)Element.Attribute("type");

    /// <summary>True for type='error' (RFC 6120 §8.3).</summary>
    public bool IsError => TypeName == "error";

    /// <summary>The &lt;error/&gt; child of an error stanza, parsed.</summary>
    public StanzaError? Error => IsError && Element.Element(Namespace + "error") is { } e ? StanzaError.Parse(e) : null;

    /// <summary>
    /// Wraps a received top-level element as <see cref="Iq"/>, <see cref="Message"/> or
    /// <see cref="Presence"/>. Throws <see cref="StanzaFormatException"/> for another element
    /// (unsupported-stanza-type) or a stanza that breaks RFC 6120 §8 (bad to/from, iq type).
    /// </summary>
    public static Stanza FromElement(XElement element)
    {
        ArgumentNullException.ThrowIfNull(element);
        return element.Name.LocalName switch
        {
            "iq" => new Iq(element),
            "message" => new Message(element),
            "presence" => new Presence(element),
            _ => throw new StanzaFormatException(null, $"<{element.Name.LocalName}/> is not a stanza"),
        };
    }

    /// <summary>
    /// An error reply (RFC 6120 §8.3.1): same kind and id, type='error', addresses swapped.
    /// Never for an error stanza (no error in reply to an error).
    /// </summary>
    public Stanza CreateErrorReply(StanzaError error)
    {
        ArgumentNullException.ThrowIfNull(error);
        if (IsError)
        {
            throw new InvalidOperationException("RFC 6120 §8.3.1: an error stanza must not be answered with an error");
        }
        var reply = new XElement(Element.Name, new XAttribute("type", "error"));
        if (Id is { } id)
        {
            reply.SetAttributeValue("id", id);
        }
        if (From is { } from)
        {
            reply.SetAttributeValue("to", from.ToString());
        }
        if (To is { } to)
        {
            reply.SetAttributeValue("from", to.ToString());
        }
        reply.Add(error.ToElement(Namespace));
        return FromElement(reply);
    }

    private static Jid? ParseAddress(XElement element, string attribute)
    {
        var value = (string?)element.Attribute(attribute);
        if (value is null)
        {
            return null;
        }
        try
        {
            return Jid.Parse(value);
        }
        catch (JidFormatException ex)
        {
            throw new StanzaFormatException(element, $"'{attribute}' address: {ex.Message}", StanzaErrorCondition.JidMalformed, ex);
        }
    }

    public override string ToString() => Element.ToString(SaveOptions.DisableFormatting);
}

/// <summary>
/// A received element is not a valid stanza. <see cref="Condition"/> is the stanza error to
/// answer with when answering is allowed.
/// </summary>
public sealed class StanzaFormatException : FormatException
{
    public StanzaFormatException(XElement? element, string message, StanzaErrorCondition condition = StanzaErrorCondition.BadRequest, Exception? inner = null)
        : base(message, inner)
    {
        Element = element;
        Condition = condition;
    }

    public StanzaFormatException() : this(null, "invalid stanza") { }

    public StanzaFormatException(string message) : this(null, message) { }

    public StanzaFormatException(string message, Exception inner) : this(null, message, StanzaErrorCondition.BadRequest, inner) { }

    public XElement? Element { get; }

    public StanzaErrorCondition Condition { get; }
}
