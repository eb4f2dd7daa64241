using System.Buffers;
using System.Globalization;
using System.Text;

namespace Aggregators.Sip.Parsing;

/// <summary>
/// Parses SIP messages (RFC 3261 §7, §25) from bytes. Every malformed input ends in a
/// <see cref="SipParseException"/>; nothing else is thrown.
/// </summary>
public static class SipMessageParser
{
    private static ReadOnlySpan<byte> Crlf => "\r\n"u8;
    private static ReadOnlySpan<byte> EmptyLine => "\r\n\r\n"u8;

    /// <summary>
    /// One UDP datagram is one message (§18.3): a Content-Length shorter than the remaining bytes
    /// truncates the body, a longer one is an error; without Content-Length the body runs to the end.
    /// </summary>
    public static SipMessage ParseDatagram(ReadOnlySpan<byte> datagram, SipParserLimits? limits = null)
    {
        limits ??= SipParserLimits.Default;
        if (datagram.Length > limits.MaxMessageSize) throw new SipParseException($"message larger than {limits.MaxMessageSize} bytes");
        var start = SkipLeadingCrlf(datagram);
        datagram = datagram[start..];
        var end = datagram.IndexOf(EmptyLine);
        if (end < 0) throw new SipParseException("header section not terminated by an empty line");
        var message = ParseHeaderSection(datagram[..(end + 4)], limits);
        var rest = datagram[(end + 4)..];
        var length = message.ContentLength ?? rest.Length;
        if (length > rest.Length) throw new SipParseException($"Content-Length {length} exceeds the {rest.Length} body bytes received", 0, SipHeaderNames.ContentLength);
        message.Body = rest[..length].ToArray();
        return message;
    }

    public static SipMessage ParseDatagram(ReadOnlySequence<byte> datagram, SipParserLimits? limits = null) =>
        datagram.IsSingleSegment ? ParseDatagram(datagram.FirstSpan, limits) : ParseDatagram(datagram.ToArray(), limits);

    /// <summary>Parses a complete message held in one buffer with a correct Content-Length (e.g. test data).</summary>
    public static SipMessage Parse(string text) => ParseDatagram(Encoding.UTF8.GetBytes(text));

    internal static int SkipLeadingCrlf(ReadOnlySpan<byte> s)
    {
        var i = 0;
        while (i + 1 < s.Length && s[i] == '\r' && s[i + 1] == '\n') i += 2;
        return i;
    }

    /// <summary>
    /// Parses the start line and headers; <paramref name="head"/> runs through the CRLFCRLF. The bytes
    /// are copied once; header values stay byte ranges of that copy (unfolded in place).
    /// </summary>
    public static SipMessage ParseHeaderSection(ReadOnlySpan<byte> head, SipParserLimits limits)
    {
        if (head.Length > limits.MaxHeaderSectionSize) throw new SipParseException($"header section larger than {limits.MaxHeaderSectionSize} bytes");
        // Controls other than HT, CR, LF appear only escaped, as a quoted-pair (§25.1).
        for (var c = head.IndexOfAnyInRange((byte)0, (byte)0x1F); c >= 0; c = NextControl(head, c + 1))
        {
            if (head[c] is (byte)'\t' or (byte)'\r' or (byte)'\n') continue;
            if (c == 0 || head[c - 1] != '\\') throw new SipParseException(head[c] == 0 ? "NUL byte in header section" : "control character in header section", LineOf(head, c));
        }
        var buf = head.ToArray();
        var memory = new ReadOnlyMemory<byte>(buf);

        var pos = 0;
        var lineNo = 1;
        var startLine = ReadLine(buf, ref pos, limits, lineNo);
        var message = ParseStartLine(startLine, lineNo);
        var headers = message.Headers;

        var w = pos; // write cursor for unfolded values, never ahead of the read cursor
        while (true)
        {
            lineNo++;
            var lineStart = pos;
            var line = ReadLine(buf, ref pos, limits, lineNo);
            if (line.IsEmpty) break; // the empty line ending the header section
            if (SipGrammar.IsWhitespace(line[0])) throw new SipParseException("continuation line without a header", lineNo);
            var headerLine = lineNo;

            var nameEnd = 0;
            while (nameEnd < line.Length && SipGrammar.IsToken(line[nameEnd])) nameEnd++;
            if (nameEnd == 0) throw new SipParseException("expected a header name", lineNo);
            var name = SipHeaderNames.Canonicalize(line[..nameEnd]);
            var i = nameEnd;
            while (i < line.Length && SipGrammar.IsWhitespace(line[i])) i++; // HCOLON = *( SP / HTAB ) ":" SWS
            if (i >= line.Length || line[i] != ':') throw new SipParseException("expected ':' after the header name", lineNo, name);
            i++;

            // Value: the rest of this line plus continuation lines (LWS folding, §7.3.1), each
            // trimmed and joined by one SP, compacted to buf[w..].
            var valueStart = w;
            AppendSegment(buf, lineStart + i, lineStart + line.Length, ref w, valueStart);
            while (pos < buf.Length && SipGrammar.IsWhitespace(buf[pos]))
            {
                lineNo++;
                var contStart = pos;
                var cont = ReadLine(buf, ref pos, limits, lineNo);
                AppendSegment(buf, contStart, contStart + cont.Length, ref w, valueStart);
            }
            if (headers.Count >= limits.MaxHeaderCount) throw new SipParseException($"more than {limits.MaxHeaderCount} headers", headerLine);
            headers.AddParsed(new SipHeaderField(name, memory[valueStart..w], headerLine));
        }
        Validate(message);
        return message;
    }

    private static void AppendSegment(byte[] buf, int from, int to, ref int w, int valueStart)
    {
        while (from < to && SipGrammar.IsWhitespace(buf[from])) from++;
        while (to > from && SipGrammar.IsWhitespace(buf[to - 1])) to--;
        if (from == to) return;
        if (w > valueStart) buf[w++] = (byte)' ';
        Buffer.BlockCopy(buf, from, buf, w, to - from);
        w += to - from;
    }

    /// <summary>Returns the line at pos without its CRLF and moves pos past the CRLF.</summary>
    private static ReadOnlySpan<byte> ReadLine(byte[] buf, ref int pos, SipParserLimits limits, int lineNo)
    {
        var span = buf.AsSpan(pos);
        var lf = span.IndexOf((byte)'\n');
        if (lf < 0) throw new SipParseException("line not terminated by CRLF", lineNo);
        if (lf == 0 || span[lf - 1] != '\r') throw new SipParseException("bare LF (lines end with CRLF)", lineNo);
        var line = span[..(lf - 1)];
        if (line.IndexOf((byte)'\r') >= 0) throw new SipParseException("bare CR inside a line", lineNo);
        if (line.Length > limits.MaxLineLength) throw new SipParseException($"line longer than {limits.MaxLineLength} bytes", lineNo);
        pos += lf + 1;
        return line;
    }

    private static int NextControl(ReadOnlySpan<byte> s, int from) =>
        s[from..].IndexOfAnyInRange((byte)0, (byte)0x1F) is var i and >= 0 ? from + i : -1;

    private static int LineOf(ReadOnlySpan<byte> s, int index) => s[..index].Count((byte)'\n') + 1;

    private static SipMessage ParseStartLine(ReadOnlySpan<byte> line, int lineNo)
    {
        try
        {
            if (line.Length >= 4 && Ascii.EqualsIgnoreCase(line[..4], "SIP/"u8))
            {
                // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
                var sp = line.IndexOf((byte)' ');
                if (sp < 0) throw new SipParseException("expected SP after the SIP version");
                var version = ParseVersion(line[..sp]);
                var rest = line[(sp + 1)..];
                if (rest.Length < 3 || !SipGrammar.IsDigit(rest[0]) || !SipGrammar.IsDigit(rest[1]) || !SipGrammar.IsDigit(rest[2]))
                    throw new SipParseException("expected a three-digit status code");
                var code = (rest[0] - '0') * 100 + (rest[1] - '0') * 10 + (rest[2] - '0');
                if (code < 100) throw new SipParseException("status code out of range (100-699)");
                if (rest.Length > 3 && rest[3] != ' ') throw new SipParseException("status code longer than three digits");
                var reason = rest.Length > 4 ? rest[4..] : [];
                foreach (var b in reason)
                    if (b < 0x20 && b != '\t') throw new SipParseException("control character in reason phrase");
                if (!System.Text.Unicode.Utf8.IsValid(reason)) throw new SipParseException("invalid UTF-8 in reason phrase");
                return new SipResponse(code, Encoding.UTF8.GetString(reason)) { Version = version };
            }

            // Request-Line = Method SP Request-URI SP SIP-Version (§7.1): exactly one SP each.
            var sp1 = line.IndexOf((byte)' ');
            if (sp1 <= 0) throw new SipParseException("expected 'Method SP Request-URI SP SIP-Version'");
            var method = line[..sp1];
            if (!SipGrammar.IsToken(method)) throw new SipParseException("invalid method");
            var afterMethod = line[(sp1 + 1)..];
            var sp2 = afterMethod.IndexOf((byte)' ');
            if (sp2 <= 0) throw new SipParseException("expected 'Method SP Request-URI SP SIP-Version'");
            var uri = SipUri.Parse(afterMethod[..sp2]);
            if (uri.Headers.Count > 0) throw new SipParseException("headers are not allowed in a Request-URI (§19.1.1)");
            var versionBytes = afterMethod[(sp2 + 1)..];
            if (versionBytes.IndexOfAny((byte)' ', (byte)'\t') >= 0) throw new SipParseException("whitespace inside the Request-URI or after the version");
            return new SipRequest(Encoding.ASCII.GetString(method), uri) { Version = ParseVersion(versionBytes) };
        }
        catch (SipParseException e) when (e.Line == 0)
        {
            throw new SipParseException("start line: " + e.Reason, lineNo);
        }
    }

    /// <summary>SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT (§25.1).</summary>
    private static string ParseVersion(ReadOnlySpan<byte> s)
    {
        if (s.Length < 7 || !Ascii.EqualsIgnoreCase(s[..4], "SIP/"u8)) throw new SipParseException("invalid SIP version");
        var dot = s.IndexOf((byte)'.');
        if (dot <= 4 || dot == s.Length - 1) throw new SipParseException("invalid SIP version");
        foreach (var b in s[4..dot]) if (!SipGrammar.IsDigit(b)) throw new SipParseException("invalid SIP version");
        foreach (var b in s[(dot + 1)..]) if (!SipGrammar.IsDigit(b)) throw new SipParseException("invalid SIP version");
        return "SIP/" + Encoding.ASCII.GetString(s[4..]);
    }

    /// <summary>
    /// Checks what every element needs before it can process the message at all (§8.1.1, §8.2):
    /// the mandatory headers, once each and well-formed, and a CSeq method matching the request.
    /// </summary>
    private static void Validate(SipMessage m)
    {
        foreach (var name in (ReadOnlySpan<string>)[SipHeaderNames.To, SipHeaderNames.From, SipHeaderNames.CallId, SipHeaderNames.CSeq])
        {
            var count = m.Headers.CountOf(name);
            if (count == 0) throw new SipParseException("missing mandatory header", 0, name);
            if (count > 1) throw new SipParseException("header must appear once", m.Headers.GetAll(name).Skip(1).First().Line, name);
        }
        foreach (var name in (ReadOnlySpan<string>)[SipHeaderNames.MaxForwards, SipHeaderNames.ContentLength, SipHeaderNames.ContentType, SipHeaderNames.Expires])
            if (m.Headers.CountOf(name) > 1) throw new SipParseException("header must appear once", m.Headers.GetAll(name).Skip(1).First().Line, name);

        if (m.Headers.GetFirst(SipHeaderNames.CallId) is { } callId && (callId.RawValue.IsEmpty || callId.RawValue.Span.IndexOfAny(" \t"u8) >= 0))
            throw new SipParseException("invalid Call-ID", callId.Line, SipHeaderNames.CallId);
        if (m.Via.Count == 0) throw new SipParseException("missing mandatory header", 0, SipHeaderNames.Via);
        _ = m.From;
        _ = m.To;
        var cseq = m.CSeq;
        _ = m.MaxForwards;
        _ = m.ContentLength;
        if (m is SipRequest req && !string.Equals(cseq.Method, req.Method, StringComparison.Ordinal))
            throw new SipParseException($"CSeq method '{cseq.Method}' does not match the request method '{req.Method}'", m.Headers.GetFirst(SipHeaderNames.CSeq)!.Value.Line, SipHeaderNames.CSeq);
    }

    internal static string Describe(int value) => value.ToString(CultureInfo.InvariantCulture);
}
