namespace Aggregators.Xmpp.Xml;

/// <summary>
/// A byte-level lexical scanner run over every byte the peer sends, before the XML parser sees
/// it. It does not parse XML (System.Xml does); it tracks just enough state — markup vs.
/// text, attribute values, element depth — to enforce <see cref="XmlStreamLimits"/> exactly,
/// to validate UTF-8, and to refuse restricted XML (RFC 6120 §11.1) as soon as it appears:
/// DOCTYPE, comments, processing instructions after the XML declaration, and entity
/// references other than the five predefined ones and character references.
/// Violations throw <see cref="XmppStreamException"/> with the condition to send.
/// </summary>
internal sealed class StanzaFramer
{
    /// <summary>What the last byte scanned by <see cref="ScanToBoundary"/> completed.</summary>
    public enum Boundary
    {
        None,

        /// <summary>The stream header's start tag (with anything before it: BOM, XML declaration).</summary>
        Header,

        /// <summary>A top-level element (stanza or stream error), with the whitespace before it.</summary>
        Element,

        /// <summary>The closing &lt;/stream:stream&gt; tag.</summary>
        StreamEnd,
    }

    private Boundary _boundary;

    private enum State
    {
        Text,
        TagOpen,
        StartTag,
        AttributeValue,
        EndTag,
        Bang,
        CData,
        XmlDeclaration,
        EntityReference,
    }

    private readonly XmlStreamLimits _limits;
    private State _state = State.Text;
    private State _entityReturn;
    private byte _quote;
    private bool _slashBeforeGt;
    private int _depth;            // 0 before the stream header, 1 inside <stream:stream>
    private long _position;        // bytes seen so far
    private bool _inStanza;
    private int _stanzaBytes;
    private int _textBytes;
    private int _whitespaceBetween;
    private int _attributeCount;
    private int _attributeBytes;
    private int _bangCount;
    private int _cdataBrackets;
    private bool _declarationQuestion;
    private readonly byte[] _entity = new byte[12];
    private int _entityLength;
    // UTF-8 validation (RFC 3629 table 3-7 ranges): continuation bytes still expected, and the
    // allowed range of the next one.
    private int _utf8Needed;
    private byte _utf8Low = 0x80, _utf8High = 0xBF;

    public StanzaFramer(XmlStreamLimits limits) => _limits = limits;

    /// <summary>True once the closing &lt;/stream:stream&gt; has been scanned.</summary>
    public bool StreamClosed { get; private set; }

    /// <summary>True after the stream header's start tag was scanned.</summary>
    public bool HeaderComplete { get; private set; }

    public void Scan(ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            ScanByte(b);
        }
    }

    /// <summary>
    /// Scans until a header, a top-level element or the stream's end is complete: returns how
    /// many bytes were consumed (all of them when no boundary was reached) and which boundary.
    /// </summary>
    public int ScanToBoundary(ReadOnlySpan<byte> bytes, out Boundary boundary)
    {
        for (var i = 0; i < bytes.Length; i++)
        {
            _boundary = Boundary.None;
            ScanByte(bytes[i]);
            if (_boundary != Boundary.None)
            {
                boundary = _boundary;
                return i + 1;
            }
        }
        boundary = Boundary.None;
        return bytes.Length;
    }

    private void ScanByte(byte b)
    {
        ValidateUtf8(b);
        _position++;
        if (!HeaderComplete && _position > _limits.MaxHeaderBytes)
        {
            throw Violation(StreamErrorCondition.PolicyViolation, $"stream header longer than {_limits.MaxHeaderBytes} bytes");
        }
        if (_inStanza && ++_stanzaBytes > _limits.MaxStanzaBytes)
        {
            throw Violation(StreamErrorCondition.PolicyViolation, $"stanza larger than {_limits.MaxStanzaBytes} bytes");
        }
        if (StreamClosed)
        {
            return; // RFC 6120 §4.4: nothing more is read after the closing tag.
        }
        switch (_state)
        {
            case State.Text:
                if (b == '<')
                {
                    _state = State.TagOpen;
                    if (_depth == 1)
                    {
                        _inStanza = true;
                        _stanzaBytes = 1;
                        _textBytes = 0;
                        _whitespaceBetween = 0;
                    }
                }
                else if (b == '&')
                {
                    BeginEntity(State.Text);
                }
                else if (_depth >= 2)
                {
                    CountText();
                }
                else if (IsWhitespace(b))
                {
                    // RFC 6120 §4.6.1: whitespace between stanzas is a keepalive.
                    if (++_whitespaceBetween > _limits.MaxWhitespaceBetweenStanzas)
                    {
                        throw Violation(StreamErrorCondition.PolicyViolation, "too much whitespace between stanzas");
                    }
                }
                break;
            case State.TagOpen:
                if (b == '/')
                {
                    _state = State.EndTag;
                }
                else if (b == '!')
                {
                    _state = State.Bang;
                    _bangCount = 0;
                }
                else if (b == '?')
                {
                    // RFC 6120 §11.1/§11.5: only the XML declaration at the very start.
                    if (_position != 2 && !(_position == 5 && _bomSeen))
                    {
                        throw Violation(StreamErrorCondition.RestrictedXml, "processing instructions are not allowed");
                    }
                    _state = State.XmlDeclaration;
                }
                else
                {
                    _state = State.StartTag;
                    _attributeCount = 0;
                    _slashBeforeGt = false;
                }
                break;
            case State.StartTag:
                if (b is (byte)'"' or (byte)'\'')
                {
                    if (++_attributeCount > _limits.MaxAttributes)
                    {
                        throw Violation(StreamErrorCondition.PolicyViolation, $"more than {_limits.MaxAttributes} attributes on an element");
                    }
                    _quote = b;
                    _attributeBytes = 0;
                    _state = State.AttributeValue;
                }
                else if (b == '>')
                {
                    _state = State.Text;
                    if (_slashBeforeGt)
                    {
                        if (_depth == 0)
                        {
                            // <stream:stream .../>: a header that is also the stream's end.
                            HeaderComplete = true;
                            StreamClosed = true;
                            _boundary = Boundary.Header;
                        }
                        ElementClosed();
                    }
                    else
                    {
                        _depth++;
                        if (_depth == 1)
                        {
                            HeaderComplete = true;
                            _boundary = Boundary.Header;
                        }
                        else if (_depth - 1 > _limits.MaxDepth)
                        {
                            throw Violation(StreamErrorCondition.PolicyViolation, $"elements nested deeper than {_limits.MaxDepth}");
                        }
                    }
                }
                else
                {
                    _slashBeforeGt = b == '/';
                }
                break;
            case State.AttributeValue:
                if (b == _quote)
                {
                    _state = State.StartTag;
                    _slashBeforeGt = false;
                }
                else if (b == '&')
                {
                    BeginEntity(State.AttributeValue);
                }
                else
                {
                    CountAttributeByte();
                }
                break;
            case State.EndTag:
                if (b == '>')
                {
                    _state = State.Text;
                    if (_depth == 0)
                    {
                        throw Violation(StreamErrorCondition.NotWellFormed, "an end tag before the stream header");
                    }
                    _depth--;
                    if (_depth == 0)
                    {
                        StreamClosed = true;
                        _inStanza = false;
                        _boundary = Boundary.StreamEnd;
                    }
                    else
                    {
                        ElementClosed();
                    }
                }
                break;
            case State.Bang:
                // "<![CDATA[" is the only markup declaration allowed: "<!DOCTYPE" and "<!--" are
                // restricted (RFC 6120 §11.1).
                if (b != "[CDATA["u8[_bangCount])
                {
                    throw Violation(StreamErrorCondition.RestrictedXml,
                        _bangCount == 0 && b == '-' ? "comments are not allowed" : "DTDs and markup declarations are not allowed");
                }
                if (++_bangCount == 7)
                {
                    if (_depth < 2)
                    {
                        throw Violation(StreamErrorCondition.BadFormat, "character data outside a stanza");
                    }
                    _state = State.CData;
                    _cdataBrackets = 0;
                }
                break;
            case State.CData:
                if (b == '>' && _cdataBrackets >= 2)
                {
                    _state = State.Text;
                }
                else
                {
                    _cdataBrackets = b == ']' ? _cdataBrackets + 1 : 0;
                    CountText();
                }
                break;
            case State.XmlDeclaration:
                if (b == '>' && _declarationQuestion)
                {
                    _state = State.Text;
                }
                _declarationQuestion = b == '?';
                break;
            case State.EntityReference:
                if (b == ';')
                {
                    CheckEntity();
                    _state = _entityReturn;
                }
                else if (_entityLength == _entity.Length)
                {
                    throw Violation(StreamErrorCondition.NotWellFormed, "unterminated entity reference");
                }
                else
                {
                    _entity[_entityLength++] = b;
                }
                break;
        }
    }

    private bool _bomSeen;

    private void ElementClosed()
    {
        if (_depth == 1)
        {
            _inStanza = false;
            _boundary = Boundary.Element;
        }
    }

    private void CountText()
    {
        if (++_textBytes > _limits.MaxTextBytes)
        {
            throw Violation(StreamErrorCondition.PolicyViolation, $"more than {_limits.MaxTextBytes} bytes of text in a stanza");
        }
    }

    private void CountAttributeByte()
    {
        if (++_attributeBytes > _limits.MaxAttributeBytes)
        {
            throw Violation(StreamErrorCondition.PolicyViolation, $"attribute value longer than {_limits.MaxAttributeBytes} bytes");
        }
    }

    private void BeginEntity(State returnTo)
    {
        _entityReturn = returnTo;
        _entityLength = 0;
        _state = State.EntityReference;
    }

    private void CheckEntity()
    {
        var name = _entity.AsSpan(0, _entityLength);
        var predefined = name.SequenceEqual("amp"u8) || name.SequenceEqual("lt"u8) || name.SequenceEqual("gt"u8)
            || name.SequenceEqual("quot"u8) || name.SequenceEqual("apos"u8);
        var characterReference = name.Length >= 2 && name[0] == '#';
        if (!predefined && !characterReference)
        {
            // RFC 6120 §11.1: no entity references but the predefined ones.
            throw Violation(StreamErrorCondition.RestrictedXml, "entity references other than the predefined ones are not allowed");
        }
        if (_entityReturn == State.Text)
        {
            if (_depth < 2)
            {
                throw Violation(StreamErrorCondition.BadFormat, "character data outside a stanza");
            }
            CountText();
        }
        else
        {
            CountAttributeByte();
        }
    }

    private void ValidateUtf8(byte b)
    {
        if (_utf8Needed == 0)
        {
            if (b < 0x80)
            {
                return;
            }
            if (_position == 0 && b == 0xEF)
            {
                // A UTF-8 byte order mark is tolerated at the very start (RFC 6120 §11.6 allows none
                // to be required; XML 1.0 allows it).
                _bomSeen = true;
            }
            (_utf8Needed, _utf8Low, _utf8High) = b switch
            {
                >= 0xC2 and <= 0xDF => (1, (byte)0x80, (byte)0xBF),
                0xE0 => (2, (byte)0xA0, (byte)0xBF),
                0xED => (2, (byte)0x80, (byte)0x9F), // no surrogates
                >= 0xE1 and <= 0xEF => (2, (byte)0x80, (byte)0xBF),
                0xF0 => (3, (byte)0x90, (byte)0xBF),
                >= 0xF1 and <= 0xF3 => (3, (byte)0x80, (byte)0xBF),
                0xF4 => (3, (byte)0x80, (byte)0x8F),
                _ => throw InvalidUtf8(),
            };
            return;
        }
        if (b < _utf8Low || b > _utf8High)
        {
            throw InvalidUtf8();
        }
        _utf8Needed--;
        (_utf8Low, _utf8High) = ((byte)0x80, (byte)0xBF);
    }

    private static XmppStreamException InvalidUtf8() =>
        // RFC 6120 §4.9.3.22: improperly encoded UTF-8 is unsupported-encoding.
        Violation(StreamErrorCondition.UnsupportedEncoding, "the stream is not valid UTF-8");

    private static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';

    private static XmppStreamException Violation(StreamErrorCondition condition, string text) =>
        XmppStreamException.Local(condition, text);

    /// <summary>True when the stream ended in the middle of a sequence or a stanza.</summary>
    public bool InsideStanza => _inStanza || _utf8Needed != 0;
}
