using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>What the stream yielded next.</summary>
public enum XmlStreamEventKind
{
    /// <summary>A top-level element (stanza, handshake, ...): see <see cref="XmlStreamEvent.Element"/>.</summary>
    Element,

    /// <summary>The peer sent &lt;stream:error&gt; (RFC 6120 §4.9): see <see cref="XmlStreamEvent.Error"/>.</summary>
    StreamError,

    /// <summary>The peer closed the stream with &lt;/stream:stream&gt; (RFC 6120 §4.4).</summary>
    StreamClosed,
}

public readonly record struct XmlStreamEvent(XmlStreamEventKind Kind, XElement? Element, StreamError? Error)
{
    public static XmlStreamEvent Closed => new(XmlStreamEventKind.StreamClosed, null, null);
}
