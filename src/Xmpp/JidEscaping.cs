using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace Aggregators.Xmpp;

/// <summary>
/// XEP-0106 JID escaping: maps a name whose characters a localpart may not carry (RFC 7622 §3.3.1
/// excludes <c>" &amp; ' / : &lt; &gt; @</c>, and space by PRECIS) to a valid localpart and back,
/// e.g. <c>o'brien</c> ↔ <c>o\27brien</c>. The one implementation: the PNA names accounts with it,
/// the CNA its remote accounts (docs/cna-xmpp.md §2).
/// <list type="bullet">
/// <item>Sequences are lowercase and case is significant (XEP-0106 §3.1): only <c>\20 \22 \26 \27
/// \2f \3a \3c \3e \40 \5c</c> are unescaped; <c>\2F</c> is not a sequence and stays (§4.1 rule 3).</item>
/// <item>A backslash is escaped (<c>\5c</c>) only where it starts a sequence (§4.1 rule 7, §4.2 step
/// 3, and §4.3: <c>foo\bar</c> is not modified), so <c>c:\net</c> → <c>c\3a\net</c>. (The §5.1 table
/// shows <c>c\3a\5cnet</c>, which contradicts §4.3; both unescape to the same name.) It is also
/// escaped before an uppercase sequence such as <c>\2F</c>: localparts are case-mapped (RFC 7622
/// §3.3.1, <see cref="Jid"/> lowercases them), which would turn it into <c>\2f</c>, a <c>/</c>.</item>
/// <item>An escaped localpart never begins or ends with <c>\20</c> (§3.1): a name with a leading or
/// trailing space is refused (<see cref="TryEscape"/>) rather than escaped.</item>
/// </list>
/// </summary>
public static class JidEscaping
{
    // §3.2 table, in the lowercase hex the XEP writes.
    private const string Escaped = " \"&'/:<>@\\";

    private static string Sequence(char c) => "\\" + ((int)c).ToString("x2", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>True when <paramref name="s"/> at <paramref name="i"/> is <c>\</c> followed by one of the §3.2 sequences.</summary>
    private static bool IsSequenceAt(string s, int i, StringComparison comparison) =>
        i + 2 < s.Length && s[i] == '\\' && Escaped.Any(c => string.Compare(s, i, Sequence(c), 0, 3, comparison) == 0);

    /// <summary>
    /// Escapes <paramref name="name"/> for use as a localpart. Throws <see cref="JidFormatException"/>
    /// (its <see cref="JidFormatException.Reason"/> says why) for a name that begins or ends with a
    /// space: see <see cref="TryEscape"/>.
    /// </summary>
    public static string Escape(string name) =>
        TryEscape(name, out var localpart, out var error) ? localpart : throw new JidFormatException(name, error);

    /// <summary>
    /// Escapes <paramref name="name"/> for use as a localpart; false, with the reason in
    /// <paramref name="error"/>, for a name that begins or ends with a space: an escaped localpart
    /// must not begin or end with <c>\20</c> (XEP-0106 §3.1), so no such localpart is produced.
    /// </summary>
    public static bool TryEscape(string name, [NotNullWhen(true)] out string? localpart, [NotNullWhen(false)] out string? error)
    {
        ArgumentNullException.ThrowIfNull(name);
        localpart = null;
        if (name.Length > 0 && (name[0] == ' ' || name[^1] == ' '))
        {
            error = "an escaped localpart must not " + (name[0] == ' ' ? "begin" : "end") + " with \\20 (XEP-0106 §3.1): the name " + (name[0] == ' ' ? "begins" : "ends") + " with a space";
            return false;
        }
        error = null;
        localpart = EscapeCharacters(name);
        return true;
    }

    private static string EscapeCharacters(string name)
    {
        var sb = new StringBuilder(name.Length + 8);
        for (var i = 0; i < name.Length; i++)
        {
            var c = name[i];
            if (c == '\\' ? IsSequenceAt(name, i, StringComparison.OrdinalIgnoreCase) : Escaped.Contains(c, StringComparison.Ordinal))
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

    /// <summary>The name an escaped localpart stands for (other backslashes, and uppercase look-alikes, are kept as they are).</summary>
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
            if (IsSequenceAt(localpart, i, StringComparison.Ordinal))
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
