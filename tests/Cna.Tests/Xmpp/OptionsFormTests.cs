using Aggregators.Cna.Xmpp;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Cna.Tests.Xmpp;

/// <summary>The CNA's use of the subscribe options (the form itself: EventModel.Tests PubsubSubscribeOptionsTests).</summary>
public sealed class OptionsFormTests
{
    [Fact]
    public void The_upstream_key_asks_the_watchdog_heartbeat_unless_the_subscriber_wants_a_shorter_one()
    {
        var juliet = AccountId.Parse("juliet@example.com");
        var watchdog = TimeSpan.FromSeconds(60);
        var none = UpstreamKey.For(juliet, "mail_events/INBOX", PubsubSubscribeOptions.Default, watchdog);
        var longer = UpstreamKey.For(juliet, "mail_events/INBOX", PubsubSubscribeOptions.Default with { Heartbeat = TimeSpan.FromSeconds(300) }, watchdog);
        var shorter = UpstreamKey.For(juliet, "mail_events/INBOX", PubsubSubscribeOptions.Default with { Heartbeat = TimeSpan.FromSeconds(20) }, watchdog);
        Assert.Equal(none, longer);
        Assert.Equal(watchdog, none.Heartbeat);
        Assert.Equal(TimeSpan.FromSeconds(20), shorter.Heartbeat);
        Assert.NotEqual(none.Resource, shorter.Resource);
        Assert.Equal(none.Resource, longer.Resource);
        Assert.StartsWith("up-", none.Resource, StringComparison.Ordinal);
        var subtree = UpstreamKey.For(juliet, "mail_events/INBOX", PubsubSubscribeOptions.Default with { Depth = SubscriptionDepth.Subtree }, watchdog);
        Assert.NotEqual(none.Resource, subtree.Resource);
    }
}
