using System.Buffers.Text;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// A dialog's message-summary body (RFC 3842 §5.2) written straight to bytes from the totals: the
/// Message-Account line and the summary line's class name are encoded once per dialog, so a NOTIFY
/// costs one array. The output is byte for byte what <see cref="MessageSummary.FromTotals"/> and
/// <see cref="MessageSummary.ToBytes"/> write (new = unseen, old = the rest, urgent 0/0).
/// </summary>
internal sealed class MessageSummaryBytes
{
    private readonly byte[] _tail; // "Message-Account: <aor>\r\n" (when there is one) and "<Class>: "

    public MessageSummaryBytes(string? account, string messageClass)
    {
        if (account is not null && account.AsSpan().IndexOfAny('\r', '\n', '\0') >= 0) throw new ArgumentException("may not contain CR, LF or NUL", nameof(account));
        if (!MessageSummary.IsMessageClass(messageClass)) throw new ArgumentException($"'{messageClass}' is not an RFC 3458 message-context class", nameof(messageClass));
        _tail = Encoding.UTF8.GetBytes((account is null ? "" : "Message-Account: " + account + "\r\n") + MessageSummary.CanonicalClassName(messageClass) + ": ");
    }

    private Last? _last;

    private sealed record Last(MailboxTotals Totals, byte[] Body);

    /// <summary>
    /// As <see cref="Encode"/>, but the last body is kept and returned again for the same totals: every
    /// subscriber of an account gets the same bytes (one instance is shared per account). The array
    /// must not be changed.
    /// </summary>
    public byte[] EncodeShared(MailboxTotals totals)
    {
        if (Volatile.Read(ref _last) is { } last && last.Totals == totals) return last.Body;
        var body = Encode(totals);
        Volatile.Write(ref _last, new Last(totals, body));
        return body;
    }

    public byte[] Encode(MailboxTotals totals)
    {
        var unseen = Math.Min(totals.Unseen, totals.Messages);
        var old = totals.Messages - unseen;
        ReadOnlySpan<byte> waiting = unseen > 0 ? "Messages-Waiting: yes\r\n"u8 : "Messages-Waiting: no\r\n"u8;
        Span<byte> counts = stackalloc byte[32];
        Utf8Formatter.TryFormat(unseen, counts, out var n);
        counts[n++] = (byte)'/';
        Utf8Formatter.TryFormat(old, counts[n..], out var m);
        n += m;
        var urgent = " (0/0)\r\n"u8;
        var body = new byte[waiting.Length + _tail.Length + n + urgent.Length];
        var span = body.AsSpan();
        waiting.CopyTo(span);
        span = span[waiting.Length..];
        _tail.CopyTo(span);
        span = span[_tail.Length..];
        counts[..n].CopyTo(span);
        urgent.CopyTo(span[n..]);
        return body;
    }
}
