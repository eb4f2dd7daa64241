using System.Net;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Tests.Shared;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>The notifier's NOTIFY bytes, checked against the RFCs for generated dialog states.</summary>
public class NotifyDatagramTests
{
    private sealed record Case(
        SipDialogState State, string? AdvertisedHost, long ExpiresIn, uint CSeq, string? TerminateReason,
        NotificationKind Kind, uint Messages, uint Unseen, bool WithTotals, bool WithEvent, bool WithNotification, long Sequence, string Mailbox);

    private static readonly Gen<Case> Cases =
        from user in Gen.Elements("juliet", "romeo", "a.b-c", "x_1")
        from host in Gen.Elements("127.0.0.1", "example.com", "[::1]", "pbx.example.org")
        from port in Gen.Elements("", ":5070", ":65535")
        from uriParams in Gen.Elements("", ";transport=udp", ";ob", ";mailbox=Archive")
        from routes in Gen.Choose(0, 3)
        from callId in Gen.Elements("a84b4c76e66710", "load-17", "3848276298220188511@atlanta.example.com")
        from localTag in Gen.Elements("1928301774", "pna.x9")
        from remoteTag in Gen.Elements("s0", "a73kszlfl")
        from package in Gen.Elements("message-summary", "mail-event")
        from eventId in Gen.Elements<string?>(null, "7", "mwi")
        from account in Gen.Elements<string?>("sip:juliet@example.com", null)
        from advertised in Gen.Elements<string?>(null, "pna.example.com", "2001:db8::1")
        from expiresIn in Gen.Choose(-5, 100_000)
        from cseq in Gen.Choose(1, int.MaxValue)
        from reason in Gen.Elements<string?>(null, null, "timeout", "rejected", "noresource")
        from kind in Gen.Elements(NotificationKind.Event, NotificationKind.Initial, NotificationKind.Heartbeat)
        from messages in Gen.Choose(0, 100_000)
        from unseen in Gen.Choose(0, 100_000)
        from withTotals in Gen.Elements(true, true, false)
        from withEvent in Gen.Elements(true, false)
        from withNotification in Gen.Elements(true, true, true, false)
        from sequence in Gen.Choose(0, int.MaxValue)
        from mailbox in Gen.Elements("INBOX", "Archive/2026", "Ünïcode")
        select new Case(
            new SipDialogState
            {
                CallId = callId,
                LocalTag = localTag,
                RemoteTag = remoteTag,
                LocalUri = "<sip:juliet@example.com>",
                RemoteUri = $"<sip:{user}@example.net>",
                RemoteTarget = $"sip:{user}@{host}{port}{uriParams}",
                RouteSet = [.. Enumerable.Range(0, routes).Select(i => $"<sip:proxy{i}.example.com;lr>")],
                Event = package,
                EventId = eventId,
                Transport = "udp",
                Remote = "127.0.0.1:5070",
                Account = account,
                CSeq = 1,
                CSeqReserved = 1,
            },
            advertised, expiresIn, (uint)cseq, reason, kind, (uint)messages, (uint)unseen, withTotals, withEvent, withNotification, sequence, mailbox);

    /// <summary>
    /// The notifier has one NOTIFY writer (every transport sends its bytes); here its bytes are parsed
    /// with the codec and checked against what RFC 3261 §12.2.1.1, RFC 6665 §4.2.2/§8.2.3, RFC 3842 and
    /// docs/sip.md say a NOTIFY of this dialog state must carry, for 500 generated states.
    /// </summary>
    [Fact]
    public void The_notify_carries_what_the_rfcs_require_for_any_dialog_state()
    {
        var time = new ManualTimeProvider();
        var transport = new RecordingSipTransport(reliable: false);
        var host = new FakeSipHost();
        Prop.ForAll(Arb.From(Cases), c =>
        {
            var options = new SipNotifierOptions { Enabled = true, RejectUnknownAccounts = false, Domains = { "example.com" }, AdvertisedHost = c.AdvertisedHost ?? "" };
            options.Authentication.Enabled = false;
            var notifier = new SipNotifier(options, host, SipCredentials.Empty, time, NullLogger<SipNotifier>.Instance);
            var filter = new SubscriptionFilter { Account = AccountId.Parse("juliet@example.com"), Mailbox = MailboxPath.Parse(c.Mailbox), Heartbeat = TimeSpan.FromMinutes(5) };
            var subscription = new Subscription(1, "sip:juliet@example.com", filter, notifier) { Expires = time.GetUtcNow().AddSeconds(c.ExpiresIn) };
            var dialog = new NotifierDialog(c.State, transport) { Subscription = subscription, Remote = new IPEndPoint(IPAddress.Loopback, 5070) };
            var totals = c.WithTotals ? new MailboxTotals(c.Messages, c.Unseen, c.Messages + 1, 7) : (MailboxTotals?)null;
            var mailEvent = c.WithEvent
                ? new MailEvent { Type = MailEventType.MessageNew, Account = filter.Account, Mailbox = filter.Mailbox, Id = "e1", Uidset = "4:5", Totals = totals }
                : null;
            Notification? notification = c.WithNotification ? new Notification(subscription, c.Kind, mailEvent, filter.Mailbox, totals, c.Sequence) : null;
            var branch = SipTransactionKey.NewBranch();

            var bytes = notifier.NotifyBytes(dialog, notification, c.TerminateReason, c.CSeq, branch);
            var notify = Assert.IsType<SipRequest>(SipMessageParser.ParseDatagram(bytes));
            var s = c.State;

            // RFC 3261 §12.2.1.1: the remote target, the route set, the dialog's identifiers, the next CSeq.
            Assert.Equal(SipMethods.Notify, notify.Method);
            Assert.Equal(SipUri.Parse(s.RemoteTarget).ToString(), notify.RequestUri.ToString());
            Assert.Equal(s.RouteSet, notify.Headers.GetAll(SipHeaderNames.Route).Select(r => r.Value));
            Assert.Equal(70, notify.MaxForwards);
            Assert.Equal(SipUri.Parse(s.LocalUri.Trim('<', '>')).ToString(), notify.From.Uri.ToString());
            Assert.Equal(s.LocalTag, notify.From.Tag);
            Assert.Equal(SipUri.Parse(s.RemoteUri.Trim('<', '>')).ToString(), notify.To.Uri.ToString());
            Assert.Equal(s.RemoteTag, notify.To.Tag);
            Assert.Equal(s.CallId, notify.CallId);
            Assert.Equal(c.CSeq, notify.CSeq.Sequence);
            Assert.Equal(SipMethods.Notify, notify.CSeq.Method);
            // §8.1.1.7 and §18.1.1, RFC 3581: our sent-by, the given branch, rport asked for.
            var via = Assert.Single(notify.Via);
            Assert.Equal("UDP", via.Transport);
            Assert.Equal(branch, via.Branch);
            Assert.True(via.HasRport);
            var sentBy = c.AdvertisedHost is { } a ? a.Trim('[', ']') : "127.0.0.1";
            Assert.Equal(sentBy, via.Host.Trim('[', ']'));
            Assert.Equal(5060, via.Port);
            var contact = Assert.Single(notify.Contact);
            Assert.Equal(sentBy, contact.Uri.Host.Trim('[', ']'));
            // RFC 6665 §8.2.1: the subscription's package and id.
            Assert.Equal(s.Event, notify.Event!.EventType);
            Assert.Equal(s.EventId, notify.Event.Id);
            // RFC 6665 §4.1.3, §8.2.3: the time left, or terminated with the reason.
            var state = notify.SubscriptionState!;
            if (c.TerminateReason is { } reason)
            {
                Assert.Equal("terminated", state.State);
                Assert.Equal(reason, state.Reason);
            }
            else
            {
                Assert.Equal("active", state.State);
                Assert.Equal((uint)Math.Max(0, c.ExpiresIn), state.Expires);
            }
            Assert.Equal(notify.Body.Length, notify.ContentLength);
            var kind = c.Kind switch { NotificationKind.Event => "event", NotificationKind.Heartbeat => "heartbeat", _ => "initial" };
            if (s.Event == MailEventNotifyBody.EventPackage)
            {
                // docs/sip.md: the subscription's sequence number, the kind, the totals and the event; the granted heartbeat in an initial body.
                Assert.Equal(MailEventNotifyBody.MediaType, notify.ContentType);
                var expected = notification is { } n
                    ? MailEventNotifyBody.Encode(n.Sequence, kind, n.Mailbox, n.Totals, n.Event, n.Kind == NotificationKind.Initial ? filter.Heartbeat : null)
                    : MailEventNotifyBody.Encode(0, "initial", filter.Mailbox, null, null, filter.Heartbeat);
                Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(notify.Body.Span));
            }
            else
            {
                // RFC 3842 §5.2: Messages-Waiting from the unseen count, the account, new/old counts of the class.
                Assert.Equal(MessageSummary.MediaType, notify.ContentType);
                var summary = MessageSummary.Parse(Encoding.UTF8.GetString(notify.Body.Span));
                Assert.Equal(s.Account, summary.MessageAccount);
                var known = notification?.Totals;
                Assert.Equal(known is { Unseen: > 0 }, summary.MessagesWaiting);
                if (known is { } t)
                {
                    Assert.Equal(MessageSummary.FromTotals(t, s.Account).ToString(), summary.ToString());
                }
            }
            // Twice: the second one comes from the cached event part and dialog parts.
            Assert.Equal(bytes, notifier.NotifyBytes(dialog, notification, c.TerminateReason, c.CSeq, branch));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
