using System.Xml.Linq;

namespace Aggregators.Xmpp.Stanzas;

/// <summary>RFC 6120 §8.2.3: the four iq types.</summary>
public enum IqType
{
    Get,
    Set,
    Result,
    Error,
}

/// <summary>
/// An info/query stanza (RFC 6120 §8.2.3): a request (get/set with exactly one payload) or a
/// response (result with at most one payload, or error), always with an id.
/// </summary>
public sealed class Iq : Stanza
{
    internal Iq(XElement element) : base(element)
    {
        Type = (string?)element.Attribute("type") switch
        {
            "get" => IqType.Get,
            "set" => IqType.Set,
            "result" => IqType.Result,
            "error" => IqType.Error,
            var t => throw new StanzaFormatException(element, $"iq type '{t}' is not get, set, result or error"),
        };
        if (Id is null)
        {
            throw new StanzaFormatException(element, "iq without an id (RFC 6120 §8.2.3)");
        }
        if (IsRequest && Payload is null)
        {
            throw new StanzaFormatException(element, "iq get/set without a payload (RFC 6120 §8.2.3)");
        }
    }

    /// <summary>A new iq in <paramref name="ns"/> (the stream's content namespace; jabber:component:accept by default).</summary>
    public Iq(IqType type, string id, Jid? to, Jid? from, XElement? payload = null, XNamespace? ns = null)
        : base((ns ?? XmppNamespaces.ComponentAccept) + "iq", to, from, id, TypeToWire(type))
    {
        ArgumentNullException.ThrowIfNull(id);
        Type = type;
        if (payload is not null)
        {
            Element.Add(payload);
        }
    }

    public IqType Type { get; }

    /// <summary>True for get and set.</summary>
    public bool IsRequest => Type is IqType.Get or IqType.Set;

    /// <summary>The payload child (the first child that is not &lt;error/&gt;), or null.</summary>
    public XElement? Payload
    {
        get
        {
            foreach (var child in Element.Elements())
            {
                if (child.Name != Namespace + "error")
                {
                    return child;
                }
            }
            return null;
        }
    }

    /// <summary>The result response to this request (RFC 6120 §8.2.3): same id, addresses swapped.</summary>
    public Iq CreateResult(XElement? payload = null)
    {
        EnsureRequest();
        return new Iq(IqType.Result, Id!, From, To, payload, Namespace);
    }

    /// <summary>The error response to this request (RFC 6120 §8.3.1): same id, addresses swapped.</summary>
    public Iq CreateError(StanzaError error)
    {
        EnsureRequest();
        return (Iq)CreateErrorReply(error);
    }

    private void EnsureRequest()
    {
        if (!IsRequest)
        {
            throw new InvalidOperationException($"only a get or set iq is answered, this one is '{TypeToWire(Type)}' (RFC 6120 §8.2.3)");
        }
    }

    private static string TypeToWire(IqType type) => type switch
    {
        IqType.Get => "get",
        IqType.Set => "set",
        IqType.Result => "result",
        _ => "error",
    };
}
