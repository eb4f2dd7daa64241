using System.Text;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge.Translation;

/// <summary>The From/Subject summary of an ENVELOPE (RFC 3501 §7.4.2) for MessageNew, one clean line.</summary>
public static class Envelopes
{
    private const int MaxLength = 998;

    /// <summary>"Name &lt;local@host&gt;" or "local@host" of the first From address, or null.</summary>
    public static string? FormatFrom(ImapEnvelope? envelope)
    {
        var a = envelope?.From.FirstOrDefault(x => x.Host is not null);
        if (a is null)
        {
            return null;
        }
        var address = $"{a.Mailbox}@{a.Host}";
        return Clean(string.IsNullOrWhiteSpace(a.Name) ? address : $"{a.Name} <{address}>");
    }

    /// <summary>The text without control characters (docs/events.md: one line, TAB allowed), cut at 998 characters.</summary>
    public static string? Clean(string? text)
    {
        if (text is null)
        {
            return null;
        }
        var sb = new StringBuilder(Math.Min(text.Length, MaxLength));
        foreach (var c in text)
        {
            if (sb.Length >= MaxLength)
            {
                break;
            }
            sb.Append(c == '\t' || !char.IsControl(c) ? c : ' ');
        }
        return sb.ToString();
    }
}
