using System.Text;
using System.Text.Unicode;

namespace Aggregators.Sip.Parsing;

/// <summary>
/// A cursor over one unfolded header value (or URI) in bytes. Throws only
/// <see cref="SipParseException"/>.
/// </summary>
internal ref struct SipReader
{
    private readonly ReadOnlySpan<byte> _s;
    private int _pos;

    public SipReader(ReadOnlySpan<byte> s)
    {
        _s = s;
        _pos = 0;
    }

    public readonly bool End => _pos >= _s.Length;
    public readonly int Position => _pos;
    public readonly ReadOnlySpan<byte> Rest => _s[_pos..];
    public readonly int Peek() => _pos < _s.Length ? _s[_pos] : -1;

    public void Advance(int n) => _pos += n;

    public void SkipWhitespace()
    {
        while (_pos < _s.Length && SipGrammar.IsWhitespace(_s[_pos])) _pos++;
    }

    public bool TryConsume(byte b)
    {
        if (_pos < _s.Length && _s[_pos] == b)
        {
            _pos++;
            return true;
        }
        return false;
    }

    /// <summary>Consumes optional whitespace, the separator, optional whitespace (SEMI, EQUAL, COMMA, SLASH, COLON of §25.1).</summary>
    public bool TryConsumeSeparator(byte b)
    {
        var save = _pos;
        SkipWhitespace();
        if (TryConsume(b))
        {
            SkipWhitespace();
            return true;
        }
        _pos = save;
        return false;
    }

    public void Expect(byte b, string what)
    {
        if (!TryConsume(b)) throw Error($"expected {what}");
    }

    public ReadOnlySpan<byte> ReadToken(string what)
    {
        var start = _pos;
        while (_pos < _s.Length && SipGrammar.IsToken(_s[_pos])) _pos++;
        if (_pos == start) throw Error($"expected {what}");
        return _s[start.._pos];
    }

    public string ReadTokenString(string what) => Encoding.ASCII.GetString(ReadToken(what));

    public ReadOnlySpan<byte> ReadDigits(string what)
    {
        var start = _pos;
        while (_pos < _s.Length && SipGrammar.IsDigit(_s[_pos])) _pos++;
        if (_pos == start) throw Error($"expected {what}");
        return _s[start.._pos];
    }

    public ReadOnlySpan<byte> ReadWhile(Func<byte, bool> accept)
    {
        var start = _pos;
        while (_pos < _s.Length && accept(_s[_pos])) _pos++;
        return _s[start.._pos];
    }

    /// <summary>quoted-string = DQUOTE *(qdtext / quoted-pair) DQUOTE (§25.1); returns the unescaped text.</summary>
    public string ReadQuotedString()
    {
        Expect((byte)'"', "'\"'");
        var start = _pos;
        var escaped = false;
        while (true)
        {
            if (_pos >= _s.Length) throw Error("unterminated quoted string");
            var b = _s[_pos];
            if (b == '"') break;
            if (b == '\\')
            {
                // quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F)
                if (_pos + 1 >= _s.Length || _s[_pos + 1] is (byte)'\r' or (byte)'\n' or > 0x7F)
                    throw Error("invalid quoted-pair");
                escaped = true;
                _pos += 2;
                continue;
            }
            if (b < 0x20 && b != '\t') throw Error("control character in quoted string");
            if (b == 0x7F) throw Error("control character in quoted string");
            _pos++;
        }
        var raw = _s[start.._pos];
        _pos++;
        if (!Utf8.IsValid(raw)) throw Error("invalid UTF-8 in quoted string");
        if (!escaped) return Encoding.UTF8.GetString(raw);
        var buf = new byte[raw.Length];
        var n = 0;
        for (var i = 0; i < raw.Length; i++)
        {
            if (raw[i] == '\\') i++;
            buf[n++] = raw[i];
        }
        return Encoding.UTF8.GetString(buf, 0, n);
    }

    public readonly SipParseException Error(string reason) => new(reason);
}
