using System.Globalization;
using System.Text;

namespace Aggregators.EventModel.Bodies;

/// <summary>
/// One message-context class line of a message-summary body (RFC 3842 §5.2):
/// <c>Voice-Message: 2/8 (0/2)</c> = new/old (new urgent/old urgent).
/// </summary>
/// <param name="MessageClass">An RFC 3458 §4.3 message-context class, lower case (<c>voice-message</c>, <c>text-message</c>, ...).</param>
public readonly record struct MessageSummaryLine(string MessageClass, uint New, uint Old, uint? UrgentNew = null, uint? UrgentOld = null);

/// <summary>
/// The <c>application/simple-message-summary</c> body of the message-summary event package
/// (RFC 3842 §5): Messages-Waiting, an optional Message-Account and summary lines. Pure codec: no
/// I/O. Optional message headers after the summary (§5.2 "msg-headers") are skipped when parsing
/// and never written.
/// </summary>
public sealed record MessageSummary
{
    public const string MediaType = "application/simple-message-summary";
    public const string EventPackage = "message-summary";
    public const int MaxBodyLength = 64 * 1024;

    /// <summary>The RFC 3458 §4.3 message-context classes a summary line may name.</summary>
    public static readonly IReadOnlyList<string> MessageClasses =
        ["voice-message", "fax-message", "pager-message", "multimedia-message", "text-message", "none"];

    public required bool MessagesWaiting { get; init; }

    /// <summary>The account the summary is about (a SIP or IMAP URI), if given.</summary>
    public string? MessageAccount { get; init; }

    public IReadOnlyList<MessageSummaryLine> Lines { get; init; } = [];

    /// <summary>
    /// The summary of a mailbox's totals: new = unseen, old = messages - unseen, no urgency known
    /// (0/0); messages are waiting when something is unseen.
    /// </summary>
    public static MessageSummary FromTotals(MailboxTotals totals, string? account, string messageClass = "text-message")
    {
        var unseen = Math.Min(totals.Unseen, totals.Messages);
        return new MessageSummary
        {
            MessagesWaiting = unseen > 0,
            MessageAccount = account,
            Lines = [new MessageSummaryLine(messageClass, unseen, totals.Messages - unseen, 0, 0)],
        };
    }

    /// <summary>Writes the body; lines end in CRLF (RFC 3842 §5.2 uses the SIP CRLF).</summary>
    public override string ToString()
    {
        var b = new StringBuilder(96);
        b.Append("Messages-Waiting: ").Append(MessagesWaiting ? "yes" : "no").Append("\r\n");
        if (MessageAccount is { } account)
        {
            CheckText(account, nameof(MessageAccount));
            b.Append("Message-Account: ").Append(account).Append("\r\n");
        }
        foreach (var line in Lines)
        {
            if (!IsMessageClass(line.MessageClass))
            {
                throw new ArgumentException($"'{line.MessageClass}' is not an RFC 3458 message-context class", nameof(Lines));
            }
            b.Append(CanonicalClassName(line.MessageClass)).Append(": ")
                .Append(line.New.ToString(CultureInfo.InvariantCulture)).Append('/')
                .Append(line.Old.ToString(CultureInfo.InvariantCulture));
            if (line.UrgentNew is { } un && line.UrgentOld is { } uo)
            {
                b.Append(" (").Append(un.ToString(CultureInfo.InvariantCulture)).Append('/')
                    .Append(uo.ToString(CultureInfo.InvariantCulture)).Append(')');
            }
            b.Append("\r\n");
        }
        return b.ToString();
    }

    public byte[] ToBytes() => Encoding.UTF8.GetBytes(ToString());

    public static bool IsMessageClass(string name) =>
        MessageClasses.Contains(name.ToLowerInvariant());

    /// <summary><c>voice-message</c> → <c>Voice-Message</c>, the capitalisation of RFC 3842's examples.</summary>
    public static string CanonicalClassName(string messageClass)
    {
        var parts = messageClass.ToLowerInvariant().Split('-');
        return string.Join('-', parts.Select(p => p.Length == 0 ? p : char.ToUpperInvariant(p[0]) + p[1..]));
    }

    /// <summary>
    /// Parses a body (RFC 3842 §5.2). Header names are case-insensitive, whitespace around values is
    /// free, LF alone is accepted as a line end. After the first blank line the optional
    /// msg-headers follow; they are skipped. Returns false with a reason for anything else.
    /// </summary>
    public static bool TryParse(string? text, out MessageSummary? summary, out string? error)
    {
        summary = null;
        if (text is null)
        {
            error = "no body";
            return false;
        }
        if (text.Length > MaxBodyLength)
        {
            error = $"body longer than {MaxBodyLength} characters";
            return false;
        }
        bool? waiting = null;
        string? account = null;
        var lines = new List<MessageSummaryLine>();
        var number = 0;
        foreach (var raw in text.Split('\n'))
        {
            number++;
            var line = raw.EndsWith('\r') ? raw[..^1] : raw;
            if (line.Length == 0)
            {
                if (waiting is null)
                {
                    continue; // blank lines before the status line are tolerated
                }
                break; // msg-headers follow (§5.2); not interpreted
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                error = $"line {number}: expected 'name: value'";
                return false;
            }
            var name = line[..colon].Trim();
            var value = line[(colon + 1)..].Trim();
            if (name.Equals("Messages-Waiting", StringComparison.OrdinalIgnoreCase))
            {
                if (waiting is not null)
                {
                    error = $"line {number}: Messages-Waiting repeated";
                    return false;
                }
                if (value.Equals("yes", StringComparison.OrdinalIgnoreCase))
                {
                    waiting = true;
                }
                else if (value.Equals("no", StringComparison.OrdinalIgnoreCase))
                {
                    waiting = false;
                }
                else
                {
                    error = $"line {number}: Messages-Waiting must be yes or no";
                    return false;
                }
                continue;
            }
            if (waiting is null)
            {
                error = $"line {number}: the body must start with Messages-Waiting (RFC 3842 §5.2)";
                return false;
            }
            if (name.Equals("Message-Account", StringComparison.OrdinalIgnoreCase))
            {
                if (account is not null || lines.Count > 0)
                {
                    error = $"line {number}: Message-Account repeated or after the summary lines";
                    return false;
                }
                if (value.Length == 0 || !value.Contains(':', StringComparison.Ordinal))
                {
                    error = $"line {number}: Message-Account must be a URI";
                    return false;
                }
                account = value;
                continue;
            }
            if (!IsMessageClass(name))
            {
                error = $"line {number}: '{name}' is not a message-context class (RFC 3458 §4.3)";
                return false;
            }
            if (!TryParseCounts(value, out var parsed))
            {
                error = $"line {number}: expected new/old [(urgent-new/urgent-old)]";
                return false;
            }
            lines.Add(parsed with { MessageClass = name.ToLowerInvariant() });
        }
        if (waiting is null)
        {
            error = "no Messages-Waiting line";
            return false;
        }
        summary = new MessageSummary { MessagesWaiting = waiting.Value, MessageAccount = account, Lines = lines };
        error = null;
        return true;
    }

    public static MessageSummary Parse(string text) =>
        TryParse(text, out var s, out var error) ? s! : throw new FormatException(error);

    private static bool TryParseCounts(string value, out MessageSummaryLine line)
    {
        line = default;
        var open = value.IndexOf('(', StringComparison.Ordinal);
        var main = open < 0 ? value : value[..open].TrimEnd();
        if (!TryParsePair(main, out var n, out var o))
        {
            return false;
        }
        uint? un = null, uo = null;
        if (open >= 0)
        {
            var rest = value[(open + 1)..].Trim();
            if (!rest.EndsWith(')') || !TryParsePair(rest[..^1], out var a, out var b))
            {
                return false;
            }
            (un, uo) = (a, b);
        }
        line = new MessageSummaryLine("", n, o, un, uo);
        return true;
    }

    private static bool TryParsePair(string text, out uint first, out uint second)
    {
        first = second = 0;
        var slash = text.IndexOf('/', StringComparison.Ordinal);
        return slash > 0
            && IsDigits(text[..slash].Trim()) && IsDigits(text[(slash + 1)..].Trim())
            && uint.TryParse(text[..slash].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out first)
            && uint.TryParse(text[(slash + 1)..].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out second);
    }

    private static bool IsDigits(string s) => s.Length is > 0 and <= 10 && s.All(char.IsAsciiDigit);

    private static void CheckText(string value, string what)
    {
        if (value.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0)
        {
            throw new ArgumentException("may not contain CR, LF or NUL", what);
        }
    }
}
