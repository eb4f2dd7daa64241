using System.Globalization;
using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// A sequence set (RFC 3501 §9 sequence-set): ranges of message numbers or UIDs. <c>*</c> (the
/// largest number in use) is <see cref="uint.MaxValue"/>.
/// </summary>
public sealed class ImapSequenceSet
{
    public const uint Star = uint.MaxValue;

    public ImapSequenceSet(IReadOnlyList<(uint Start, uint End)> ranges)
    {
        ArgumentNullException.ThrowIfNull(ranges);
        if (ranges.Count == 0)
        {
            throw new ArgumentException("a sequence set needs at least one range", nameof(ranges));
        }
        foreach (var (s, e) in ranges)
        {
            if (s == 0 || e == 0)
            {
                throw new ArgumentException("sequence numbers and UIDs start at 1", nameof(ranges));
            }
        }
        Ranges = ranges;
    }

    public IReadOnlyList<(uint Start, uint End)> Ranges { get; }

    public static ImapSequenceSet Single(uint number) => new([(number, number)]);

    public static ImapSequenceSet Range(uint start, uint end) => new([(start, end)]);

    /// <summary>All numbers from <paramref name="start"/> to the largest one: "start:*".</summary>
    public static ImapSequenceSet From(uint start) => new([(start, Star)]);

    /// <summary>The numbers the set names, ascending, without <c>*</c> ranges; for small sets.</summary>
    public IEnumerable<uint> Enumerate()
    {
        foreach (var (s, e) in Ranges)
        {
            var (lo, hi) = s <= e ? (s, e) : (e, s);
            if (hi == Star)
            {
                continue;
            }
            for (var n = lo; n <= hi && n != 0; n++)
            {
                yield return n;
            }
        }
    }

    /// <summary>Parses "1:3,5,7:*"; throws <see cref="FormatException"/> on anything else.</summary>
    public static ImapSequenceSet Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ranges = new List<(uint, uint)>();
        foreach (var part in text.Split(','))
        {
            var colon = part.IndexOf(':', StringComparison.Ordinal);
            if (colon < 0)
            {
                var n = ParseNumber(part, text);
                ranges.Add((n, n));
            }
            else
            {
                ranges.Add((ParseNumber(part[..colon], text), ParseNumber(part[(colon + 1)..], text)));
            }
        }
        return new ImapSequenceSet(ranges);
    }

    private static uint ParseNumber(string s, string whole)
    {
        if (s == "*")
        {
            return Star;
        }
        // seq-number = nz-number / "*" (RFC 3501 §9): digits only, no sign, no leading zero.
        if (s.Length == 0 || s.Length > 10 || s[0] == '0' || !s.All(char.IsAsciiDigit)
            || !uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n == Star)
        {
            throw new FormatException($"invalid sequence set \"{whole}\"");
        }
        return n;
    }

    public override string ToString()
    {
        var sb = new StringBuilder();
        foreach (var (s, e) in Ranges)
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }
            Append(sb, s);
            if (s != e)
            {
                sb.Append(':');
                Append(sb, e);
            }
        }
        return sb.ToString();
    }

    private static void Append(StringBuilder sb, uint n)
    {
        if (n == Star)
        {
            sb.Append('*');
        }
        else
        {
            sb.Append(n);
        }
    }
}
