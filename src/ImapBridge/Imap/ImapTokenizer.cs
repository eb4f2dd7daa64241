using System.Buffers;
using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Reads the lexical elements of one complete response (RFC 3501 §9 formal syntax) from a
/// contiguous span: atoms, numbers, quoted strings, literals, NIL and parenthesised lists.
/// Strings are materialised only by the methods that return them; everything else is a span.
/// Every violation throws <see cref="ImapProtocolException"/> naming what was expected and where.
/// </summary>
internal ref struct ImapTokenizer
{
    private static readonly Encoding s_utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    // ATOM-CHAR: any CHAR (%x01-7F) except atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]".
    private static readonly SearchValues<byte> s_atomChars = SearchValues.Create(
        "!#$&'+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[^_`abcdefghijklmnopqrstuvwxyz|}~"u8);

    // ASTRING-CHAR = ATOM-CHAR / resp-specials ("]").
    private static readonly SearchValues<byte> s_astringChars = SearchValues.Create(
        "!#$&'+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[]^_`abcdefghijklmnopqrstuvwxyz|}~"u8);

    private static readonly SearchValues<byte> s_codeTextStops = SearchValues.Create("]\r\n\0"u8);

    private readonly ReadOnlySpan<byte> _s;
    private readonly ImapLimits _limits;
    private int _pos;
    private int _depth;

    public ImapTokenizer(ReadOnlySpan<byte> response, ImapLimits limits)
    {
        _s = response;
        _limits = limits;
        _pos = 0;
        _depth = 0;
    }

    public readonly int Position => _pos;

    /// <summary>Goes back to an earlier <see cref="Position"/> (to re-read a token another way).</summary>
    public void Rewind(int position) => _pos = position;

    /// <summary>The next byte, or 0 at the end of the data.</summary>
    public readonly byte Peek() => _pos < _s.Length ? _s[_pos] : (byte)0;

    public readonly byte PeekAt(int ahead) => _pos + ahead < _s.Length ? _s[_pos + ahead] : (byte)0;

    /// <summary>True when the next bytes are the CRLF that ends the response.</summary>
    public readonly bool AtEnd => _pos + 2 == _s.Length && _s[_pos] == '\r' && _s[_pos + 1] == '\n';

    /// <summary>True at the final CRLF or at a ")" (the end of the enclosing list).</summary>
    public readonly bool AtEndOrClose => AtEnd || Peek() == ')';

    public readonly ImapProtocolException Error(string what)
    {
        var from = Math.Max(0, _pos - 20);
        var to = Math.Min(_s.Length, _pos + 20);
        var sb = new StringBuilder();
        for (var i = from; i < to; i++)
        {
            if (i == _pos)
            {
                sb.Append('▶');
            }
            var b = _s[i];
            sb.Append(b switch
            {
                (byte)'\r' => "\\r",
                (byte)'\n' => "\\n",
                < 0x20 or >= 0x7F => $"\\x{b:X2}",
                _ => ((char)b).ToString(),
            });
        }
        if (_pos >= to)
        {
            sb.Append('▶');
        }
        return new ImapProtocolException(what, _pos, sb.ToString());
    }

    public bool TryConsume(byte b)
    {
        if (Peek() == b && _pos < _s.Length)
        {
            _pos++;
            return true;
        }
        return false;
    }

    public void Expect(byte b, string what)
    {
        if (!TryConsume(b))
        {
            throw Error($"expected {what}");
        }
    }

    public void Space() => Expect((byte)' ', "SP");

    /// <summary>Consumes the final CRLF; anything else left over is an error.</summary>
    public void End()
    {
        if (!AtEnd)
        {
            throw Error(_pos < _s.Length ? "expected CRLF (unexpected data)" : "expected CRLF");
        }
        _pos += 2;
    }

    /// <summary>1*ATOM-CHAR.</summary>
    public ReadOnlySpan<byte> Atom() => Run(s_atomChars, "atom");

    /// <summary>1*ASTRING-CHAR (atoms that may contain "]").</summary>
    public ReadOnlySpan<byte> AStringAtom() => Run(s_astringChars, "atom");

    private ReadOnlySpan<byte> Run(SearchValues<byte> chars, string what)
    {
        var rest = _s[_pos..];
        var n = rest.IndexOfAnyExcept(chars);
        if (n < 0)
        {
            n = rest.Length;
        }
        if (n == 0)
        {
            throw Error(Peek() == 0 && _pos < _s.Length ? $"NUL byte where {what} expected" : $"expected {what}");
        }
        _pos += n;
        return rest[..n];
    }

    public string AtomString() => Encoding.ASCII.GetString(Atom());

    /// <summary>Consumes NIL (case-insensitive) when it is the next token.</summary>
    public bool TryNil()
    {
        if (_pos + 3 <= _s.Length && Ascii.EqualsIgnoreCase(_s.Slice(_pos, 3), "NIL"u8)
            && (_pos + 3 == _s.Length || !s_astringChars.Contains(_s[_pos + 3])))
        {
            _pos += 3;
            return true;
        }
        return false;
    }

    /// <summary>number (RFC 3501 §9): unsigned 32-bit.</summary>
    public uint Number() => (uint)Digits(uint.MaxValue, "number (32-bit)");

    /// <summary>nz-number: 1..4294967295.</summary>
    public uint NzNumber()
    {
        var at = _pos;
        var n = Number();
        if (n == 0)
        {
            _pos = at;
            throw Error("expected non-zero number");
        }
        return n;
    }

    /// <summary>number64 / mod-sequence-value (RFC 9051 §9, RFC 7162 §7): 0..2^63-1.</summary>
    public long Number64() => (long)Digits(long.MaxValue, "number (63-bit)");

    private ulong Digits(ulong max, string what)
    {
        var start = _pos;
        ulong value = 0;
        while (_pos < _s.Length && char.IsAsciiDigit((char)_s[_pos]))
        {
            var d = (ulong)(_s[_pos] - '0');
            if (value > (max - d) / 10)
            {
                throw Error($"{what} out of range");
            }
            value = (value * 10) + d;
            _pos++;
        }
        if (_pos == start)
        {
            throw Error($"expected {what}");
        }
        return value;
    }

    public readonly bool PeekDigit() => char.IsAsciiDigit((char)Peek());

    /// <summary>string = quoted / literal (RFC 3501 §9), as UTF-8 text.</summary>
    public string String()
    {
        var b = Peek();
        if (b == '"')
        {
            return Quoted();
        }
        if (b == '{' || (b == '~' && PeekAt(1) == '{'))
        {
            return s_utf8.GetString(Literal());
        }
        throw Error("expected string");
    }

    /// <summary>nstring = string / NIL.</summary>
    public string? NString() => TryNil() ? null : String();

    /// <summary>astring = 1*ASTRING-CHAR / string.</summary>
    public string AString()
    {
        var b = Peek();
        if (b is (byte)'"' or (byte)'{' || (b == '~' && PeekAt(1) == '{'))
        {
            return String();
        }
        return Encoding.ASCII.GetString(AStringAtom());
    }

    /// <summary>quoted = DQUOTE *QUOTED-CHAR DQUOTE; only "\"" and "\\" may be escaped.</summary>
    public string Quoted()
    {
        Expect((byte)'"', "'\"'");
        var start = _pos;
        var escapes = 0;
        while (true)
        {
            if (_pos >= _s.Length)
            {
                throw Error("unterminated quoted string");
            }
            var b = _s[_pos];
            if (b == '"')
            {
                break;
            }
            if (b is (byte)'\r' or (byte)'\n' or 0)
            {
                throw Error(b == 0 ? "NUL byte in quoted string" : "CR or LF in quoted string");
            }
            if (b == '\\')
            {
                var next = PeekAt(1);
                if (next is not ((byte)'"' or (byte)'\\'))
                {
                    throw Error("invalid escape in quoted string (only \\\" and \\\\ are allowed)");
                }
                escapes++;
                _pos++;
            }
            _pos++;
        }
        var raw = _s[start.._pos];
        _pos++;
        if (escapes == 0)
        {
            return s_utf8.GetString(raw);
        }
        var unescaped = raw.Length <= 256 ? stackalloc byte[raw.Length] : new byte[raw.Length];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\')
            {
                i++;
            }
            unescaped[n++] = raw[i];
        }
        return s_utf8.GetString(unescaped[..n]);
    }

    /// <summary>literal = "{" number "}" CRLF *CHAR8, or literal8 = "~{" number "}" CRLF *OCTET (RFC 3516).</summary>
    public ReadOnlySpan<byte> Literal()
    {
        var binary = TryConsume((byte)'~');
        Expect((byte)'{', "'{'");
        var size = Number64();
        if (size > _limits.MaxLiteralSize)
        {
            throw Error($"literal of {size} bytes exceeds the limit of {_limits.MaxLiteralSize} bytes");
        }
        Expect((byte)'}', "'}' (a server literal has no '+')");
        Expect((byte)'\r', "CRLF after the literal size");
        Expect((byte)'\n', "CRLF after the literal size");
        if (_s.Length - _pos < size)
        {
            throw Error($"literal truncated: {size} bytes announced, {_s.Length - _pos} present");
        }
        var data = _s.Slice(_pos, (int)size);
        if (!binary && data.Contains((byte)0))
        {
            _pos += data.IndexOf((byte)0);
            throw Error("NUL byte in a literal (CHAR8 excludes it; only literal8 may carry it)");
        }
        _pos += (int)size;
        return data;
    }

    /// <summary>text = *TEXT-CHAR up to the final CRLF (RFC 9051 allows UTF-8 and empty text).</summary>
    public string Text()
    {
        var rest = _s[_pos..];
        var n = rest.IndexOfAny((byte)'\r', (byte)'\n', (byte)0);
        if (n < 0)
        {
            throw Error("expected CRLF at the end of the text");
        }
        if (rest[n] == 0)
        {
            _pos += n;
            throw Error("NUL byte in text");
        }
        _pos += n;
        return n == 0 ? "" : s_utf8.GetString(rest[..n]);
    }

    /// <summary>1*&lt;any TEXT-CHAR except "]"&gt;: the argument of a response code we have no syntax for.</summary>
    public string CodeText()
    {
        var rest = _s[_pos..];
        var n = rest.IndexOfAny(s_codeTextStops);
        if (n < 0)
        {
            n = rest.Length;
        }
        if (n < rest.Length && rest[n] == 0)
        {
            _pos += n;
            throw Error("NUL byte in a response code");
        }
        if (n == 0)
        {
            throw Error("expected response code text");
        }
        _pos += n;
        return s_utf8.GetString(rest[..n]);
    }

    /// <summary>flag = "\" atom / atom, plus "\*" (flag-perm, RFC 3501 §9).</summary>
    public string Flag()
    {
        var start = _pos;
        if (TryConsume((byte)'\\'))
        {
            if (TryConsume((byte)'*'))
            {
                return "\\*";
            }
        }
        Atom();
        var flag = _s[start.._pos];
        // The system flags (RFC 3501 §2.3.2) come back as shared strings: no allocation for them.
        foreach (var known in s_systemFlags)
        {
            if (flag.Length == known.Length && Ascii.EqualsIgnoreCase(flag, known))
            {
                return known;
            }
        }
        return Encoding.ASCII.GetString(flag);
    }

    private static readonly string[] s_systemFlags =
        ["\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "\\Recent",
         "\\Noselect", "\\HasChildren", "\\HasNoChildren", "\\Subscribed", "\\NonExistent", "\\Noinferiors", "\\Marked", "\\Unmarked"];

    /// <summary>"(" [flag *(SP flag)] ")".</summary>
    public List<string> FlagList()
    {
        var flags = new List<string>();
        Open();
        while (!TryConsume((byte)')'))
        {
            if (flags.Count > 0)
            {
                Space();
            }
            flags.Add(Flag());
        }
        _depth--;
        return flags;
    }

    /// <summary>Consumes "(" and checks the nesting limit; pair with <see cref="Close"/>.</summary>
    public void Open()
    {
        Expect((byte)'(', "'('");
        if (++_depth > _limits.MaxNesting)
        {
            throw Error($"parentheses nested deeper than the limit of {_limits.MaxNesting}");
        }
    }

    /// <summary>Leaves a list whose ")" was already consumed by a TryConsume loop.</summary>
    public void Close0() => _depth--;

    public void Close()
    {
        Expect((byte)')', "')'");
        _depth--;
    }

    /// <summary>Any value: NIL, number, atom (flags and bracketed sections included), string or list.</summary>
    public ImapValue Value()
    {
        var b = Peek();
        switch (b)
        {
            case (byte)'(':
                {
                    Open();
                    var items = new List<ImapValue>();
                    while (!TryConsume((byte)')'))
                    {
                        if (items.Count > 0)
                        {
                            Space();
                        }
                        items.Add(Value());
                    }
                    _depth--;
                    return ImapValue.List(items);
                }
            case (byte)'"':
            case (byte)'{':
                return ImapValue.String(String());
            case (byte)'~' when PeekAt(1) == '{':
                return ImapValue.String(String());
            case (byte)'\\':
                return ImapValue.Atom(Flag());
        }
        if (TryNil())
        {
            return ImapValue.Nil;
        }
        if (char.IsAsciiDigit((char)b))
        {
            var start = _pos;
            while (char.IsAsciiDigit((char)Peek()))
            {
                _pos++;
            }
            // All-digit tokens are numbers; digits followed by atom chars are atoms (e.g. "1:3").
            if (!s_astringChars.Contains(Peek()) || Peek() == 0)
            {
                _pos = start;
                return ImapValue.FromNumber(Number64());
            }
            _pos = start;
        }
        return ImapValue.Atom(Encoding.ASCII.GetString(AStringAtom()));
    }

    /// <summary>Skips one value of any kind (for items we do not model).</summary>
    public void SkipValue() => Value();
}
