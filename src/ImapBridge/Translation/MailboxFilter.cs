namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// Include/exclude of mailboxes by IMAP name with LIST wildcards (RFC 3501 §6.3.8): <c>*</c> matches
/// anything, <c>%</c> anything but the hierarchy delimiter. "INBOX" matches case-insensitively
/// (RFC 3501 §5.1); other names exactly. Exclude wins.
/// </summary>
public sealed class MailboxFilter
{
    private readonly string[] _include;
    private readonly string[] _exclude;

    public MailboxFilter(IEnumerable<string> include, IEnumerable<string> exclude)
    {
        _include = include.ToArray();
        _exclude = exclude.ToArray();
    }

    public static MailboxFilter All { get; } = new(["*"], []);

    public bool IsWatched(string name, char? delimiter)
    {
        foreach (var e in _exclude)
        {
            if (Matches(e, name, delimiter))
            {
                return false;
            }
        }
        if (IsInbox(name))
        {
            return true;
        }
        foreach (var i in _include)
        {
            if (Matches(i, name, delimiter))
            {
                return true;
            }
        }
        return false;
    }

    public static bool IsInbox(string name) => string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase);

    public static bool Matches(string pattern, string name, char? delimiter)
    {
        if (IsInbox(pattern) && IsInbox(name))
        {
            return true;
        }
        return Match(pattern.AsSpan(), name.AsSpan(), delimiter);
    }

    private static bool Match(ReadOnlySpan<char> p, ReadOnlySpan<char> s, char? delimiter)
    {
        while (p.Length > 0)
        {
            var c = p[0];
            if (c is '*' or '%')
            {
                var rest = p[1..];
                for (var k = 0; k <= s.Length; k++)
                {
                    if (Match(rest, s[k..], delimiter))
                    {
                        return true;
                    }
                    if (k < s.Length && c == '%' && delimiter is { } d && s[k] == d)
                    {
                        return false;
                    }
                }
                return false;
            }
            if (s.Length == 0 || s[0] != c)
            {
                return false;
            }
            p = p[1..];
            s = s[1..];
        }
        return s.Length == 0;
    }
}
