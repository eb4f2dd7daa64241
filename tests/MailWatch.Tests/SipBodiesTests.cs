using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Sources;

namespace Aggregators.MailWatch.Tests;

public sealed class SipBodiesTests
{
    [Fact]
    public void The_filter_body_is_one_the_pna_accepts()
    {
        var body = SipBodies.Filter("Lists/\"ietf\"", subtree: true, TimeSpan.FromSeconds(30));
        Assert.True(MailEventFilterBody.TryParse(body, out var parsed, out var error), error);
        Assert.Equal(("Lists/\"ietf\"", SubscriptionDepth.Subtree, TimeSpan.FromSeconds(30)), (parsed!.Mailbox.ToString(), parsed.Depth, parsed.Heartbeat!.Value));
    }

    [Fact]
    public void The_initial_mail_event_body_gives_the_granted_heartbeat()
    {
        var initial = MailEventNotifyBody.Encode(1, "initial", MailboxPath.Inbox, new MailboxTotals(4, 1, 5, 9), null, TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), SipBodies.Read("application/mail-event+json", initial, "INBOX").Heartbeat);
        var empty = MailEventNotifyBody.Encode(0, "initial", MailboxPath.Root, null, null, TimeSpan.FromSeconds(10));
        Assert.Equal(TimeSpan.FromSeconds(10), SipBodies.Read("application/mail-event+json", empty, "INBOX").Heartbeat);
        var beat = MailEventNotifyBody.Encode(2, "heartbeat", MailboxPath.Inbox, new MailboxTotals(4, 1, 5, 9), null, TimeSpan.FromSeconds(10));
        Assert.Null(SipBodies.Read("application/mail-event+json", beat, "INBOX").Heartbeat);
    }

    [Fact]
    public void Mail_event_notify_bodies_as_the_pna_writes_them()
    {
        var body = MailEventNotifyBody.Encode(7, "heartbeat", MailboxPath.Inbox, new MailboxTotals(4, 1, 5, 9), null);
        var reading = SipBodies.Read("application/mail-event+json", body, "INBOX");
        Assert.Equal(new MailboxUpdate("INBOX", 4, 1, 5, 9, UpdateKind.Heartbeat), reading.Update);
        Assert.False(reading.Stale);
        Assert.True(MailEventNotifyBody.TrySnapshot(body, stale: true, out var snapshot));
        Assert.True(SipBodies.Read("application/mail-event+json; charset=utf-8", snapshot, "INBOX").Stale);
    }

    [Fact]
    public void Message_summary_counts_new_and_old_of_every_class()
    {
        var body = Encoding.UTF8.GetBytes("Messages-Waiting: yes\r\nMessage-Account: sip:juliet@example.com\r\nText-Message: 2/5 (0/0)\r\nVoice-Message: 1/0\r\n");
        var reading = SipBodies.Read("application/simple-message-summary", body, "Work");
        Assert.Equal(new MailboxUpdate("Work", 8, 3, null, null, UpdateKind.Event), reading.Update);
    }

    [Theory]
    [InlineData("application/mail-event+json", "{\"sequence\":1}", "mail-event body")]
    [InlineData("application/mail-event+json", "not json", "mail-event body")]
    [InlineData("application/simple-message-summary", "Messages-Waiting: perhaps\r\n", "message-summary body")]
    [InlineData("text/plain", "hello", "unexpected body type")]
    public void Bad_bodies_are_errors_not_exceptions(string type, string body, string error)
    {
        var reading = SipBodies.Read(type, Encoding.UTF8.GetBytes(body), "INBOX");
        Assert.Null(reading.Update);
        Assert.Contains(error, reading.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_empty_body_is_only_a_sign_of_life()
    {
        Assert.Equal(new SipBodies.Reading(null, false, null), SipBodies.Read(null, [], "INBOX"));
    }
}
