using System.Text;

namespace Aggregators.EventModel;

/// <summary>
/// A mailbox inside an account, as a list of hierarchy segments. On the notification side the
/// separator is always '/', whatever the IMAP server's hierarchy separator is. A '/' or '%' that
/// is part of an IMAP mailbox name is written <c>%2F</c> / <c>%25</c> in the path text, so the
/// mapping is reversible. <c>INBOX</c> is case-insensitive (RFC 3501 §5.1) and normalised to upper
/// case as a first segment. The empty path (<see cref="Root"/>) names the account itself.
/// Names are Unicode: the bridge decodes IMAP's modified UTF-7 before building a path.
/// </summary>
public sealed class MailboxPath : IEquatable<MailboxPath>
{
    public const int MaxLength = 1024;
    public const int MaxDepth = 64;
    public const char Separator = '/';

    private readonly string[] _segments;

    /// <summary>The account itself: no mailbox.</summary>
    public static MailboxPath Root { get; } = new([], "");

    public static MailboxPath Inbox { get; } = new(["INBOX"], "INBOX");

    private MailboxPath(string[] segments, string value)
    {
        _segments = segments;
        Value = value;
    }

    /// <summary>The path text with '/' separators and escaped segments, e.g. <c>Work/Reports</c>.</summary>
    public string Value { get; }

    /// <summary>The decoded segments (a segment may contain '/' or '%').</summary>
    public IReadOnlyList<string> Segments => _segments;

    /// <summary>Segments as stored, for allocation-free walks.</summary>
    public ReadOnlySpan<string> SegmentSpan => _segments;

    public int Depth => _segments.Length;
    public bool IsRoot => _segments.Length == 0;
    public string? Name => _segments.Length == 0 ? null : _segments[^1];

    public MailboxPath? Parent => _segments.Length switch
    {
        0 => null,
        1 => Root,
        _ => FromSegments(_segments.AsSpan(0, _segments.Length - 1)),
    };

    public MailboxPath Child(string segment) => FromSegments([.. _segments, segment]);

    /// <summary>True when <paramref name="other"/> is this path or below it.</summary>
    public bool IsAncestorOrSelfOf(MailboxPath other)
    {
        if (other._segments.Length < _segments.Length)
        {
            return false;
        }
        for (var i = 0; i < _segments.Length; i++)
        {
            if (!string.Equals(_segments[i], other._segments[i], StringComparison.Ordinal))
            {
                return false;
            }
        }
        return true;
    }

    /// <summary>Parses the notification-side text form ('/' separated, %2F and %25 escapes).</summary>
    public static MailboxPath Parse(string value) =>
        TryParse(value, out var path, out var error) ? path : throw new FormatException(error);

    public static bool TryParse(string? value, out MailboxPath path, out string? error)
    {
        path = Root;
        if (value is null)
        {
            error = "mailbox is null";
            return false;
        }
        if (value.Length == 0)
        {
            error = null;
            return true;
        }
        if (value.Length > MaxLength)
        {
            error = $"mailbox path is longer than {MaxLength} characters";
            return false;
        }
        var parts = value.Split(Separator);
        if (parts.Length > MaxDepth)
        {
            error = $"mailbox path is deeper than {MaxDepth} levels";
            return false;
        }
        for (var i = 0; i < parts.Length; i++)
        {
            if (!TryUnescapeSegment(parts[i], out var seg, out error))
            {
                return false;
            }
            parts[i] = seg;
        }
        return TryCreate(parts, out path, out error);
    }

    /// <summary>
    /// Builds a path from an IMAP mailbox name and the server's hierarchy separator (null for a
    /// flat namespace, IMAP's NIL separator).
    /// </summary>
    public static MailboxPath FromImap(string imapName, char? separator) =>
        TryFromImap(imapName, separator, out var path, out var error) ? path : throw new FormatException(error);

    public static bool TryFromImap(string imapName, char? separator, out MailboxPath path, out string? error)
    {
        ArgumentNullException.ThrowIfNull(imapName);
        path = Root;
        if (imapName.Length == 0)
        {
            error = "IMAP mailbox name is empty";
            return false;
        }
        var parts = separator is { } sep ? imapName.Split(sep) : [imapName];
        if (parts.Length > MaxDepth)
        {
            error = $"mailbox path is deeper than {MaxDepth} levels";
            return false;
        }
        return TryCreate(parts, out path, out error);
    }

    /// <summary>Builds a path from decoded segments.</summary>
    public static MailboxPath FromSegments(ReadOnlySpan<string> segments) =>
        TryCreate(segments.ToArray(), out var path, out var error) ? path : throw new FormatException(error);

    /// <summary>The IMAP mailbox name for a server with the given hierarchy separator.</summary>
    public string ToImap(char? separator)
    {
        if (IsRoot)
        {
            throw new InvalidOperationException("the root path is not an IMAP mailbox");
        }
        if (separator is not { } sep)
        {
            return _segments.Length == 1
                ? _segments[0]
                : throw new InvalidOperationException("a server without hierarchy cannot name a nested mailbox");
        }
        foreach (var s in _segments)
        {
            if (s.Contains(sep, StringComparison.Ordinal))
            {
                throw new InvalidOperationException($"segment '{s}' contains the IMAP separator '{sep}'");
            }
        }
        return string.Join(sep, _segments);
    }

    private static bool TryCreate(string[] segments, out MailboxPath path, out string? error)
    {
        path = Root;
        if (segments.Length == 0)
        {
            error = null;
            return true;
        }
        var length = 0;
        for (var i = 0; i < segments.Length; i++)
        {
            var s = segments[i];
            if (s.Length == 0)
            {
                error = $"mailbox path has an empty segment at position {i + 1}";
                return false;
            }
            foreach (var c in s)
            {
                if (char.IsControl(c))
                {
                    error = $"mailbox segment {i + 1} contains a control character (U+{(int)c:X4})";
                    return false;
                }
            }
            if (i == 0 && s.Length == 5 && s.Equals("INBOX", StringComparison.OrdinalIgnoreCase))
            {
                segments[0] = "INBOX";
            }
            length += s.Length + 1;
        }
        if (length - 1 > MaxLength)
        {
            error = $"mailbox path is longer than {MaxLength} characters";
            return false;
        }
        var sb = new StringBuilder(length + 8);
        for (var i = 0; i < segments.Length; i++)
        {
            if (i > 0)
            {
                sb.Append(Separator);
            }
            AppendEscaped(sb, segments[i]);
        }
        path = segments.Length == 1 && segments[0] == "INBOX" ? Inbox : new MailboxPath(segments, sb.ToString());
        error = null;
        return true;
    }

    private static void AppendEscaped(StringBuilder sb, string segment)
    {
        foreach (var c in segment)
        {
            switch (c)
            {
                case '/': sb.Append("%2F"); break;
                case '%': sb.Append("%25"); break;
                default: sb.Append(c); break;
            }
        }
    }

    private static bool TryUnescapeSegment(string text, out string segment, out string? error)
    {
        segment = text;
        error = null;
        var pct = text.IndexOf('%', StringComparison.Ordinal);
        if (pct < 0)
        {
            return true;
        }
        var sb = new StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c != '%')
            {
                sb.Append(c);
                continue;
            }
            if (i + 2 >= text.Length)
            {
                error = $"mailbox segment '{text}' has a truncated %-escape";
                return false;
            }
            var escape = text.AsSpan(i, 3);
            if (escape.Equals("%2F", StringComparison.OrdinalIgnoreCase))
            {
                sb.Append('/');
            }
            else if (escape.Equals("%25", StringComparison.Ordinal))
            {
                sb.Append('%');
            }
            else
            {
                error = $"mailbox segment '{text}' has an unsupported escape '{escape}' (only %2F and %25 are allowed)";
                return false;
            }
            i += 2;
        }
        segment = sb.ToString();
        return true;
    }

    public bool Equals(MailboxPath? other) => other is not null && string.Equals(Value, other.Value, StringComparison.Ordinal);
    public override bool Equals(object? obj) => obj is MailboxPath p && Equals(p);
    public override int GetHashCode() => StringComparer.Ordinal.GetHashCode(Value);
    public override string ToString() => Value;
    public static bool operator ==(MailboxPath? a, MailboxPath? b) => a is null ? b is null : a.Equals(b);
    public static bool operator !=(MailboxPath? a, MailboxPath? b) => !(a == b);
}
