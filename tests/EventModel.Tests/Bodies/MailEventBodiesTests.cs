using System.Text;
using Aggregators.EventModel.Bodies;

namespace Aggregators.EventModel.Tests.Bodies;

public class MailEventBodiesTests
{
    [Fact]
    public void Filter_body_maps_to_a_subscription_filter()
    {
        Assert.True(MailEventFilterBody.TryParse("""{"mailbox":"Work/Reports","depth":"1","events":["MessageNew","FlagsSet"],"heartbeat":300}"""u8, out var body, out var error), error);
        var filter = body!.ToFilter(AccountId.Parse("juliet@example.com"));
        Assert.Equal(MailboxPath.Parse("Work/Reports"), filter.Mailbox);
        Assert.Equal(SubscriptionDepth.One, filter.Depth);
        Assert.Equal(EventTypeSet.Of(MailEventType.MessageNew, MailEventType.FlagsSet), filter.Events);
        Assert.Equal(TimeSpan.FromMinutes(5), filter.Heartbeat);
        Assert.True(MailEventFilterBody.TryParse(body.ToBytes(), out var back, out _));
        Assert.Equal(body, back);
    }

    [Fact]
    public void Empty_body_is_the_whole_account()
    {
        Assert.True(MailEventFilterBody.TryParse(""u8, out var body, out _));
        Assert.Equal(MailEventFilterBody.Default, body);
        Assert.True(MailEventFilterBody.TryParse("{}"u8, out body, out _));
        Assert.Equal(MailEventFilterBody.Default, body);
    }

    [Theory]
    [InlineData("[]", "JSON object")]
    [InlineData("{\"depth\":\"2\"}", "'depth'")]
    [InlineData("{\"events\":[]}", "non-empty")]
    [InlineData("{\"events\":[\"MailArrived\"]}", "not an RFC 5423 event name")]
    [InlineData("{\"heartbeat\":0}", "'heartbeat'")]
    [InlineData("{\"heartbeat\":1.5}", "'heartbeat'")]
    [InlineData("{\"mailbox\":7}", "'mailbox'")]
    [InlineData("{\"colour\":\"red\"}", "unknown member")]
    [InlineData("{", "not JSON")]
    public void Bad_filter_bodies_are_refused_with_a_reason(string json, string reason)
    {
        Assert.False(MailEventFilterBody.TryParse(Encoding.UTF8.GetBytes(json), out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Notify_body_carries_sequence_totals_and_the_event()
    {
        var e = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = AccountId.Parse("juliet@example.com"),
            Mailbox = MailboxPath.Inbox,
            Uidset = "4",
            Totals = new MailboxTotals(4, 1, 5, 9),
        };
        var bytes = MailEventNotifyBody.Encode(7, "event", MailboxPath.Inbox, e.Totals, e);
        var text = Encoding.UTF8.GetString(bytes);
        Assert.StartsWith("""{"sequence":7,"kind":"event","mailbox":"INBOX","totals":{"messages":4,"unseen":1,"uidnext":5,"uidvalidity":9},"event":{""", text, StringComparison.Ordinal);
        Assert.Contains("\"MessageNew\"", text, StringComparison.Ordinal);
        Assert.True(MailEventNotifyBody.TryDecode(bytes, out var seq, out var kind, out var totals, out var error), error);
        Assert.Equal((7L, "event", new MailboxTotals(4, 1, 5, 9)), (seq, kind, totals!.Value));
    }

    [Fact]
    public void The_initial_body_can_carry_the_granted_heartbeat()
    {
        var body = MailEventNotifyBody.Encode(1, "initial", MailboxPath.Inbox, new MailboxTotals(3, 1, 4, 7), null, TimeSpan.FromSeconds(10));
        Assert.Contains("\"heartbeat\":10", Encoding.UTF8.GetString(body), StringComparison.Ordinal);
        Assert.Equal(TimeSpan.FromSeconds(10), MailEventNotifyBody.GrantedHeartbeat(body));
        Assert.True(MailEventNotifyBody.TryDecode(body, out var seq, out var kind, out var totals, out var error), error);
        Assert.Equal((1L, "initial", new MailboxTotals(3, 1, 4, 7)), (seq, kind, totals!.Value));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(MailEventNotifyBody.Encode(1, "initial", MailboxPath.Inbox, null, null)));
    }

    [Theory]
    [InlineData("""{"sequence":1,"kind":"initial","mailbox":"INBOX","heartbeat":0}""")]
    [InlineData("""{"sequence":1,"kind":"initial","mailbox":"INBOX","heartbeat":86401}""")]
    [InlineData("""{"sequence":1,"kind":"initial","mailbox":"INBOX","heartbeat":"10"}""")]
    [InlineData("""{"sequence":1,"kind":"initial","mailbox":"INBOX","heartbeat":1.5}""")]
    [InlineData("""[10]""")]
    [InlineData("""{"heartbeat":""")]
    public void A_missing_or_malformed_heartbeat_is_not_a_grant(string json)
    {
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(Encoding.UTF8.GetBytes(json)));
    }

    [Fact]
    public void A_snapshot_keeps_sequence_mailbox_and_totals_drops_the_event_and_marks_stale()
    {
        var e = new MailEvent
        {
            Type = MailEventType.MessageNew,
            Account = AccountId.Parse("juliet@example.com"),
            Mailbox = MailboxPath.Inbox,
            Uidset = "4",
            Totals = new MailboxTotals(4, 1, 5, 9),
        };
        var body = MailEventNotifyBody.Encode(7, "event", MailboxPath.Inbox, e.Totals, e);
        Assert.True(MailEventNotifyBody.TrySnapshot(body, stale: true, out var stale));
        Assert.Equal("""{"sequence":7,"kind":"initial","mailbox":"INBOX","totals":{"messages":4,"unseen":1,"uidnext":5,"uidvalidity":9},"stale":true}""", Encoding.UTF8.GetString(stale!));
        Assert.True(MailEventNotifyBody.IsStale(stale));
        Assert.True(MailEventNotifyBody.TryDecode(stale, out var seq, out var kind, out var totals, out _));
        Assert.Equal((7L, "initial", new MailboxTotals(4, 1, 5, 9)), (seq, kind, totals!.Value));
        Assert.True(MailEventNotifyBody.TrySnapshot(body, stale: false, out var fresh));
        Assert.False(MailEventNotifyBody.IsStale(fresh));
        Assert.False(MailEventNotifyBody.IsStale(body));
        var root = MailEventNotifyBody.Encode(1, "initial", MailboxPath.Root, null, null);
        Assert.True(MailEventNotifyBody.TrySnapshot(root, stale: true, out var rootStale));
        Assert.Equal("""{"sequence":1,"kind":"initial","mailbox":"","stale":true}""", Encoding.UTF8.GetString(rootStale!));
        Assert.False(MailEventNotifyBody.TrySnapshot("not json"u8, stale: true, out _));
        Assert.False(MailEventNotifyBody.TrySnapshot("""{"kind":"event"}"""u8, stale: true, out _));
        Assert.False(MailEventNotifyBody.IsStale("[1]"u8));
    }

    [Fact]
    public void A_snapshot_says_the_heartbeat_it_is_given_in_place_of_the_cached_one()
    {
        // The PNA granted 10 s; the CNA tells its local subscriber 30 s, or nothing (docs/cna.md).
        var body = MailEventNotifyBody.Encode(3, "initial", MailboxPath.Inbox, new MailboxTotals(2, 1, 3, 9), null, TimeSpan.FromSeconds(10));
        Assert.True(MailEventNotifyBody.TrySnapshot(body, stale: false, TimeSpan.FromSeconds(30), out var local));
        Assert.Equal("""{"sequence":3,"kind":"initial","mailbox":"INBOX","heartbeat":30,"totals":{"messages":2,"unseen":1,"uidnext":3,"uidvalidity":9}}""", Encoding.UTF8.GetString(local!));
        Assert.Equal(TimeSpan.FromSeconds(30), MailEventNotifyBody.GrantedHeartbeat(local));
        Assert.True(MailEventNotifyBody.TrySnapshot(body, stale: true, heartbeat: null, out var none));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(none));
        Assert.True(MailEventNotifyBody.IsStale(none));
    }
}
