using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Reads one XMPP stream (RFC 6120 §4) from a byte stream: the stream header, then each
/// top-level element as an <see cref="XElement"/>, until a stream error or the closing tag.
/// </summary>
/// <remarks>
/// Parsing is System.Xml's <see cref="XmlReader"/> (async, DtdProcessing.Prohibit, no resolver);
/// limits, UTF-8 validity and restricted XML are enforced on the raw bytes by
/// <see cref="StanzaFramer"/> before the parser buffers anything. Stanzas are yielded as
/// <see cref="XElement"/>: namespaces, escaping and queries are handled by a mature model, the
/// pubsub/disco code above builds payloads in many namespaces, and the cost (a few hundred
/// bytes per stanza, see bench/XmppCodecBenchmarks) is small next to the network.
/// Every failure surfaces as <see cref="XmppStreamException"/>: with a local stream error to
/// send (hostile or broken input), or without one when the connection was lost.
/// </remarks>
public sealed class XmlStreamReader : IDisposable
{
    private readonly FramedReadStream _framed;
    private readonly XmlReader _reader;
    private readonly string _contentNamespace;
    private bool _headerRead;
    private bool _finished;

    /// <param name="stream">The connection's read side.</param>
    /// <param name="contentNamespace">Expected default namespace of the stream (jabber:component:accept for XEP-0114).</param>
    public XmlStreamReader(Stream stream, string contentNamespace, XmlStreamLimits? limits = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _contentNamespace = contentNamespace;
        _framed = new FramedReadStream(stream, new StanzaFramer(limits ?? XmlStreamLimits.Default), time ?? TimeProvider.System);
        var settings = new XmlReaderSettings
        {
            Async = true,
            DtdProcessing = DtdProcessing.Prohibit,
            XmlResolver = null,
            IgnoreComments = false,
            IgnoreProcessingInstructions = false,
            IgnoreWhitespace = false,
            CheckCharacters = true,
            ConformanceLevel = ConformanceLevel.Document,
            MaxCharactersFromEntities = 1024,
            CloseInput = false,
        };
        // RFC 6120 §11.6: UTF-8 only; the framer has already refused invalid bytes, and a
        // TextReader makes the parser ignore any other encoding the declaration might name.
        var text = new StreamReader(_framed, new UTF8Encoding(false, throwOnInvalidBytes: true), detectEncodingFromByteOrderMarks: false, bufferSize: 4096, leaveOpen: true);
        _reader = XmlReader.Create(text, settings);
    }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last byte received (keepalives included).</summary>
    public long LastReceived => _framed.LastReceived;

    /// <summary>
    /// Reads the peer's stream header. The root must be &lt;stream:stream&gt; in the streams
    /// namespace (else invalid-namespace, RFC 6120 §4.9.3.10) with the expected default namespace.
    /// </summary>
    public async ValueTask<StreamHeader> ReadHeaderAsync(CancellationToken cancellationToken)
    {
        if (_headerRead)
        {
            throw new InvalidOperationException("the stream header was already read");
        }
        await NextNodeAsync(cancellationToken).ConfigureAwait(false);
        while (_reader.NodeType is XmlNodeType.XmlDeclaration or XmlNodeType.Whitespace)
        {
            await NextNodeAsync(cancellationToken).ConfigureAwait(false);
        }
        if (_reader.NodeType != XmlNodeType.Element)
        {
            throw XmppStreamException.Local(StreamErrorCondition.BadFormat, $"expected the stream header, got {_reader.NodeType}");
        }
        if (_reader.LocalName != "stream" || _reader.NamespaceURI != XmppNamespaces.Streams)
        {
            throw XmppStreamException.Local(StreamErrorCondition.InvalidNamespace, "the root element is not <stream:stream> in " + XmppNamespaces.Streams);
        }
        if (_reader.Prefix != "stream")
        {
            // RFC 6120 §4.8.5: the streams namespace uses the prefix "stream".
            throw XmppStreamException.Local(StreamErrorCondition.BadNamespacePrefix, "the stream prefix must be 'stream'");
        }
        var content = _reader.LookupNamespace("") ?? "";
        if (content != _contentNamespace)
        {
            throw XmppStreamException.Local(StreamErrorCondition.InvalidNamespace, $"content namespace '{content}', expected '{_contentNamespace}'");
        }
        var header = new StreamHeader(content,
            _reader.GetAttribute("id"), _reader.GetAttribute("from"), _reader.GetAttribute("to"),
            _reader.GetAttribute("version"), _reader.GetAttribute("lang", XmppNamespaces.Xml));
        if (_reader.IsEmptyElement)
        {
            _finished = true;
        }
        _headerRead = true;
        return header;
    }

    /// <summary>
    /// The next top-level element, a received stream error, or the stream's end. Whitespace
    /// keepalives between stanzas are consumed silently.
    /// </summary>
    public async ValueTask<XmlStreamEvent> ReadAsync(CancellationToken cancellationToken)
    {
        if (!_headerRead)
        {
            throw new InvalidOperationException("read the stream header first");
        }
        if (_finished)
        {
            return XmlStreamEvent.Closed;
        }
        while (true)
        {
            await NextNodeAsync(cancellationToken).ConfigureAwait(false);
            switch (_reader.NodeType)
            {
                case XmlNodeType.Whitespace:
                    continue;
                case XmlNodeType.EndElement:
                    // Depth 0: </stream:stream>.
                    _finished = true;
                    return XmlStreamEvent.Closed;
                case XmlNodeType.Element:
                    var element = await ReadElementAsync(cancellationToken).ConfigureAwait(false);
                    if (element.Name == XName.Get("error", XmppNamespaces.Streams))
                    {
                        return new XmlStreamEvent(XmlStreamEventKind.StreamError, element, StreamError.Parse(element));
                    }
                    return new XmlStreamEvent(XmlStreamEventKind.Element, element, null);
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.SignificantWhitespace:
                    throw XmppStreamException.Local(StreamErrorCondition.BadFormat, "character data outside a stanza");
                default:
                    throw Restricted(_reader.NodeType);
            }
        }
    }

    /// <summary>Builds the element the reader is positioned on, with its whole subtree.</summary>
    private async ValueTask<XElement> ReadElementAsync(CancellationToken cancellationToken)
    {
        var root = StartElement();
        if (_reader.IsEmptyElement)
        {
            return root;
        }
        var current = root;
        while (true)
        {
            await NextNodeAsync(cancellationToken).ConfigureAwait(false);
            switch (_reader.NodeType)
            {
                case XmlNodeType.Element:
                    var child = StartElement();
                    current.Add(child);
                    if (!_reader.IsEmptyElement)
                    {
                        current = child;
                    }
                    break;
                case XmlNodeType.EndElement:
                    if (current == root)
                    {
                        return root;
                    }
                    current = current.Parent!;
                    break;
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.Whitespace or XmlNodeType.SignificantWhitespace:
                    current.Add(new XText(await ValueAsync().ConfigureAwait(false)));
                    break;
                default:
                    throw Restricted(_reader.NodeType);
            }
        }
    }

    private XElement StartElement()
    {
        var e = new XElement(XName.Get(_reader.LocalName, _reader.NamespaceURI));
        if (_reader.MoveToFirstAttribute())
        {
            do
            {
                // Namespace declarations are carried by the element and attribute names.
                if (_reader.NamespaceURI != "http://www.w3.org/2000/xmlns/")
                {
                    e.Add(new XAttribute(XName.Get(_reader.LocalName, _reader.NamespaceURI), _reader.Value));
                }
            }
            while (_reader.MoveToNextAttribute());
            _reader.MoveToElement();
        }
        return e;
    }

    /// <summary>A text node's value: in async mode the parser may still have to read the rest of it.</summary>
    private async ValueTask<string> ValueAsync()
    {
        try
        {
            return await _reader.GetValueAsync().ConfigureAwait(false);
        }
        catch (XmlException ex)
        {
            throw Translate(ex);
        }
        catch (IOException ex)
        {
            throw new XmppStreamException("connection lost: " + ex.Message, ex);
        }
    }

    private async ValueTask NextNodeAsync(CancellationToken cancellationToken)
    {
        bool more;
        try
        {
            // XmlReader has no cancellation: a cancelled read is ended by disposing the connection.
            cancellationToken.ThrowIfCancellationRequested();
            more = await _reader.ReadAsync().ConfigureAwait(false);
        }
        catch (XmlException ex)
        {
            throw Translate(ex);
        }
        catch (DecoderFallbackException ex)
        {
            throw XmppStreamException.Local(StreamErrorCondition.UnsupportedEncoding, "the stream is not valid UTF-8", ex);
        }
        catch (IOException ex)
        {
            throw new XmppStreamException("connection lost: " + ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new XmppStreamException("connection closed", ex);
        }
        if (!more)
        {
            throw new XmppStreamException("connection closed by the peer without closing the stream");
        }
    }

    private XmppStreamException Translate(XmlException ex)
    {
        if (_framed.EndOfStream)
        {
            return new XmppStreamException(
                _framed.Framer.InsideStanza ? "connection closed by the peer in the middle of a stanza" : "connection closed by the peer",
                ex);
        }
        var message = ex.Message;
        if (message.Contains("DTD", StringComparison.OrdinalIgnoreCase) || message.Contains("entity", StringComparison.OrdinalIgnoreCase))
        {
            return XmppStreamException.Local(StreamErrorCondition.RestrictedXml, "restricted XML: " + message, ex);
        }
        // RFC 6120 §4.9.3.13: anything the XML parser refuses.
        return XmppStreamException.Local(StreamErrorCondition.NotWellFormed, message, ex);
    }

    private static XmppStreamException Restricted(XmlNodeType type) =>
        // RFC 6120 §11.1: comments, processing instructions, DTDs, entity references.
        XmppStreamException.Local(StreamErrorCondition.RestrictedXml, $"{type} is restricted XML in XMPP");

    public void Dispose()
    {
        try
        {
            _reader.Dispose();
        }
        catch (InvalidOperationException)
        {
            // A read is still pending on the (closed) connection; it ends with an error by itself.
        }
    }
}
