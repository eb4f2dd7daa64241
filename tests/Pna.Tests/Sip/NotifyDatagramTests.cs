using System.Net;
using System.Text;
using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Tests.Shared;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>The UDP NOTIFY written straight to bytes is what the codec writes for the same NOTIFY as a request.</summary>
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

    [Fact]
    public void The_datagram_is_byte_for_byte_the_written_request()
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

            var expected = SipMessageWriter.ToBytes(notifier.BuildNotify(dialog, notification, c.TerminateReason, c.CSeq, branch));
            var actual = notifier.NotifyDatagramBytes(dialog, notification, c.TerminateReason, c.CSeq, branch);
            Assert.Equal(Encoding.UTF8.GetString(expected), Encoding.UTF8.GetString(actual));
            // Twice: the second one comes from the cached event part and dialog parts.
            Assert.Equal(expected, notifier.NotifyDatagramBytes(dialog, notification, c.TerminateReason, c.CSeq, branch));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
