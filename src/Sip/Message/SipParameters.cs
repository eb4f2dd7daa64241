using System.Text;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip;

/// <summary>One generic-param (§25.1): a name, an optional value, and whether the value was a quoted-string.</summary>
public readonly record struct SipParameter(string Name, string? Value, bool IsQuoted = false);

/// <summary>An ordered list of parameters with case-insensitive names (§7.3.1, §19.1.4).</summary>
public sealed class SipParameters : IEquatable<SipParameters>
{
    private readonly List<SipParameter> _items = [];

    public int Count => _items.Count;
    public IReadOnlyList<SipParameter> Items => _items;

    public bool Contains(string name) => IndexOf(name) >= 0;

    /// <summary>The value of the named parameter; null when absent or valueless.</summary>
    public string? this[string name] => IndexOf(name) is var i and >= 0 ? _items[i].Value : null;

    public void Set(string name, string? value, bool quoted = false)
    {
        var i = IndexOf(name);
        var p = new SipParameter(name, value, quoted);
        if (i >= 0) _items[i] = p;
        else _items.Add(p);
    }

    public void Add(SipParameter p) => _items.Add(p);

    public bool Remove(string name)
    {
        var i = IndexOf(name);
        if (i < 0) return false;
        _items.RemoveAt(i);
        return true;
    }

    private int IndexOf(string name)
    {
        for (var i = 0; i < _items.Count; i++)
            if (string.Equals(_items[i].Name, name, StringComparison.OrdinalIgnoreCase)) return i;
        return -1;
    }

    /// <summary>Writes *( SEMI generic-param ).</summary>
    internal void WriteTo(StringBuilder sb, char separator = ';')
    {
        foreach (var p in _items)
        {
            sb.Append(separator).Append(p.Name);
            if (p.Value is null) continue;
            sb.Append('=');
            if (p.IsQuoted || !SipGrammar.IsTokenOrHost(p.Value)) AppendQuoted(sb, p.Value);
            else sb.Append(p.Value);
        }
    }

    internal static void AppendQuoted(StringBuilder sb, string value)
    {
        sb.Append('"');
        foreach (var c in value)
        {
            if (c is '"' or '\\') sb.Append('\\');
            sb.Append(c);
        }
        sb.Append('"');
    }

    /// <summary>Parses *( SEMI generic-param ) up to the end or a character that is not ';'.</summary>
    internal static void ParseGeneric(ref SipReader r, SipParameters into)
    {
        while (r.TryConsumeSeparator((byte)';'))
        {
            var name = r.ReadTokenString("parameter name");
            if (!r.TryConsumeSeparator((byte)'='))
            {
                into.Add(new SipParameter(name, null));
                continue;
            }
            if (r.Peek() == '"')
            {
                into.Add(new SipParameter(name, r.ReadQuotedString(), true));
                continue;
            }
            // gen-value = token / host (host may be an IPv6 reference)
            string value;
            if (r.Peek() == '[')
            {
                var v = r.ReadWhile(static b => b != ']' && !SipGrammar.IsWhitespace(b) && b != ';' && b != ',');
                r.Expect((byte)']', "']' closing an IPv6 reference");
                value = Encoding.ASCII.GetString(v) + "]";
                if (!SipGrammar.IsTokenOrHost(value)) throw r.Error($"invalid value of parameter '{name}'");
            }
            else
            {
                // token, or an IPv6address as in via-received (§25.1)
                var v = r.ReadWhile(static b => SipGrammar.IsToken(b) || b == (byte)':');
                if (v.IsEmpty) throw r.Error($"expected value of parameter '{name}'");
                value = Encoding.ASCII.GetString(v);
                if (v.IndexOf((byte)':') >= 0 && !SipGrammar.IsTokenOrHost(value)) throw r.Error($"invalid value of parameter '{name}'");
            }
            into.Add(new SipParameter(name, value));
        }
    }

    public bool Equals(SipParameters? other)
    {
        if (other is null || other.Count != Count) return false;
        for (var i = 0; i < _items.Count; i++)
        {
            var a = _items[i];
            var b = other._items[i];
            if (!string.Equals(a.Name, b.Name, StringComparison.OrdinalIgnoreCase) || a.Value != b.Value) return false;
        }
        return true;
    }

    public override bool Equals(object? obj) => Equals(obj as SipParameters);
    public override int GetHashCode() => Count;

    public override string ToString()
    {
        var sb = new StringBuilder();
        WriteTo(sb);
        return sb.ToString();
    }
}
