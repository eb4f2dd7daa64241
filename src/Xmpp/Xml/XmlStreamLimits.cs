namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Bounds on what a peer may send (RFC 6120 §13.12 resource exhaustion). Exceeding one is a
/// policy-violation stream error. Counted in bytes on the wire, before the XML parser buffers
/// anything, so a hostile peer cannot make the reader allocate more than these.
/// </summary>
public sealed record XmlStreamLimits
{
    /// <summary>Bytes of one top-level stanza, from its '&lt;' to its closing '&gt;'.</summary>
    public int MaxStanzaBytes { get; init; } = 256 * 1024;

    /// <summary>Bytes before the stream header is complete (XML declaration + header tag).</summary>
    public int MaxHeaderBytes { get; init; } = 8 * 1024;

    /// <summary>Element nesting depth inside a stanza (the stanza element is depth 1).</summary>
    public int MaxDepth { get; init; } = 32;

    /// <summary>Attributes (namespace declarations included) on one element.</summary>
    public int MaxAttributes { get; init; } = 64;

    /// <summary>Bytes of one attribute value.</summary>
    public int MaxAttributeBytes { get; init; } = 8 * 1024;

    /// <summary>Bytes of character data (text and CDATA) in one stanza.</summary>
    public int MaxTextBytes { get; init; } = 192 * 1024;

    /// <summary>Whitespace bytes (keepalives) allowed between two stanzas.</summary>
    public int MaxWhitespaceBetweenStanzas { get; init; } = 1024 * 1024;

    public static XmlStreamLimits Default { get; } = new();
}
