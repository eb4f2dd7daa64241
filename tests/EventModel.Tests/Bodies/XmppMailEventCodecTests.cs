using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests.Bodies;

public class XmppMailEventCodecTests
{
    private static readonly AccountId Juliet = AccountId.Parse("juliet@example.com");

    [Fact]
    public void An_event_is_written_in_the_documented_form()
    {
        var payload = new XmppMailEventPayload
        {
            Kind = XmppPayloadKind.Event,
            Sequence = 7,
            Account = Juliet,
            Mailbox = MailboxPath.Parse("INBOX"),
            EventType = MailEventType.MessageNew,
            Totals = new MailboxTotals(5, 2, 6, 1),
            Timestamp = new DateTimeOffset(2026, 11, 21, 21, 0, 0, TimeSpan.Zero),
            EventId = "ev-1",
            Uidset = "5",
        };
        Assert.Equal(
            "<mail-event kind=\"event\" seq=\"7\" type=\"MessageNew\" account=\"juliet@example.com\" mailbox=\"INBOX\" timestamp=\"2026-11-21T21:00:00Z\" id=\"ev-1\" uidset=\"5\" xmlns=\"urn:aggregators:xmpp:mail-event:0\">"
            + "<totals messages=\"5\" unseen=\"2\" uidnext=\"6\" uidvalidity=\"1\" /></mail-event>",
            XmppMailEventCodec.Write(payload).ToString(SaveOptions.DisableFormatting));
    }

    [Fact]
    public void A_stale_payload_carries_stale_true_and_a_fresh_one_no_attribute()
    {
        var fresh = new XmppMailEventPayload { Kind = XmppPayloadKind.Heartbeat, Account = Juliet, Mailbox = MailboxPath.Inbox };
        Assert.Null(XmppMailEventCodec.Write(fresh).Attribute("stale"));
        var stale = XmppMailEventCodec.Write(fresh with { Stale = true });
        Assert.Equal("true", (string?)stale.Attribute("stale"));
        Assert.True(XmppMailEventCodec.TryRead(stale, out var back, out _));
        Assert.True(back.Stale);
        stale.SetAttributeValue("stale", "false");
        Assert.True(XmppMailEventCodec.TryRead(stale, out back, out _));
        Assert.False(back.Stale);
    }

    [Fact]
    public void Written_payloads_read_back_equal()
    {
        var gen =
            from kind in Gen.Elements(XmppPayloadKind.Event, XmppPayloadKind.Initial, XmppPayloadKind.Heartbeat, XmppPayloadKind.Current)
            from seq in Gen.Choose(0, int.MaxValue)
            from type in Gen.Elements(MailEventTypes.All.ToArray())
            from mailbox in Gen.Elements("", "INBOX", "Work/Projects", "Ünïcode/x y")
            from totals in Gen.Elements<MailboxTotals?>(null, new MailboxTotals(0, 0, 1, 1), new MailboxTotals(uint.MaxValue, 3, 9, 42))
            from seconds in Gen.Choose(0, 2_000_000_000)
            select new XmppMailEventPayload
            {
                Kind = kind,
                Sequence = seq,
                Account = Juliet,
                Mailbox = MailboxPath.Parse(mailbox),
                EventType = kind == XmppPayloadKind.Event ? type : null,
                OldMailbox = type == MailEventType.MailboxRename && kind == XmppPayloadKind.Event ? MailboxPath.Parse("Old") : null,
                Totals = totals,
                Timestamp = seconds % 2 == 0 ? null : DateTimeOffset.FromUnixTimeSeconds(seconds),
                EventId = seconds % 3 == 0 ? null : "id-" + seconds,
                Stale = seconds % 5 == 0,
            };
        Prop.ForAll(Arb.From(gen), p =>
        {
            var text = XmppMailEventCodec.Write(p).ToString();
            Assert.True(XmppMailEventCodec.TryRead(XElement.Parse(text), out var back, out var error), error);
            Assert.Equal(p, back);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Theory]
    [InlineData("<mail-event xmlns='urn:other' kind='event' seq='1' type='MessageNew' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='bogus' seq='1' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='event' seq='-1' type='MessageNew' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='event' seq='1' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='heartbeat' seq='1' type='MessageNew' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='event' seq='1' type='MessageOld' account='a@b' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='' mailbox='INBOX'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='a@b' mailbox='A//B'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='a@b' mailbox='INBOX' timestamp='yesterday'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='heartbeat' seq='1' account='a@b' mailbox='INBOX' stale='yes'/>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='a@b' mailbox='INBOX'><totals messages='1' unseen='0' uidnext='2'/></mail-event>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='a@b' mailbox='INBOX'><totals messages='99999999999' unseen='0' uidnext='2' uidvalidity='1'/></mail-event>")]
    [InlineData("<mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='initial' seq='1' account='a@b' mailbox='INBOX'><totals messages='1' unseen='0' uidnext='2' uidvalidity='1'/><totals messages='1' unseen='0' uidnext='2' uidvalidity='1'/></mail-event>")]
    public void Malformed_payloads_are_refused_with_a_reason(string xml)
    {
        Assert.False(XmppMailEventCodec.TryRead(XElement.Parse(xml), out _, out var error));
        Assert.False(string.IsNullOrEmpty(error));
    }
}
