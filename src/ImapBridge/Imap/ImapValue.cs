using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>Kinds of a generic IMAP value (RFC 3501 §4).</summary>
public enum ImapValueKind
{
    Nil,
    Atom,
    Number,
    String,
    List,
}

/// <summary>
/// A generic IMAP data item, used where no typed model exists (unknown response codes, FETCH
/// items, LIST extended data). Atoms and strings are held as text, numbers as 64-bit values.
/// </summary>
public sealed class ImapValue
{
    public static readonly ImapValue Nil = new(ImapValueKind.Nil, null, 0, null);

    private ImapValue(ImapValueKind kind, string? text, long number, IReadOnlyList<ImapValue>? items)
    {
        Kind = kind;
        Text = text;
        Number = number;
        Items = items;
    }

    public ImapValueKind Kind { get; }

    /// <summary>The atom or the string's content; null for NIL, numbers and lists.</summary>
    public string? Text { get; }

    public long Number { get; }

    /// <summary>The elements of a parenthesised list; null for other kinds.</summary>
    public IReadOnlyList<ImapValue>? Items { get; }

    public static ImapValue Atom(string text) => new(ImapValueKind.Atom, text, 0, null);

    public static ImapValue String(string text) => new(ImapValueKind.String, text, 0, null);

    public static ImapValue FromNumber(long number) => new(ImapValueKind.Number, null, number, null);

    public static ImapValue List(IReadOnlyList<ImapValue> items) => new(ImapValueKind.List, null, 0, items);

    /// <summary>Text of an atom, string or number (as decimal); null otherwise.</summary>
    public string? AsText() => Kind switch
    {
        ImapValueKind.Atom or ImapValueKind.String => Text,
        ImapValueKind.Number => Number.ToString(System.Globalization.CultureInfo.InvariantCulture),
        _ => null,
    };

    /// <summary>IMAP syntax of the value (strings always quoted), for logs and diagnostics.</summary>
    public override string ToString()
    {
        var sb = new StringBuilder();
        Append(sb);
        return sb.ToString();
    }

    private void Append(StringBuilder sb)
    {
        switch (Kind)
        {
            case ImapValueKind.Nil:
                sb.Append("NIL");
                break;
            case ImapValueKind.Atom:
                sb.Append(Text);
                break;
            case ImapValueKind.Number:
                sb.Append(Number);
                break;
            case ImapValueKind.String:
                sb.Append('"').Append(Text!.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)).Append('"');
                break;
            case ImapValueKind.List:
                sb.Append('(');
                for (var i = 0; i < Items!.Count; i++)
                {
                    if (i > 0)
                    {
                        sb.Append(' ');
                    }
                    Items[i].Append(sb);
                }
                sb.Append(')');
                break;
        }
    }
}
