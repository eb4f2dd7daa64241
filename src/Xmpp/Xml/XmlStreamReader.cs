using System.Text;
using System.Xml;
using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Reads one XMPP stream (RFC 6120 §4) from a byte stream: the stream header, then each
/// top-level element as an <see cref="XElement"/>, until a stream error or the closing tag.
/// </summary>
/// <remarks>
/// Bytes are read asynchronously and run through <see cref="StanzaFramer"/>, which enforces
/// <see cref="XmlStreamLimits"/>, UTF-8 validity and restricted XML on the raw bytes and says
/// where the header, each top-level element and the closing tag end. Only then is a piece's
/// text handed to System.Xml's <see cref="XmlReader"/> (DtdProcessing.Prohibit, no resolver,
/// CheckCharacters), which parses it **synchronously**: one reader for the whole stream, so
/// namespaces declared on the header stay in scope, but no async state machine per node.
/// Stanzas are yielded as <see cref="XElement"/> (bench/Benchmarks/XmppCodecBenchmarks).
/// Every failure surfaces as <see cref="XmppStreamException"/>: with a local stream error to
/// send (hostile or broken input), or without one when the connection was lost.
/// </remarks>
public sealed class XmlStreamReader : IDisposable
{
    private const int ReadSize = 8192;

    private static readonly XmlReaderSettings Settings = new()
    {
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

    private readonly Stream _stream;
    private readonly StanzaFramer _framer;
    private readonly TimeProvider _time;
    private readonly string _contentNamespace;
    // RFC 6120 §11.6: UTF-8 only; the framer has already refused invalid bytes, and a
    // TextReader makes the parser ignore any other encoding the declaration might name.
    private readonly PieceTextReader _text = new();
    private XmlReader? _reader;
    private byte[] _buffer = new byte[ReadSize * 2];
    private int _start;    // first byte of the piece being collected
    private int _scanned;  // bytes already run through the framer
    private int _filled;   // bytes in the buffer
    private bool _endOfStream;
    private bool _headerRead;
    private bool _finished;

    /// <param name="stream">The connection's read side.</param>
    /// <param name="contentNamespace">Expected default namespace of the stream (jabber:component:accept for XEP-0114).</param>
    public XmlStreamReader(Stream stream, string contentNamespace, XmlStreamLimits? limits = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _contentNamespace = contentNamespace;
        _framer = new StanzaFramer(limits ?? XmlStreamLimits.Default);
        _time = time ?? TimeProvider.System;
        LastReceived = _time.GetTimestamp();
    }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last byte received (keepalives included).</summary>
    public long LastReceived { get; private set; }

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
        await NextPieceAsync(cancellationToken).ConfigureAwait(false);
        // The parser reads its first characters when created: only now is there something to read.
        var reader = _reader = XmlReader.Create(_text, Settings);
        NextNode();
        while (reader.NodeType is XmlNodeType.XmlDeclaration or XmlNodeType.Whitespace)
        {
            NextNode();
        }
        if (reader.NodeType != XmlNodeType.Element)
        {
            throw XmppStreamException.Local(StreamErrorCondition.BadFormat, $"expected the stream header, got {reader.NodeType}");
        }
        if (reader.LocalName != "stream" || reader.NamespaceURI != XmppNamespaces.Streams)
        {
            throw XmppStreamException.Local(StreamErrorCondition.InvalidNamespace, "the root element is not <stream:stream> in " + XmppNamespaces.Streams);
        }
        if (reader.Prefix != "stream")
        {
            // RFC 6120 §4.8.5: the streams namespace uses the prefix "stream".
            throw XmppStreamException.Local(StreamErrorCondition.BadNamespacePrefix, "the stream prefix must be 'stream'");
        }
        var content = reader.LookupNamespace("") ?? "";
        if (content != _contentNamespace)
        {
            throw XmppStreamException.Local(StreamErrorCondition.InvalidNamespace, $"content namespace '{content}', expected '{_contentNamespace}'");
        }
        var header = new StreamHeader(content,
            reader.GetAttribute("id"), reader.GetAttribute("from"), reader.GetAttribute("to"),
            reader.GetAttribute("version"), reader.GetAttribute("lang", XmppNamespaces.Xml));
        if (reader.IsEmptyElement)
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
        // A whole piece (keepalive whitespace, then an element or the closing tag) is buffered
        // before the parser is asked for a node, so its synchronous reads never wait.
        await NextPieceAsync(cancellationToken).ConfigureAwait(false);
        var reader = _reader!;
        while (true)
        {
            NextNode();
            switch (reader.NodeType)
            {
                case XmlNodeType.Whitespace:
                    continue;
                case XmlNodeType.EndElement:
                    // Depth 0: </stream:stream> (the parser checked that it matches the root).
                    _finished = true;
                    return XmlStreamEvent.Closed;
                case XmlNodeType.Element:
                    var element = ReadElement(reader);
                    if (element.Name == XName.Get("error", XmppNamespaces.Streams))
                    {
                        return new XmlStreamEvent(XmlStreamEventKind.StreamError, element, StreamError.Parse(element));
                    }
                    return new XmlStreamEvent(XmlStreamEventKind.Element, element, null);
                case XmlNodeType.Text or XmlNodeType.CDATA or XmlNodeType.SignificantWhitespace:
                    throw XmppStreamException.Local(StreamErrorCondition.BadFormat, "character data outside a stanza");
                default:
                    throw Restricted(reader.NodeType);
            }
        }
    }

    /// <summary>Reads and scans until the framer reports the end of the next piece, and hands its text to the parser.</summary>
    private async ValueTask NextPieceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            if (_scanned < _filled)
            {
                var n = _framer.ScanToBoundary(_buffer.AsSpan(_scanned, _filled - _scanned), out var boundary);
                _scanned += n;
                if (boundary != StanzaFramer.Boundary.None)
                {
                    _text.Append(_buffer.AsSpan(_start, _scanned - _start));
                    _start = _scanned;
                    return;
                }
            }
            if (_endOfStream)
            {
                throw new XmppStreamException(_framer.InsideStanza
                    ? "connection closed by the peer in the middle of a stanza"
                    : "connection closed by the peer without closing the stream");
            }
            await FillAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async ValueTask FillAsync(CancellationToken cancellationToken)
    {
        // Keep the piece being collected; the framer's limits bound how large it can grow.
        if (_start > 0)
        {
            _buffer.AsSpan(_start, _filled - _start).CopyTo(_buffer);
            _filled -= _start;
            _scanned -= _start;
            _start = 0;
        }
        if (_buffer.Length - _filled < ReadSize)
        {
            Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _filled + ReadSize));
        }
        int n;
        try
        {
            // The socket read has no cancellation here: a cancelled read is ended by disposing the connection.
            cancellationToken.ThrowIfCancellationRequested();
            n = await _stream.ReadAsync(_buffer.AsMemory(_filled), CancellationToken.None).ConfigureAwait(false);
        }
        catch (IOException ex)
        {
            throw new XmppStreamException("connection lost: " + ex.Message, ex);
        }
        catch (ObjectDisposedException ex)
        {
            throw new XmppStreamException("connection closed", ex);
        }
        if (n == 0)
        {
            _endOfStream = true;
            return;
        }
        LastReceived = _time.GetTimestamp();
        _filled += n;
    }

    /// <summary>Builds the element the reader is positioned on, with its whole subtree.</summary>
    private XElement ReadElement(XmlReader reader)
    {
        var root = StartElement(reader);
        if (reader.IsEmptyElement)
        {
            return root;
        }
        var current = root;
        while (true)
        {
            NextNode();
            switch (reader.NodeType)
            {
                case XmlNodeType.Element:
                    var child = StartElement(reader);
                    current.Add(child);
                    if (!reader.IsEmptyElement)
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
                    current.Add(new XText(Value(reader)));
                    break;
                default:
                    throw Restricted(reader.NodeType);
            }
        }
    }

    private static XElement StartElement(XmlReader reader)
    {
        var e = new XElement(XName.Get(reader.LocalName, reader.NamespaceURI));
        if (reader.MoveToFirstAttribute())
        {
            do
            {
                // Namespace declarations are carried by the element and attribute names.
                if (reader.NamespaceURI != "http://www.w3.org/2000/xmlns/")
                {
                    e.Add(new XAttribute(XName.Get(reader.LocalName, reader.NamespaceURI), reader.Value));
                }
            }
            while (reader.MoveToNextAttribute());
            reader.MoveToElement();
        }
        return e;
    }

    private static string Value(XmlReader reader)
    {
        try
        {
            return reader.Value;
        }
        catch (XmlException ex)
        {
            throw Translate(ex);
        }
    }

    private void NextNode()
    {
        bool more;
        try
        {
            more = _reader!.Read();
        }
        catch (XmlException ex)
        {
            throw Translate(ex);
        }
        if (!more)
        {
            // The parser ran past the pieces the framer completed: only input that is not
            // well-formed gets here (e.g. a mismatched end tag shorter than the open one).
            throw XmppStreamException.Local(StreamErrorCondition.NotWellFormed, "the XML ended inside an element");
        }
    }

    private static XmppStreamException Translate(XmlException ex)
    {
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
        _reader?.Dispose();
        _text.Dispose();
    }
}
