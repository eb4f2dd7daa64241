using System.Globalization;

namespace Aggregators.EventModel;

/// <summary>Small pieces of RFC 3501 §9 syntax that event parameters reuse.</summary>
public static class ImapSyntax
{
    /// <summary>
    /// RFC 3501 §9: flag = "\" atom (system flags and flag-extension) / flag-keyword (atom).
    /// atom = 1*ATOM-CHAR, ATOM-CHAR = any CHAR except atom-specials
    /// ("(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]"). "\*" is a flag-perm, not a flag.
    /// </summary>
    public static bool IsFlag(ReadOnlySpan<char> flag)
    {
        if (flag.IsEmpty)
        {
            return false;
        }
        var atom = flag[0] == '\\' ? flag[1..] : flag;
        if (atom.IsEmpty)
        {
            return false;
        }
        foreach (var c in atom)
        {
            if (!IsAtomChar(c))
            {
                return false;
            }
        }
        return true;
    }

    public static bool IsAtomChar(char c) =>
        c is > ' ' and < (char)0x7F and not ('(' or ')' or '{' or '%' or '*' or '"' or '\\' or ']');

    /// <summary>
    /// RFC 3501 §9 sequence-set of UIDs: (seq-number / seq-range) *("," ...), seq-number =
    /// nz-number / "*", seq-range = seq-number ":" seq-number, nz-number at most 4294967295.
    /// </summary>
    public static bool IsSequenceSet(ReadOnlySpan<char> text, out string? error)
    {
        if (text.IsEmpty)
        {
            error = "is empty; expected an IMAP sequence set such as 1:3,7";
            return false;
        }
        var position = 0;
        foreach (var range in text.Split(','))
        {
            var item = text[range];
            var colon = item.IndexOf(':');
            if (colon < 0)
            {
                if (!IsSeqNumber(item))
                {
                    error = $"'{item}' at character {position + 1} is not a UID (1 to 4294967295) or '*' (RFC 3501 §9 sequence-set)";
                    return false;
                }
            }
            else if (!IsSeqNumber(item[..colon]) || !IsSeqNumber(item[(colon + 1)..]))
            {
                error = $"'{item}' at character {position + 1} is not a UID range such as 4:7 (RFC 3501 §9 sequence-set)";
                return false;
            }
            position += item.Length + 1;
        }
        error = null;
        return true;
    }

    private static bool IsSeqNumber(ReadOnlySpan<char> s) =>
        s is "*" || (s.Length is > 0 and <= 10 && s[0] != '0' && uint.TryParse(s, NumberStyles.None, CultureInfo.InvariantCulture, out _));
}
