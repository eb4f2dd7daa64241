using System.Buffers;
using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Subscriptions;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Writes XEP-0060 §4.3 event notifications straight to UTF-8, the same stanza as
/// <see cref="XmppPubsubTransport.BuildNotification"/> without an XElement tree. One event fans
/// out to many subscriptions with the same payload: the event's part (the <c>pubsub#event</c>
/// items, the <c>mail-event</c> and its totals) is encoded once and only the per-subscription
/// parts (<c>to</c>, message and item ids, <c>seq</c>, SHIM headers) are spliced in:
/// <code>
/// &lt;message type='headline' from=SERVICE to=SUBSCRIBER id='n-SUBID-SEQ'&gt;
///   &lt;event xmlns='…pubsub#event'&gt;&lt;items node=NODE&gt;&lt;item id='SEQ'&gt;
///     &lt;mail-event xmlns='…' kind=… type=… account=… mailbox=… … seq='SEQ'&gt;&lt;totals …/&gt;&lt;/mail-event&gt;
///   &lt;/item&gt;&lt;/items&gt;&lt;/event&gt;
///   &lt;headers xmlns='…shim'&gt;&lt;header name='SubID'&gt;SUBID&lt;/header&gt;&lt;header name='Collection'&gt;SUBSCRIBED NODE&lt;/header&gt;&lt;/headers&gt;
/// &lt;/message&gt;
/// </code>
/// Not thread-safe: one encoder per writer (the transport locks around it).
/// </summary>
internal sealed class NotificationEncoder
{
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private readonly byte[] _messageHead;
    private EventPart? _last;

    /// <param name="normal">Send <c>type='normal'</c> messages instead of <c>headline</c> (XmppPubsubOptions.NotificationType).</param>
    public NotificationEncoder(bool normal = false) =>
        _messageHead = normal ? "<message type='normal' from='"u8.ToArray() : "<message type='headline' from='"u8.ToArray();

    /// <summary>Encodes the notification with wire sequence number <paramref name="sequence"/>; valid until the next call.</summary>
    public ReadOnlySpan<byte> Encode(in Notification n, XmppSubscriptionTarget target, long sequence)
    {
        var part = PartOf(n);
        var o = _output;
        o.ResetWrittenCount();
        o.Write(_messageHead);
        StanzaSerializer.WriteAttributeValue(o, target.Service.ToString());
        o.Write("' to='"u8);
        StanzaSerializer.WriteAttributeValue(o, target.Subscriber.ToString());
        o.Write("' id='n-"u8);
        Number(o, n.Subscription.Id);
        o.Write("-"u8);
        Number(o, sequence);
        o.Write(part.BeforeItemId);
        Number(o, sequence);
        o.Write(part.BeforeSeq);
        Number(o, sequence);
        o.Write(part.AfterSeq);
        Number(o, n.Subscription.Id);
        o.Write("</header><header name='Collection'>"u8);
        StanzaSerializer.WriteText(o, target.Node);
        o.Write("</header></headers></message>"u8);
        return o.WrittenSpan;
    }

    /// <summary>The event's part: the last one again when this notification is for the same event and totals.</summary>
    private EventPart PartOf(in Notification n)
    {
        var e = n.Event;
        var mailbox = e?.Mailbox ?? n.Mailbox;
        var account = n.Subscription.Filter.Account;
        if (_last is { } last && ReferenceEquals(last.Event, e) && last.Kind == n.Kind && last.Totals == n.Totals
            && last.Mailbox.Equals(mailbox) && last.Account.Equals(account))
        {
            return last;
        }
        var part = EventPart.Encode(n.Kind, e, mailbox, account, n.Totals);
        _last = part;
        return part;
    }

    private static void Number(ArrayBufferWriter<byte> o, long value)
    {
        var span = o.GetSpan(20);
        Utf8Formatter.TryFormat(value, span, out var written);
        o.Advance(written);
    }

    /// <summary>The bytes shared by every subscription notified of one event (or one state, for initial/heartbeat items).</summary>
    private sealed class EventPart
    {
        private static readonly byte[] ItemsHead = Encoding.UTF8.GetBytes(
            "'><event xmlns='" + PubsubNamespaces.Event + "'><items node='");

        private static readonly byte[] PayloadHead = Encoding.UTF8.GetBytes(
            "'><" + XmppMailEventPayload.ElementName + " xmlns='" + XmppMailEventPayload.Namespace + "' kind='");

        private static readonly byte[] Tail = Encoding.UTF8.GetBytes(
            "</" + XmppMailEventPayload.ElementName + "></item></items></event><headers xmlns='http://jabber.org/protocol/shim'><header name='SubID'>");

        private EventPart(MailEvent? e, NotificationKind kind, MailboxPath mailbox, AccountId account, MailboxTotals? totals,
            byte[] beforeItemId, byte[] beforeSeq, byte[] afterSeq)
        {
            Event = e;
            Kind = kind;
            Mailbox = mailbox;
            Account = account;
            Totals = totals;
            BeforeItemId = beforeItemId;
            BeforeSeq = beforeSeq;
            AfterSeq = afterSeq;
        }

        public MailEvent? Event { get; }

        public NotificationKind Kind { get; }

        public MailboxPath Mailbox { get; }

        public AccountId Account { get; }

        public MailboxTotals? Totals { get; }

        /// <summary><c>'&gt;&lt;event …&gt;&lt;items node='…'&gt;&lt;item id='</c></summary>
        public byte[] BeforeItemId { get; }

        /// <summary><c>'&gt;&lt;mail-event xmlns=… kind=… … seq='</c></summary>
        public byte[] BeforeSeq { get; }

        /// <summary><c>'&gt;&lt;totals …/&gt;&lt;/mail-event&gt;…&lt;header name='SubID'&gt;</c></summary>
        public byte[] AfterSeq { get; }

        public static EventPart Encode(NotificationKind kind, MailEvent? e, MailboxPath mailbox, AccountId account, MailboxTotals? totals)
        {
            var o = new ArrayBufferWriter<byte>(512);
            o.Write(ItemsHead);
            StanzaSerializer.WriteAttributeValue(o, PubsubNodes.NodeOf(mailbox));
            o.Write("'><item id='"u8);
            var beforeItemId = o.WrittenSpan.ToArray();

            // Same attributes as XmppMailEventCodec.Write, seq last (attribute order is not significant).
            o.ResetWrittenCount();
            o.Write(PayloadHead);
            o.Write(kind switch
            {
                NotificationKind.Event => "event"u8,
                NotificationKind.Initial => "initial"u8,
                _ => "heartbeat"u8,
            });
            if (e?.Type is { } type)
            {
                Attribute(o, " type='"u8, type.ToRfcName());
            }
            Attribute(o, " account='"u8, account.Value);
            Attribute(o, " mailbox='"u8, mailbox.Value);
            if (e?.OldMailbox is { } old)
            {
                Attribute(o, " old-mailbox='"u8, old.Value);
            }
            if (e?.Timestamp is { } ts)
            {
                Attribute(o, " timestamp='"u8, ts.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.FFFFFFF'Z'", CultureInfo.InvariantCulture));
            }
            if (e?.Id is { } id)
            {
                Attribute(o, " id='"u8, id);
            }
            if (e?.Uidset is { } uids)
            {
                Attribute(o, " uidset='"u8, uids);
            }
            o.Write("' seq='"u8);
            var beforeSeq = o.WrittenSpan.ToArray();

            o.ResetWrittenCount();
            o.Write("'>"u8);
            if (totals is { } t)
            {
                o.Write("<totals messages='"u8);
                Number(o, t.Messages);
                o.Write("' unseen='"u8);
                Number(o, t.Unseen);
                o.Write("' uidnext='"u8);
                Number(o, t.UidNext);
                o.Write("' uidvalidity='"u8);
                Number(o, t.UidValidity);
                o.Write("'/>"u8);
            }
            o.Write(Tail);
            return new EventPart(e, kind, mailbox, account, totals, beforeItemId, beforeSeq, o.WrittenSpan.ToArray());
        }

        /// <summary>Closes the previous attribute's quote, then writes <paramref name="head"/> (<c> name='</c>) and the escaped value.</summary>
        private static void Attribute(ArrayBufferWriter<byte> o, ReadOnlySpan<byte> head, string value)
        {
            o.Write("'"u8);
            o.Write(head);
            StanzaSerializer.WriteAttributeValue(o, value);
        }
    }
}
