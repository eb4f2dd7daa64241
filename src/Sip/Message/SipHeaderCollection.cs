using System.Collections;
using System.Text;

namespace Aggregators.Sip;

/// <summary>
/// One header field as received or set: its full name and its unfolded value bytes (parsed lazily by
/// the typed accessors of <see cref="SipMessage"/>).
/// </summary>
public readonly struct SipHeaderField(string name, ReadOnlyMemory<byte> rawValue, int line = 0)
{
    public string Name { get; } = name;
    public ReadOnlyMemory<byte> RawValue { get; } = rawValue;
    /// <summary>The line the field started on in the parsed message, 0 for fields set in code.</summary>
    public int Line { get; } = line;
    public string Value => Encoding.UTF8.GetString(RawValue.Span);
    public override string ToString() => $"{Name}: {Value}";
}

/// <summary>The header fields of a message, in order; names compare case-insensitively.</summary>
public sealed class SipHeaderCollection : IEnumerable<SipHeaderField>
{
    private readonly List<SipHeaderField> _fields;

    // Room for a typical request's fields at once (a NOTIFY has 11-12): no 4 → 8 → 16 regrowth per message.
    public SipHeaderCollection() => _fields = new(12);
    internal SipHeaderCollection(int capacity) => _fields = new(capacity);

    public int Count => _fields.Count;
    public SipHeaderField this[int index] => _fields[index];

    internal void AddParsed(SipHeaderField field) => _fields.Add(field);

    public void Add(string name, string value) => _fields.Add(Field(name, Encoding.UTF8.GetBytes(value)));

    public void Add(string name, ReadOnlyMemory<byte> value) => _fields.Add(Field(name, value));

    /// <summary>Inserts a field before all others of any name (e.g. a new top Via, §8.1.1.7).</summary>
    public void Prepend(string name, string value) => _fields.Insert(0, Field(name, Encoding.UTF8.GetBytes(value)));

    /// <summary>A field set in code: the name must be a token and the value one line (no header injection).</summary>
    private static SipHeaderField Field(string name, ReadOnlyMemory<byte> value)
    {
        if (!Parsing.SipGrammar.IsToken(name)) throw new ArgumentException($"'{name}' is not a header name", nameof(name));
        if (value.Span.IndexOfAny("\r\n\0"u8) >= 0) throw new ArgumentException("a header value cannot contain CR, LF or NUL", nameof(value));
        return new SipHeaderField(SipHeaderNames.Canonicalize(name), value);
    }

    /// <summary>Replaces every field of this name by one field with this value, at the first one's place.</summary>
    public void Set(string name, string value)
    {
        var field = Field(name, Encoding.UTF8.GetBytes(value));
        name = field.Name;
        var i = IndexOf(name);
        if (i < 0)
        {
            _fields.Add(field);
            return;
        }
        _fields[i] = field;
        for (var j = _fields.Count - 1; j > i; j--)
            if (NameIs(_fields[j], name)) _fields.RemoveAt(j);
    }

    public int Remove(string name)
    {
        name = SipHeaderNames.Canonicalize(name);
        return _fields.RemoveAll(f => NameIs(f, name));
    }

    public bool Contains(string name) => IndexOf(SipHeaderNames.Canonicalize(name)) >= 0;

    public SipHeaderField? GetFirst(string name)
    {
        var i = IndexOf(SipHeaderNames.Canonicalize(name));
        return i < 0 ? null : _fields[i];
    }

    public string? GetFirstValue(string name) => GetFirst(name)?.Value;

    public IEnumerable<SipHeaderField> GetAll(string name)
    {
        name = SipHeaderNames.Canonicalize(name);
        foreach (var f in _fields)
            if (NameIs(f, name)) yield return f;
    }

    internal int CountOf(string name)
    {
        var n = 0;
        foreach (var f in _fields)
            if (NameIs(f, name)) n++;
        return n;
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _fields.Count; i++)
            if (NameIs(_fields[i], name)) return i;
        return -1;
    }

    /// <summary>True when the field has this (canonical) name.</summary>
    internal static bool NameIs(SipHeaderField f, string name) =>
        ReferenceEquals(f.Name, name) || string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase);

    public List<SipHeaderField>.Enumerator GetEnumerator() => _fields.GetEnumerator();
    IEnumerator<SipHeaderField> IEnumerable<SipHeaderField>.GetEnumerator() => GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}
