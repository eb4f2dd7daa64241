using System.Text;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// The XML parser's input: the text of the pieces the <see cref="StanzaFramer"/> found
/// complete, and nothing more. The parser reads synchronously from it; it is only asked for a
/// node once a whole piece is here, so running dry (Read returns 0, which the parser takes for
/// the end of the document) happens only for input that is not well-formed anyway.
/// </summary>
internal sealed class PieceTextReader : TextReader
{
    private static readonly UTF8Encoding Utf8 = new(false, throwOnInvalidBytes: true);
    private char[] _chars = new char[4096];
    private int _position;
    private int _length;

    /// <summary>Chars handed over but not read yet.</summary>
    public int Available => _length - _position;

    /// <summary>Appends a piece (valid UTF-8 ending on a character boundary: the framer checked).</summary>
    public void Append(ReadOnlySpan<byte> piece)
    {
        if (_position > 0)
        {
            _chars.AsSpan(_position, _length - _position).CopyTo(_chars);
            _length -= _position;
            _position = 0;
        }
        var needed = _length + Utf8.GetMaxCharCount(piece.Length);
        if (needed > _chars.Length)
        {
            Array.Resize(ref _chars, Math.Max(needed, _chars.Length * 2));
        }
        _length += Utf8.GetChars(piece, _chars.AsSpan(_length));
    }

    public override int Peek() => _position < _length ? _chars[_position] : -1;

    public override int Read() => _position < _length ? _chars[_position++] : -1;

    public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

    public override int Read(Span<char> buffer)
    {
        var n = Math.Min(buffer.Length, _length - _position);
        _chars.AsSpan(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    public override int ReadBlock(char[] buffer, int index, int count) => Read(buffer, index, count);
}
