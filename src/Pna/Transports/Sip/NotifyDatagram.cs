using System.Buffers.Text;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// A dialog's NOTIFY as bytes: the notifier's one NOTIFY writer, for every transport (UDP writes it
/// straight into the transaction slot's buffer, no <see cref="Aggregators.Sip.SipRequest"/>; TCP and
/// TLS parse it back into the request their client transaction sends). Full header names (RFC 3261
/// §7.3.3 allows compact ones; we never send them), Content-Length last; tests check the bytes
/// against RFC 6665 and RFC 3842 for generated dialog states. The parts that never change within a
/// dialog are encoded once per target refresh:
/// <code>
/// [Head]  NOTIFY target SIP/2.0 CRLF Via: SIP/2.0/UDP host:port;branch=
///         branch (fresh per NOTIFY, §8.1.1.7)
/// [Middle];rport CRLF Route… Max-Forwards: 70 CRLF From CRLF To CRLF Call-ID CRLF CSeq:
///         cseq
/// [Tail]   NOTIFY CRLF Contact CRLF Event CRLF Subscription-State:
///         active;expires=N | terminated;reason=R   (RFC 6665 §4.1.3, §8.2.3)
///         CRLF Content-Type: type CRLF Content-Length: n CRLF CRLF body
/// </code>
/// </summary>
internal sealed class NotifyDatagramParts
{
    public NotifyDatagramParts(NotifyHeaders h, IReadOnlyList<string> routeSet)
    {
        Head = Encoding.UTF8.GetBytes("NOTIFY " + h.Target + " SIP/2.0\r\nVia: ").Concat(h.ViaPrefix).ToArray();
        var middle = new List<byte>(";rport\r\n"u8.ToArray());
        foreach (var route in routeSet)
        {
            Line(middle, "Route", Encoding.UTF8.GetBytes(route));
        }
        Line(middle, "Max-Forwards", "70"u8);
        Line(middle, "From", h.From);
        Line(middle, "To", h.To);
        Line(middle, "Call-ID", h.CallId);
        middle.AddRange("CSeq: "u8);
        Middle = [.. middle];
        var tail = new List<byte>(" NOTIFY\r\n"u8.ToArray());
        Line(tail, "Contact", h.Contact);
        Line(tail, "Event", h.Event);
        tail.AddRange("Subscription-State: "u8);
        Tail = [.. tail];
        RemoteTarget = h.RemoteTarget;
    }

    /// <summary>The remote target these parts were made for (rebuilt after a target refresh).</summary>
    public string RemoteTarget { get; }

    public byte[] Head { get; }

    public byte[] Middle { get; }

    public byte[] Tail { get; }

    private static void Line(List<byte> to, string name, ReadOnlySpan<byte> value)
    {
        to.AddRange(Encoding.ASCII.GetBytes(name));
        to.AddRange(": "u8);
        to.AddRange(value);
        to.AddRange("\r\n"u8);
    }
}

/// <summary>One NOTIFY to write: the dialog's parts and what changes per NOTIFY.</summary>
internal readonly struct NotifyDatagram(NotifyDatagramParts parts, uint cseq, ulong expires, string? terminateReason, ReadOnlyMemory<byte> contentType, MailEventBodyPart? eventBody, long sequence, ReadOnlyMemory<byte> body)
{
    /// <summary>Writes the NOTIFY; -1 when <paramref name="buffer"/> is too small.</summary>
    public static int Write(Span<byte> buffer, ReadOnlySpan<byte> branch, NotifyDatagram n) => n.Write(buffer, branch);

    private int Write(Span<byte> buffer, ReadOnlySpan<byte> branch)
    {
        var w = new SpanWriter(buffer);
        w.Put(parts.Head);
        w.Put(branch);
        w.Put(parts.Middle);
        w.Number(cseq);
        w.Put(parts.Tail);
        if (terminateReason is null)
        {
            w.Put("active;expires="u8);
            w.Number(expires);
        }
        else
        {
            w.Put("terminated;reason="u8);
            w.Utf8(terminateReason);
        }
        w.Put("\r\nContent-Type: "u8);
        w.Put(contentType.Span);
        w.Put("\r\nContent-Length: "u8);
        if (eventBody is { } part)
        {
            // {"sequence":N + the event's part, shared by every subscription it fans out to.
            Span<byte> digits = stackalloc byte[20];
            Utf8Formatter.TryFormat(sequence, digits, out var d);
            w.Number((ulong)(MailEventBodyPart.Opening.Length + d + part.Rest.Length));
            w.Put("\r\n\r\n"u8);
            w.Put(MailEventBodyPart.Opening);
            w.Put(digits[..d]);
            w.Put(part.Rest.Span);
        }
        else
        {
            w.Number((ulong)body.Length);
            w.Put("\r\n\r\n"u8);
            w.Put(body.Span);
        }
        return w.Overflow ? -1 : w.Written;
    }

    private ref struct SpanWriter(Span<byte> buffer)
    {
        private readonly Span<byte> _buffer = buffer;

        public int Written { get; private set; }

        public bool Overflow { get; private set; }

        public void Put(scoped ReadOnlySpan<byte> bytes)
        {
            if (Overflow || !bytes.TryCopyTo(_buffer[Written..]))
            {
                Overflow = true;
                return;
            }
            Written += bytes.Length;
        }

        public void Number(ulong value)
        {
            if (Overflow || !Utf8Formatter.TryFormat(value, _buffer[Written..], out var n))
            {
                Overflow = true;
                return;
            }
            Written += n;
        }

        public void Utf8(string text)
        {
            if (Overflow || !Encoding.UTF8.TryGetBytes(text, _buffer[Written..], out var n))
            {
                Overflow = true;
                return;
            }
            Written += n;
        }
    }
}

/// <summary>
/// A mail-event NOTIFY body (docs/sip.md) without its sequence number: <see cref="MailEventNotifyBody.Encode(long, string, MailboxPath, MailboxTotals?, MailEvent?, TimeSpan?)"/>
/// writes <c>{"sequence":N,</c> first and nothing else per subscription, so one event fanned out to
/// many subscriptions is encoded once and each body is the opening, its own N and this shared rest.
/// </summary>
internal sealed class MailEventBodyPart
{
    public static ReadOnlySpan<byte> Opening => "{\"sequence\":"u8;

    private MailEventBodyPart(string kind, MailboxPath mailbox, MailboxTotals? totals, MailEvent? mailEvent, TimeSpan? heartbeat, ReadOnlyMemory<byte> rest)
    {
        Kind = kind;
        Mailbox = mailbox;
        Totals = totals;
        Event = mailEvent;
        Heartbeat = heartbeat;
        Rest = rest;
    }

    public string Kind { get; }

    public MailboxPath Mailbox { get; }

    public MailboxTotals? Totals { get; }

    public MailEvent? Event { get; }

    public TimeSpan? Heartbeat { get; }

    /// <summary>Everything after the sequence number: <c>,"kind":…}</c>.</summary>
    public ReadOnlyMemory<byte> Rest { get; }

    public bool IsFor(string kind, MailboxPath mailbox, MailboxTotals? totals, MailEvent? mailEvent, TimeSpan? heartbeat) =>
        ReferenceEquals(Event, mailEvent) && Kind == kind && Totals == totals && Heartbeat == heartbeat && Mailbox.Equals(mailbox);

    /// <summary>The part, or null if the encoder's output does not start as expected (then the whole body is encoded per NOTIFY).</summary>
    public static MailEventBodyPart? Encode(string kind, MailboxPath mailbox, MailboxTotals? totals, MailEvent? mailEvent, TimeSpan? heartbeat)
    {
        var whole = MailEventNotifyBody.Encode(0, kind, mailbox, totals, mailEvent, heartbeat);
        var zero = Opening.Length;
        return whole.AsSpan().StartsWith(Opening) && whole.Length > zero + 1 && whole[zero] == (byte)'0' && whole[zero + 1] == (byte)','
            ? new MailEventBodyPart(kind, mailbox, totals, mailEvent, heartbeat, whole.AsMemory(zero + 1))
            : null;
    }
}
