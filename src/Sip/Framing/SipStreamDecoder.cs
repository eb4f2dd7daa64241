using System.Buffers;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip.Framing;

public enum SipFrameKind
{
    /// <summary>A complete message.</summary>
    Message,

    /// <summary>A CRLFCRLF keep-alive ping (RFC 5626 §3.5.1); the receiver answers with a CRLF pong.</summary>
    KeepAlivePing,

    /// <summary>The peer closed the stream between messages.</summary>
    EndOfStream,
}

public readonly record struct SipFrame(SipFrameKind Kind, SipMessage? Message = null);

/// <summary>
/// Incremental message framing for stream transports (RFC 3261 §18.3), without I/O: headers up to
/// CRLFCRLF, then exactly Content-Length body bytes (mandatory on streams). CRLFs between messages
/// are keep-alives and skipped. Oversize or malformed input throws <see cref="SipParseException"/>;
/// after that the stream cannot be resynchronised and the connection must be closed.
/// </summary>
public sealed class SipStreamDecoder(SipParserLimits? limits = null)
{
    private readonly SipParserLimits _limits = limits ?? SipParserLimits.Default;
    private SipMessage? _pending; // header section parsed, waiting for its body
    private int _bodyLength;

    /// <summary>True while a message has started but is not complete.</summary>
    public bool InMessage => _pending is not null;

    /// <summary>
    /// Tries to take one frame from the front of <paramref name="buffer"/>, which is advanced past
    /// what was consumed. Returns false when more bytes are needed.
    /// </summary>
    public bool TryDecode(ref ReadOnlySequence<byte> buffer, out SipFrame frame)
    {
        frame = default;
        if (_pending is null)
        {
            var crlfs = 0;
            var reader = new SequenceReader<byte>(buffer);
            while (reader.IsNext("\r\n"u8, advancePast: true)) crlfs++;
            if (crlfs > 0)
            {
                buffer = buffer.Slice(reader.Position);
                if (crlfs >= 2)
                {
                    frame = new SipFrame(SipFrameKind.KeepAlivePing);
                    return true;
                }
            }
            if (buffer.IsEmpty) return false;
            if (buffer.FirstSpan[0] == '\r' && buffer.Length == 1) return false;

            reader = new SequenceReader<byte>(buffer);
            if (!reader.TryReadTo(out ReadOnlySequence<byte> _, "\r\n\r\n"u8, advancePastDelimiter: true))
            {
                if (buffer.Length > _limits.MaxHeaderSectionSize)
                    throw new SipParseException($"no end of header section within {_limits.MaxHeaderSectionSize} bytes");
                if (buffer.PositionOf((byte)0) is not null) throw new SipParseException("NUL byte in header section");
                return false;
            }
            var head = buffer.Slice(0, reader.Position);
            var message = head.IsSingleSegment
                ? SipMessageParser.ParseHeaderSection(head.FirstSpan, _limits)
                : SipMessageParser.ParseHeaderSection(head.ToArray(), _limits);
            var length = message.ContentLength ?? throw new SipParseException("Content-Length is mandatory on stream transports (§18.3)", 0, SipHeaderNames.ContentLength);
            if (head.Length + length > _limits.MaxMessageSize)
                throw new SipParseException($"message larger than {_limits.MaxMessageSize} bytes", 0, SipHeaderNames.ContentLength);
            buffer = buffer.Slice(reader.Position);
            _pending = message;
            _bodyLength = length;
        }

        if (buffer.Length < _bodyLength) return false;
        var done = _pending;
        done.Body = buffer.Slice(0, _bodyLength).ToArray();
        buffer = buffer.Slice(_bodyLength);
        _pending = null;
        frame = new SipFrame(SipFrameKind.Message, done);
        return true;
    }
}
