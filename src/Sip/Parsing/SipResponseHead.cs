using System.Text;

namespace Aggregators.Sip.Parsing;

/// <summary>
/// What a client transaction matches a response by (RFC 3261 §17.1.3: the top Via's branch and the
/// CSeq method) and what a transaction user that only needs the outcome reads (the status code),
/// taken from the raw bytes without building a <see cref="SipResponse"/>. Anything unusual — folded
/// lines, compact or repeated CSeq, quotes in the top Via, a missing branch — makes
/// <see cref="TryRead"/> return false, and the caller parses the message fully instead, so this
/// never accepts what the full parser would reject in those headers.
/// </summary>
public readonly ref struct SipResponseHead
{
    private SipResponseHead(int statusCode, ReadOnlySpan<byte> branch, uint sequence, ReadOnlySpan<byte> method)
    {
        StatusCode = statusCode;
        Branch = branch;
        Sequence = sequence;
        Method = method;
    }

    public int StatusCode { get; }

    /// <summary>The top Via's branch parameter value, as received.</summary>
    public ReadOnlySpan<byte> Branch { get; }

    public uint Sequence { get; }

    /// <summary>The CSeq method, as received (case-sensitive, §20.16).</summary>
    public ReadOnlySpan<byte> Method { get; }

    /// <summary>The CSeq method as one of the <see cref="SipMethods"/> constants, else a new string.</summary>
    public string MethodName()
    {
        foreach (var m in (ReadOnlySpan<string>)[SipMethods.Notify, SipMethods.Message, SipMethods.Subscribe, SipMethods.Options, SipMethods.Register])
        {
            if (Method.Length == m.Length && Ascii.Equals(Method, m)) return m;
        }
        return Encoding.ASCII.GetString(Method);
    }

    /// <summary>Reads a datagram (or a framed stream message) that is a response; false when it is not one or is not plain.</summary>
    public static bool TryRead(ReadOnlySpan<byte> message, SipParserLimits limits, out SipResponseHead head)
    {
        head = default;
        if (message.Length > limits.MaxMessageSize) return false;
        message = message[SipMessageParser.SkipLeadingCrlf(message)..];
        var end = message.IndexOf("\r\n\r\n"u8);
        if (end < 0 || end + 4 > limits.MaxHeaderSectionSize) return false;
        var section = message[..(end + 2)]; // every line with its CRLF

        // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (§7.2)
        var eol = section.IndexOf("\r\n"u8);
        var line = section[..eol];
        if (line.Length < 12 || !Ascii.EqualsIgnoreCase(line[..8], "SIP/2.0 "u8) || line[11] != ' ') return false;
        if (!SipGrammar.IsDigit(line[8]) || !SipGrammar.IsDigit(line[9]) || !SipGrammar.IsDigit(line[10])) return false;
        var status = (line[8] - '0') * 100 + (line[9] - '0') * 10 + (line[10] - '0');
        if (status is < 100 or > 699) return false;
        section = section[(eol + 2)..];

        ReadOnlySpan<byte> branch = default;
        ReadOnlySpan<byte> method = default;
        uint sequence = 0;
        bool sawVia = false, sawCSeq = false;
        while (!section.IsEmpty)
        {
            eol = section.IndexOf("\r\n"u8);
            line = section[..eol];
            section = section[(eol + 2)..];
            if (line.IsEmpty || SipGrammar.IsWhitespace(line[0]) || line.IndexOfAny((byte)'\r', (byte)'\n', (byte)0) >= 0) return false; // folding, bare CR/LF, NUL: full parse
            var colon = line.IndexOf((byte)':');
            if (colon <= 0) return false;
            var name = line[..colon].TrimEnd(" \t"u8);
            var value = line[(colon + 1)..].Trim(" \t"u8);
            if (Ascii.EqualsIgnoreCase(name, "CSeq"u8))
            {
                if (sawCSeq || !TryReadCSeq(value, out sequence, out method)) return false;
                sawCSeq = true;
            }
            else if (!sawVia && (Ascii.EqualsIgnoreCase(name, "Via"u8) || Ascii.EqualsIgnoreCase(name, "v"u8)))
            {
                if (!TryReadBranch(value, out branch)) return false;
                sawVia = true;
            }
        }
        if (!sawVia || !sawCSeq) return false;
        head = new SipResponseHead(status, branch, sequence, method);
        return true;
    }

    // CSeq = 1*DIGIT LWS Method (§20.16), the number below 2**31 (§8.1.1.5).
    private static bool TryReadCSeq(ReadOnlySpan<byte> value, out uint sequence, out ReadOnlySpan<byte> method)
    {
        sequence = 0;
        method = default;
        var i = 0;
        while (i < value.Length && SipGrammar.IsDigit(value[i]))
        {
            sequence = sequence * 10 + (uint)(value[i] - '0');
            if (++i > 10 || sequence >= 1u << 31) return false;
        }
        if (i == 0) return false;
        var rest = value[i..];
        var trimmed = rest.TrimStart(" \t"u8);
        if (trimmed.Length == rest.Length || trimmed.IsEmpty || !SipGrammar.IsToken(trimmed)) return false;
        method = trimmed;
        return true;
    }

    // The first via-parm's branch (§20.42): up to the first comma; quoted strings mean a full parse.
    internal static bool TryReadBranch(ReadOnlySpan<byte> value, out ReadOnlySpan<byte> branch)
    {
        branch = default;
        if (value.IndexOf((byte)'"') >= 0) return false;
        var comma = value.IndexOf((byte)',');
        var via = comma >= 0 ? value[..comma] : value;
        var semi = via.IndexOf((byte)';');
        if (semi < 0) return false;
        var parameters = via[(semi + 1)..];
        while (true)
        {
            var next = parameters.IndexOf((byte)';');
            var p = (next >= 0 ? parameters[..next] : parameters).Trim(" \t"u8);
            var eq = p.IndexOf((byte)'=');
            if (eq > 0 && Ascii.EqualsIgnoreCase(p[..eq].TrimEnd(" \t"u8), "branch"u8))
            {
                branch = p[(eq + 1)..].TrimStart(" \t"u8);
                return !branch.IsEmpty && SipGrammar.IsToken(branch);
            }
            if (next < 0) return false;
            parameters = parameters[(next + 1)..];
        }
    }
}
