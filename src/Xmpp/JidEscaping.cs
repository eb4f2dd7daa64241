using System.Text;

namespace Aggregators.Xmpp;

/// <summary>
/// XEP-0106 JID escaping: maps a name whose characters a localpart may not carry (RFC 7622 §3.3.1
/// excludes <c>" &amp; ' / : &lt; &gt; @</c>, and space by PRECIS) to a valid localpart and back,
/// e.g. <c>o'brien</c> ↔ <c>o\27brien</c>. A backslash is escaped (<c>\5c</c>) only where it
/// starts one of the escape sequences (§4.2), so <c>c:\net</c> → <c>c\3a\net</c>.
/// </summary>
public static class JidEscaping
{
    // §4.2 table, in the lowercase hex the XEP writes.
    private const string Escaped = " \"&'/:<>@\\";

    private static string Sequence(char c) => "\\" + ((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="s"/> at <paramref name="i"/> is <c>\</c> followed by one of the §4.2 sequences.</summary>
    private static bool IsSequenceAt(string s, int i) =>
        i + 2 < s.Length && s[i] == '\\' && Escaped.Any(c => string.CompareOrdinal(s, i, Sequence(c), 0, 3) == 0);

    /// <summary>Escapes <paramref name="name"/> for use as a localpart.</summary>
    public static string Escape(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '\\' ? IsSequenceAt(name, i) : Escaped.Contains(c, StringComparison.Ordinal))
            {
                sb.Append(Sequence(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }

    /// <summary>The name an escaped localpart stands for (other backslashes are kept as they are).</summary>
    public static string Unescape(string localpart)
    {
        ArgumentNullException.ThrowIfNull(localpart);
        if (!localpart.Contains('\\', StringComparison.Ordinal))
        {
            return localpart;
        }
        var sb = new StringBuilder(localpart.Length);
        for (var i = 0; i < localpart.Length; i++)
        {
            if (IsSequenceAt(localpart, i))
            {
                sb.Append((char)Convert.ToInt32(localpart.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                sb.Append(localpart[i]);
            }
        }
        return sb.ToString();
    }
}
