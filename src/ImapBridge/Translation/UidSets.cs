using System.Globalization;
using System.Text;

namespace Aggregators.ImapBridge.Translation;

/// <summary>UIDs as an RFC 3501 §9 sequence-set, compact ("3,5:7").</summary>
public static class UidSets
{
    public static string Format(IEnumerable<uint> uids)
    {
        var sorted = uids.Where(u => u != 0).Distinct().Order().ToArray();
        if (sorted.Length == 0)
        {
            throw new ArgumentException("no UIDs", nameof(uids));
        }
        var sb = new StringBuilder();
        var start = sorted[0];
        var end = start;
        for (var i = 1; i <= sorted.Length; i++)
        {
            if (i < sorted.Length && sorted[i] == end + 1)
            {
                end = sorted[i];
                continue;
            }
            if (sb.Length > 0)
            {
                sb.Append(',');
            }
            sb.Append(start.ToString(CultureInfo.InvariantCulture));
            if (end != start)
            {
                sb.Append(':').Append(end.ToString(CultureInfo.InvariantCulture));
            }
            if (i < sorted.Length)
            {
                start = end = sorted[i];
            }
        }
        return sb.ToString();
    }

    /// <summary>The range first..last (inclusive) as "first" or "first:last".</summary>
    public static string Range(uint first, uint last) =>
        first == last
            ? first.ToString(CultureInfo.InvariantCulture)
            : string.Create(CultureInfo.InvariantCulture, $"{first}:{last}");
}
