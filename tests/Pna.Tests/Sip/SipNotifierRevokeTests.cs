using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Transport;
using Aggregators.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>A revoked authorization ends the dialog with terminated;reason=rejected (RFC 6665 §4.1.3) and no further state.</summary>
public sealed class SipNotifierRevokeTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly FakeSipHost _host = new();
    private readonly RecordingSipTransport _transport = new();

    private SipNotifier Notifier()
    {
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" } };
        options.Authentication.Enabled = false;
        var notifier = new SipNotifier(options, _host, SipCredentials.Parse([], "example.com"), _time, NullLogger<SipNotifier>.Instance);
        notifier.AddTransport(_transport);
        return notifier;
    }

    private void Send(SipNotifier notifier, SipMessage message, TestSubscriber ua) =>
        notifier.Receive(new SipReceivedMessage(message, _transport, ua.EndPoint));

    private async Task<SipRequest> NextNotify(int index)
    {
        await Wait.Until(() => _transport.Notifies.Count > index, $"NOTIFY #{index + 1}");
        return _transport.Notifies[index];
    }

    private async Task<(TestSubscriber Ua, Subscription Subscription)> Subscribed(SipNotifier notifier)
    {
        var ua = new TestSubscriber();
        Send(notifier, ua.Subscribe(600), ua);
        await Wait.Until(() => _transport.Responses.Count > 0, "200 to SUBSCRIBE");
        ua.ToTag = _transport.Responses[0].To.Tag;
        var notify = await NextNotify(0);
        Send(notifier, TestSubscriber.Answer(notify, 200), ua);
        return (ua, Assert.Single(_host.Live.Values));
    }

    private static Notification Event(Subscription s, long sequence) =>
        new(s, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(9, 9, 10, 1), sequence);

    [Fact]
    public async Task Revoke_sends_a_final_rejected_notify_without_counts_and_ends_the_subscription()
    {
        var notifier = Notifier();
        var (ua, s) = await Subscribed(notifier);

        notifier.Revoke(s, "authorization withdrawn: missing 'r'");
        var final = await NextNotify(1);
        Assert.Equal("terminated", final.SubscriptionState!.State);
        Assert.Equal("rejected", final.SubscriptionState.Reason);
        var body = MessageSummary.Parse(System.Text.Encoding.UTF8.GetString(final.Body.Span));
        Assert.False(body.MessagesWaiting);
        Assert.Empty(body.Lines);

        notifier.Deliver(Event(s, 5)); // a late event from the dispatcher: nothing goes out
        Send(notifier, TestSubscriber.Answer(final, 200), ua);
        await Wait.Until(() => !_host.Ended.IsEmpty, "the PNA subscription to end");
        Assert.Contains("rejected", Assert.Single(_host.Ended).Reason, StringComparison.Ordinal);
        Assert.Equal(2, _transport.Notifies.Count);
    }

    [Fact]
    public async Task Revoke_while_a_notify_is_in_flight_sends_no_pending_state()
    {
        var notifier = Notifier();
        var (ua, s) = await Subscribed(notifier);
        notifier.Deliver(Event(s, 2));
        var inFlight = await NextNotify(1);
        notifier.Deliver(Event(s, 3)); // pending behind it

        notifier.Revoke(s, "authorization withdrawn");
        notifier.Deliver(Event(s, 4));
        Send(notifier, TestSubscriber.Answer(inFlight, 200), ua);
        var final = await NextNotify(2);
        Assert.Equal("rejected", final.SubscriptionState!.Reason);
        Assert.False(MessageSummary.Parse(System.Text.Encoding.UTF8.GetString(final.Body.Span)).MessagesWaiting);
    }
}
