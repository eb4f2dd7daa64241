using System.Text;
using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Xml;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>The byte encoder writes the same stanza as the XElement reference, whatever the values.</summary>
public sealed class NotificationEncoderTests
{
    private static readonly AccountId Juliet = AccountId.Parse("juliet@example.com");

    private sealed class NullTransport : INotificationTransport
    {
        public string Name => "xmpp";

        public void Deliver(in Notification notification)
        {
        }
    }

    private static Subscription NewSubscription(long id, MailboxPath mailbox) =>
        new(id, "xmpp:romeo@example.net", new SubscriptionFilter { Account = Juliet, Mailbox = mailbox }, new NullTransport());

    /// <summary>Element names, attribute sets (in any order) and text, recursively.</summary>
    private static string Canonical(XElement e)
    {
        var sb = new StringBuilder();
        sb.Append('<').Append(e.Name.ToString());
        foreach (var a in e.Attributes().Where(a => !a.IsNamespaceDeclaration).OrderBy(a => a.Name.ToString(), StringComparer.Ordinal))
        {
            sb.Append(' ').Append(a.Name.ToString()).Append("=\"").Append(a.Value).Append('"');
        }
        sb.Append('>');
        foreach (var n in e.Nodes())
        {
            sb.Append(n is XElement c ? Canonical(c) : ((XText)n).Value);
        }
        return sb.Append("</>").ToString();
    }

    private static void AssertSame(NotificationEncoder encoder, in Notification n, XmppSubscriptionTarget target)
    {
        var reference = StanzaSerializer.ToXml(XmppPubsubTransport.BuildNotification(n, target).Element, XmppNamespaces.ComponentAccept);
        var expected = XmppPubsubTests.RecordingSink.ParseSerialized(Encoding.UTF8.GetBytes(reference));
        var actual = XmppPubsubTests.RecordingSink.ParseSerialized(encoder.Encode(n, target, n.Sequence));
        Assert.Equal(Canonical(expected.Element), Canonical(actual.Element));
    }

    [Fact]
    public void Event_notification_matches_the_reference()
    {
        var encoder = new NotificationEncoder();
        var inbox = MailboxPath.Parse("INBOX");
        var e = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = Juliet,
            Mailbox = inbox,
            Totals = new MailboxTotals(5, 2, 6, 1),
            Id = "ev-1",
            Timestamp = DateTimeOffset.Parse("2026-11-21T21:00:00Z", System.Globalization.CultureInfo.InvariantCulture),
            Uidset = "5",
        };
        var target = new XmppSubscriptionTarget(Jid.Parse("romeo@example.net"), Jid.Parse("juliet@events.example.com"), "mail_events");
        var s = NewSubscription(17, MailboxPath.Root);
        AssertSame(encoder, new Notification(s, NotificationKind.Event, e, inbox, e.Totals, 2), target);
        // The second subscriber of the same event reuses the event's bytes with its own ids.
        var other = new XmppSubscriptionTarget(Jid.Parse("benvolio@example.net/desk"), Jid.Parse("juliet@events.example.com"), "mail_events/INBOX");
        AssertSame(encoder, new Notification(NewSubscription(18, inbox), NotificationKind.Event, e, inbox, e.Totals, 40), other);
        AssertSame(encoder, new Notification(s, NotificationKind.Heartbeat, null, inbox, null, 3), target);
    }

    [Fact]
    public void Normal_notifications_are_the_reference_with_type_normal()
    {
        var inbox = MailboxPath.Parse("INBOX");
        var target = new XmppSubscriptionTarget(Jid.Parse("romeo@example.net"), Jid.Parse("juliet@events.example.com"), "mail_events/INBOX");
        var n = new Notification(NewSubscription(3, inbox), NotificationKind.Heartbeat, null, inbox, new MailboxTotals(1, 1, 2, 1), 9);
        var stanza = XmppPubsubTests.RecordingSink.ParseSerialized(new NotificationEncoder(normal: true).Encode(n, target, 9));
        Assert.Equal("normal", (string?)stanza.Element.Attribute("type"));
        var reference = XmppPubsubTransport.BuildNotification(n, target, Aggregators.Xmpp.Stanzas.MessageType.Normal).Element;
        reference.SetAttributeValue("type", "normal"); // Message omits the default type
        Assert.Equal(Canonical(reference), Canonical(stanza.Element));
    }

    [Fact]
    public void Any_values_give_the_same_stanza_as_the_reference()
    {
        // Characters that need escaping, non-ASCII and astral ones, in every free-text place.
        var text = Gen.Elements("a", "b c", "'", "\"", "&", "<", ">", "\t", "é", "\U0001F600", "x]]>")
            .ListOf().Select(l => string.Concat(l)).Where(s => s.Length > 0);
        var segment = Gen.Elements("INBOX", "Work", "a&b", "l'été", "<x>", "Q\"1");
        var mailbox = segment.ListOf().Select(l => MailboxPath.FromSegments([.. l.Take(3)]));
        var totals = Gen.Choose(0, 1000).Select(i => (MailboxTotals?)(i == 0 ? null : new MailboxTotals((uint)i, (uint)i / 2, (uint)i + 1, uint.MaxValue)));
        var kind = Gen.Elements(NotificationKind.Event, NotificationKind.Initial, NotificationKind.Heartbeat);
        var resource = Gen.Elements<string?>(null, "balcony", "it's <me> & you");
        var gen =
            from k in kind
            from m in mailbox
            from old in mailbox
            from t in totals
            from id in text
            from uids in Gen.Elements<string?>(null, "1:5,7")
            from r in resource
            from seq in Gen.Choose(1, int.MaxValue)
            from subId in Gen.Choose(1, int.MaxValue)
            select (k, m, old, t, id, uids, r, seq, subId);
        var encoder = new NotificationEncoder();
        Prop.ForAll(Arb.From(gen), x =>
        {
            var e = x.k == NotificationKind.Event
                ? new MailEvent
                {
                    Type = x.old.IsRoot ? MailEventType.FlagsSet : MailEventType.MailboxRename,
                    Account = Juliet,
                    Mailbox = x.m,
                    OldMailbox = x.old.IsRoot ? null : x.old,
                    Totals = x.t,
                    Id = x.id,
                    Uidset = x.uids,
                    Timestamp = DateTimeOffset.UnixEpoch.AddTicks(x.seq * 1234567L),
                }
                : null;
            var subscriber = x.r is null ? Jid.Parse("romeo@example.net") : Jid.Parse("romeo@example.net/" + x.r);
            var target = new XmppSubscriptionTarget(subscriber, Jid.Parse("juliet@events.example.com"), PubsubNodes.NodeOf(x.m));
            AssertSame(encoder, new Notification(NewSubscription(x.subId, x.m), x.k, e, x.m, x.t, x.seq), target);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
