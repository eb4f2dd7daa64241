using System.Buffers;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Finds where one complete response ends in bytes received so far (RFC 3501 §7: a response is a
/// line ending in CRLF, except that a line ending in a literal announcement "{n}" / "{n+}" / "~{n}"
/// continues after n octets with another line). Pure: no I/O, no allocation; the caller keeps
/// the bytes and calls again when more arrive. Limits are checked as soon as they can be, so a
/// hostile server can make us hold at most one maximal line or literal.
/// </summary>
public static class ImapResponseFramer
{
    /// <summary>
    /// True and the position just after the final CRLF when <paramref name="buffer"/> starts with a
    /// complete response; false when more bytes are needed.
    /// </summary>
    /// <exception cref="ImapProtocolException">a line is too long, lacks its CR, or a literal is too big.</exception>
    public static bool TryFindEnd(in ReadOnlySequence<byte> buffer, ImapLimits limits, out SequencePosition end)
    {
        ArgumentNullException.ThrowIfNull(limits);
        var reader = new SequenceReader<byte>(buffer);
        long lineStart = 0;
        Span<byte> tail = stackalloc byte[32];
        while (true)
        {
            if (!reader.TryAdvanceTo((byte)'\n', advancePastDelimiter: true))
            {
                if (buffer.Length - lineStart > limits.MaxLineLength)
                {
                    throw new ImapProtocolException(
                        $"line longer than the limit of {limits.MaxLineLength} bytes without CRLF (at offset {lineStart})");
                }
                end = default;
                return false;
            }
            var lineLength = reader.Consumed - lineStart;
            if (lineLength > limits.MaxLineLength)
            {
                throw new ImapProtocolException(
                    $"line of {lineLength} bytes exceeds the limit of {limits.MaxLineLength} bytes (at offset {lineStart})");
            }
            var line = buffer.Slice(lineStart, lineLength);
            var n = (int)Math.Min(tail.Length, lineLength);
            var t = tail[..n];
            line.Slice(lineLength - n).CopyTo(t);
            // RFC 3501 §2.2: lines end with CRLF; a bare LF is a protocol violation.
            if (n < 2 || t[n - 2] != '\r')
            {
                throw new ImapProtocolException($"line ends with LF without CR (at offset {reader.Consumed - 1})");
            }
            var literal = LiteralAnnouncement(t[..(n - 2)], n < lineLength, reader.Consumed - 2);
            if (literal < 0)
            {
                end = reader.Position;
                return true;
            }
            if (literal > limits.MaxLiteralSize)
            {
                throw new ImapProtocolException(
                    $"literal of {literal} bytes exceeds the limit of {limits.MaxLiteralSize} bytes (announced at offset {reader.Consumed - 2})");
            }
            if (reader.Consumed + literal > limits.MaxResponseSize)
            {
                throw new ImapProtocolException($"response exceeds the limit of {limits.MaxResponseSize} bytes");
            }
            if (reader.Remaining < literal)
            {
                end = default;
                return false;
            }
            reader.Advance(literal);
            lineStart = reader.Consumed;
        }
    }

    /// <summary>The size announced by a trailing "{n}" or "{n+}", or -1 when the line does not end with one.</summary>
    private static long LiteralAnnouncement(ReadOnlySpan<byte> lineEnd, bool truncated, long offset)
    {
        var i = lineEnd.Length - 1;
        if (i < 0 || lineEnd[i] != '}')
        {
            return -1;
        }
        i--;
        if (i >= 0 && lineEnd[i] == '+')
        {
            i--;
        }
        var digitsEnd = i + 1;
        while (i >= 0 && char.IsAsciiDigit((char)lineEnd[i]))
        {
            i--;
        }
        if (i < 0 && truncated && digitsEnd > 0)
        {
            throw new ImapProtocolException($"literal size of more than {digitsEnd} digits is out of range (at offset {offset})");
        }
        if (i < 0 || lineEnd[i] != '{')
        {
            // "}" at the end of a line that is not a literal (e.g. inside text): an ordinary line.
            return -1;
        }
        var digits = lineEnd[(i + 1)..digitsEnd];
        if (digits.Length == 0)
        {
            throw new ImapProtocolException($"literal announcement without a size (at offset {offset})");
        }
        // number64 (RFC 9051 §9): 18 digits already mean an exabyte, so longer sizes are rejected unparsed.
        if (digits.Length > 18)
        {
            throw new ImapProtocolException($"literal size {System.Text.Encoding.ASCII.GetString(digits)} is out of range (at offset {offset})");
        }
        long size = 0;
        foreach (var d in digits)
        {
            size = (size * 10) + (d - '0');
        }
        return size;
    }
}
