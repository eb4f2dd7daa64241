using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Heartbeats;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

public class SipNotifierTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly FakeSipHost _host = new();
    private readonly RecordingSipTransport _transport;

    public SipNotifierTests()
        : this(reliable: true)
    {
    }

    /// <param name="reliable">false: every test again over the UDP path (NOTIFYs as bytes on transaction slots).</param>
    protected SipNotifierTests(bool reliable) => _transport = new RecordingSipTransport(reliable);

    private SipNotifier Notifier(bool authentication = false, Action<SipNotifierOptions>? configure = null)
    {
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" } };
        options.Authentication.Enabled = authentication;
        options.Authentication.Realm = "example.com";
        configure?.Invoke(options);
        var notifier = new SipNotifier(options, _host, SipCredentials.Parse(["juliet:secret", "mallory:evil"], "example.com"), _time, NullLogger<SipNotifier>.Instance);
        notifier.AddTransport(_transport);
        return notifier;
    }

    private void Send(SipNotifier notifier, SipMessage message, TestSubscriber ua) =>
        notifier.Receive(new SipReceivedMessage(message, _transport, ua.EndPoint));

    private async Task<SipResponse> Request(SipNotifier notifier, SipRequest request, TestSubscriber ua)
    {
        var before = _transport.Responses.Count;
        Send(notifier, request, ua);
        await Wait.Until(() => _transport.Responses.Count > before, "a response to " + request.Method);
        return _transport.Responses[before];
    }

    private async Task<SipRequest> NextNotify(int index)
    {
        await Wait.Until(() => _transport.Notifies.Count > index, $"NOTIFY #{index + 1}");
        return _transport.Notifies[index];
    }

    private static MessageSummary Body(SipRequest notify) => MessageSummary.Parse(System.Text.Encoding.UTF8.GetString(notify.Body.Span));

    /// <summary>SUBSCRIBE, 200, first NOTIFY answered 200.</summary>
    private async Task<(TestSubscriber Ua, SipRequest Notify)> Subscribed(SipNotifier notifier, uint expires = 600)
    {
        var ua = new TestSubscriber();
        var ok = await Request(notifier, ua.Subscribe(expires), ua);
        Assert.Equal(200, ok.StatusCode);
        ua.ToTag = ok.To.Tag;
        var notify = await NextNotify(0);
        Send(notifier, TestSubscriber.Answer(notify, 200), ua);
        return (ua, notify);
    }

    [Fact]
    public async Task Unknown_package_gets_489_with_allow_events()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var r = await Request(notifier, ua.Subscribe(eventType: "presence"), ua);
        Assert.Equal(489, r.StatusCode);
        Assert.Equal(["message-summary", "mail-event"], r.AllowEvents);
        Assert.NotNull(r.To.Tag);
    }

    [Fact]
    public async Task Subscribe_200_with_expires_then_at_once_a_notify_with_the_current_state()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var ok = await Request(notifier, ua.Subscribe(600), ua);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal(600u, ok.Expires);
        Assert.NotNull(ok.To.Tag);
        Assert.Single(ok.Contact);

        var notify = await NextNotify(0);
        Assert.Equal(ua.CallId, notify.CallId);
        Assert.Equal(ok.To.Tag, notify.From.Tag);
        Assert.Equal(ua.FromTag, notify.To.Tag);
        Assert.Equal("sip:juliet@127.0.0.1:5070", notify.RequestUri.ToString());
        Assert.Equal("message-summary", notify.Event!.EventType);
        Assert.Equal("active", notify.SubscriptionState!.State);
        Assert.Equal(600u, notify.SubscriptionState.Expires);
        Assert.Equal(MessageSummary.MediaType, notify.ContentType);
        var body = Body(notify);
        Assert.True(body.MessagesWaiting);
        Assert.Equal("sip:juliet@example.com", body.MessageAccount);
        Assert.Equal(new MessageSummaryLine("text-message", 1, 2, 0, 0), body.Lines[0]);

        var s = Assert.Single(_host.Live.Values);
        Assert.Equal("sip:juliet@example.com", s.Subscriber);
        Assert.Equal(AccountId.Parse("juliet@example.com"), s.Filter.Account);
        Assert.Equal(MailboxPath.Inbox, s.Filter.Mailbox);
        Assert.Equal(ua.EndPoint, _transport.Sent.Last().To);
    }

    [Fact]
    public async Task Digest_challenge_then_the_authenticated_identity_is_the_subscriber()
    {
        var notifier = Notifier(authentication: true);
        var ua = new TestSubscriber();
        var request = ua.Subscribe();
        var challenge = await Request(notifier, request, ua);
        Assert.Equal(401, challenge.StatusCode);
        Assert.Equal(2, challenge.WwwAuthenticate.Count);
        Assert.Equal("SHA-256", challenge.WwwAuthenticate[0]["algorithm"]);

        var client = new DigestClient("juliet", "secret");
        var again = ua.Subscribe();
        Assert.True(client.Authorize(again, challenge));
        var ok = await Request(notifier, again, ua);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal("sip:juliet@example.com", Assert.Single(_host.Live.Values).Subscriber);

        // An expired nonce with the right password: 401 with stale=true (RFC 7616 §3.3).
        _time.Advance(TimeSpan.FromMinutes(6));
        ua.ToTag = ok.To.Tag;
        var refresh = ua.Subscribe();
        Assert.True(client.Authorize(refresh, challenge));
        var stale = await Request(notifier, refresh, ua);
        Assert.Equal(401, stale.StatusCode);
        Assert.Equal("true", stale.WwwAuthenticate[0]["stale"]);
    }

    [Fact]
    public async Task Wrong_password_and_denied_subscribers_get_403_with_the_reason()
    {
        var notifier = Notifier(authentication: true);
        var ua = new TestSubscriber();
        var challenge = await Request(notifier, ua.Subscribe(), ua);
        var wrong = ua.Subscribe();
        new DigestClient("juliet", "guess").Authorize(wrong, challenge);
        Assert.Equal(403, (await Request(notifier, wrong, ua)).StatusCode);

        var denied = ua.Subscribe();
        new DigestClient("mallory", "evil").Authorize(denied, challenge);
        var r = await Request(notifier, denied, ua);
        Assert.Equal(403, r.StatusCode);
        Assert.Contains("mallory may not", r.ReasonPhrase, StringComparison.Ordinal);
        Assert.Empty(_host.Live);
    }

    [Theory]
    [InlineData("sip:juliet@elsewhere.example", "domain not served")]
    [InlineData("sip:romeo@example.com", "unknown account")]
    [InlineData("sip:example.com", "no user")]
    public async Task Unknown_domains_and_accounts_get_404(string uri, string reason)
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var r = await Request(notifier, ua.Subscribe(requestUri: uri), ua);
        Assert.Equal(404, r.StatusCode);
        Assert.Contains(reason, r.ReasonPhrase, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Mailbox_uri_parameter_names_a_mailbox_other_than_inbox()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var ok = await Request(notifier, ua.Subscribe(requestUri: "sip:juliet@example.com;mailbox=Archive%2F2024"), ua);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal(MailboxPath.Parse("Archive/2024"), Assert.Single(_host.Live.Values).Filter.Mailbox);
    }

    [Fact]
    public async Task Too_brief_gets_423_with_min_expires_too_long_is_shortened_never_lengthened()
    {
        var notifier = Notifier(configure: o => (o.MinExpiresSeconds, o.MaxExpiresSeconds, o.DefaultExpiresSeconds) = (60, 1800, 900));
        var ua = new TestSubscriber();
        var brief = await Request(notifier, ua.Subscribe(10), ua);
        Assert.Equal(423, brief.StatusCode);
        Assert.Equal("60", brief.Headers.GetFirstValue(SipHeaderNames.MinExpires));

        var longer = await Request(notifier, new TestSubscriber().Subscribe(86400), ua);
        Assert.Equal(1800u, longer.Expires);
        var shorter = await Request(notifier, new TestSubscriber().Subscribe(120), ua);
        Assert.Equal(120u, shorter.Expires);
        var absent = await Request(notifier, new TestSubscriber().Subscribe(null), ua);
        Assert.Equal(900u, absent.Expires);
    }

    [Fact]
    public async Task Refresh_answers_200_and_notifies_again_expires_zero_ends_with_a_final_notify()
    {
        var notifier = Notifier();
        var (ua, first) = await Subscribed(notifier);

        _time.Advance(TimeSpan.FromSeconds(100));
        var refreshed = await Request(notifier, ua.Subscribe(300), ua);
        Assert.Equal(200, refreshed.StatusCode);
        Assert.Equal(300u, refreshed.Expires);
        var second = await NextNotify(1);
        Assert.Equal(300u, second.SubscriptionState!.Expires);
        Assert.True(second.CSeq.Sequence > first.CSeq.Sequence);
        Send(notifier, TestSubscriber.Answer(second, 200), ua);

        var bye = await Request(notifier, ua.Subscribe(0), ua);
        Assert.Equal(200, bye.StatusCode);
        var final = await NextNotify(2);
        Assert.Equal("terminated", final.SubscriptionState!.State);
        Assert.Equal("timeout", final.SubscriptionState.Reason);
        Assert.True(Body(final).MessagesWaiting);
        Send(notifier, TestSubscriber.Answer(final, 200), ua);
        await Wait.Until(() => _host.Live.IsEmpty, "the subscription to end");
        Assert.Equal(0, notifier.DialogCount);

        // The dialog is gone: a further refresh is 481.
        Assert.Equal(481, (await Request(notifier, ua.Subscribe(300), ua)).StatusCode);
    }

    [Fact]
    public async Task Expiry_without_refresh_ends_with_a_final_notify()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier, 120);
        _time.Advance(TimeSpan.FromSeconds(121));
        var final = await NextNotify(1);
        Assert.Equal("terminated", final.SubscriptionState!.State);
        Assert.Equal("timeout", final.SubscriptionState.Reason);
        Send(notifier, TestSubscriber.Answer(final, 200), ua);
        await Wait.Until(() => _host.Ended.Count == 1, "the subscription to end");
    }

    [Theory]
    [InlineData(481)]
    [InlineData(500)]
    [InlineData(404)]
    public async Task A_failed_notify_ends_and_frees_the_subscription(int code)
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        await Request(notifier, ua.Subscribe(), ua);
        var notify = await NextNotify(0);
        Send(notifier, TestSubscriber.Answer(notify, code), ua);
        await Wait.Until(() => _host.Ended.Count == 1, "the subscription to end");
        Assert.Contains(code.ToString(System.Globalization.CultureInfo.InvariantCulture), _host.Ended.Single().Reason, StringComparison.Ordinal);
        Assert.Equal(0, notifier.DialogCount);
    }

    [Fact]
    public async Task A_notify_timeout_ends_the_subscription()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        await Request(notifier, ua.Subscribe(), ua);
        await NextNotify(0);
        _time.Advance(TimeSpan.FromSeconds(33)); // timer F = 64*T1 (RFC 3261 §17.1.2.2)
        await Wait.Until(() => _host.Ended.Count == 1, "the subscription to end");
        Assert.Contains("timed out", _host.Ended.Single().Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Notifies_carry_the_route_set_and_increasing_cseq()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var request = ua.Subscribe();
        request.Headers.Add(SipHeaderNames.RecordRoute, "<sip:127.0.0.1:5080;lr>");
        request.Headers.Add(SipHeaderNames.RecordRoute, "<sip:10.0.0.1;lr>");
        await Request(notifier, request, ua);
        var n = await NextNotify(0);
        Assert.Equal(["<sip:127.0.0.1:5080;lr>", "<sip:10.0.0.1;lr>"], n.Route.Select(r => r.ToString()));
    }

    [Fact]
    public async Task Bursts_collapse_one_notify_in_flight_last_state_always_goes_out_never_out_of_order()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier);
        var subscription = Assert.Single(_host.Live.Values);
        var outstanding = 0;
        var maxOutstanding = 0;
        var answers = new System.Collections.Concurrent.BlockingCollection<SipRequest>();
        _transport.OnNotify = n =>
        {
            var now = Interlocked.Increment(ref outstanding);
            InterlockedMax(ref maxOutstanding, now);
            answers.Add(n);
        };
        // The subscriber answers on its own thread, as fast as it can.
        var answering = Task.Run(() =>
        {
            foreach (var n in answers.GetConsumingEnumerable())
            {
                Interlocked.Decrement(ref outstanding);
                Send(notifier, TestSubscriber.Answer(n, 200), ua);
            }
        });
        const int States = 5000;
        for (var i = 1; i <= States; i++)
        {
            var totals = new MailboxTotals((uint)i, (uint)i, (uint)i + 1, 1);
            notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, totals, i + 1));
        }
        await Wait.Until(() => _transport.Notifies.Count > 0 && Body(_transport.Notifies[^1]).Lines[0].New == States, "the last state to go out");
        answers.CompleteAdding();
        await answering;

        var notifies = _transport.Notifies;
        Assert.True(notifies.Count < States + 1, "bursts collapse");
        Assert.Equal(1, maxOutstanding);
        for (var i = 1; i < notifies.Count; i++)
        {
            Assert.True(notifies[i].CSeq.Sequence == notifies[i - 1].CSeq.Sequence + 1, "CSeq increases by one");
            Assert.True(Body(notifies[i]).Lines[0].New >= Body(notifies[i - 1]).Lines[0].New, "states never go back");
        }
    }

    [Fact]
    public async Task Notifies_delivered_in_a_burst_leave_by_its_end()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier);
        await Wait.Until(() => notifier.BusyDialogs == 0, "the first NOTIFY's transaction to complete");
        var subscription = Assert.Single(_host.Live.Values);
        notifier.BeginBurst();
        notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(4, 4, 5, 1), 2));
        // UDP: held in the burst's batch (one sendmmsg for many); TCP/TLS: written at once.
        Assert.Equal(_transport.IsReliable ? 2 : 1, _transport.Notifies.Count);
        notifier.EndBurst();
        var notify = await NextNotify(1);
        Assert.Equal(4u, Body(notify).Lines[0].New);
        Send(notifier, TestSubscriber.Answer(notify, 200), ua);
        // Outside a burst a delivery goes out at once on every transport.
        notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(5, 5, 6, 1), 3));
        await NextNotify(2);
    }

    [Fact]
    public async Task Notify_queued_while_terminating_collapses_into_the_final_one()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier);
        var subscription = Assert.Single(_host.Live.Values);
        notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(9, 9, 10, 1), 2));
        var inFlight = await NextNotify(1);
        notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(9, 0, 10, 1), 3));
        await Request(notifier, ua.Subscribe(0), ua);
        Send(notifier, TestSubscriber.Answer(inFlight, 200), ua);
        var final = await NextNotify(2);
        Assert.Equal("terminated", final.SubscriptionState!.State);
        Assert.False(Body(final).MessagesWaiting);
        Assert.Equal(3, _transport.Notifies.Count);
    }

    [Fact]
    public async Task Cseq_blocks_are_stored_ahead_off_the_sending_thread_and_always_cover_what_was_sent()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier);
        var subscription = Assert.Single(_host.Live.Values);
        // More NOTIFYs than two blocks: each 200 answered here releases the next NOTIFY on this thread.
        var count = (int)(3 * SipNotifier.CSeqBlock);
        for (var i = 1; i <= count; i++)
        {
            notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals((uint)i, 1, (uint)i + 1, 1), i + 1));
            var notify = await NextNotify(i);
            // RFC 3261 §12.2.1.1 across restarts: what the store holds covers every CSeq already sent.
            Assert.True(Reserved(subscription.TransportState) >= notify.CSeq.Sequence, $"CSeq {notify.CSeq.Sequence} sent beyond the stored reservation {Reserved(subscription.TransportState)}");
            Send(notifier, TestSubscriber.Answer(notify, 200), ua);
            await Wait.Until(() => notifier.BusyDialogs == 0, "the NOTIFY's transaction to complete");
        }
        var window = Assert.Single(notifier.Dialogs).CSeqs!;
        Assert.Equal(0, window.SyncStores); // every block after the one stored with the subscription was stored ahead
        Assert.True(window.AheadStores >= 2, "blocks stored ahead: " + window.AheadStores);
    }

    private static uint Reserved(string? transportState) => SipDialogState.FromJson(transportState)?.CSeqReserved ?? 0;

    [Fact]
    public async Task Restored_dialog_resumes_past_the_reserved_cseq_block()
    {
        var notifier = Notifier();
        var (_, first) = await Subscribed(notifier);
        var stored = Assert.Single(_host.Live.Values);

        // A new process: same stored subscription, a new notifier.
        var restarted = Notifier();
        var restored = new Subscription(stored.Id, stored.Subscriber, stored.Filter, restarted) { TransportState = stored.TransportState, Expires = stored.Expires };
        _host.Live[stored.Id] = restored;
        Assert.Equal(1, restarted.AdoptRestored());
        restarted.Deliver(new Notification(restored, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(1, 0, 2, 1), 2));
        var next = await NextNotify(1);
        Assert.Equal(first.CallId, next.CallId);
        Assert.Equal(first.From.Tag, next.From.Tag);
        Assert.Equal(first.To.Tag, next.To.Tag);
        Assert.True(next.CSeq.Sequence > first.CSeq.Sequence + SipNotifier.CSeqBlock - 1);
    }

    [Fact]
    public async Task Mail_event_package_body_sets_the_filter_and_notifies_carry_event_totals_and_sequence()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var ok = await Request(notifier, ua.Subscribe(eventType: "mail-event", body: """{"mailbox":"INBOX","depth":"infinity","events":["MessageNew"],"heartbeat":120}"""), ua);
        Assert.Equal(200, ok.StatusCode);
        var s = Assert.Single(_host.Live.Values);
        Assert.Equal(EventTypeSet.Of(MailEventType.MessageNew), s.Filter.Events);
        Assert.Equal(SubscriptionDepth.Subtree, s.Filter.Depth);
        Assert.Equal(TimeSpan.FromSeconds(120), s.Filter.Heartbeat);

        var initial = await NextNotify(0);
        Assert.Equal("mail-event", initial.Event!.EventType);
        Assert.Equal(MailEventNotifyBody.MediaType, initial.ContentType);
        Assert.True(MailEventNotifyBody.TryDecode(initial.Body.Span, out var seq, out var kind, out var totals, out _));
        Assert.Equal((1L, "initial", new MailboxTotals(3, 1, 4, 1)), (seq, kind, totals!.Value));
        Assert.Equal(TimeSpan.FromSeconds(120), MailEventNotifyBody.GrantedHeartbeat(initial.Body.Span)); // docs/sip.md: the granted interval
        Send(notifier, TestSubscriber.Answer(initial, 200), ua);

        var e = new MailEvent { Type = MailEventType.MessageNew, Account = s.Filter.Account, Mailbox = MailboxPath.Inbox, Uidset = "4", Totals = new MailboxTotals(4, 2, 5, 1) };
        notifier.Deliver(new Notification(s, NotificationKind.Event, e, MailboxPath.Inbox, e.Totals, 2));
        var next = await NextNotify(1);
        Assert.True(MailEventNotifyBody.TryDecode(next.Body.Span, out seq, out kind, out totals, out _));
        Assert.Equal((2L, "event", 2u), (seq, kind, totals!.Value.Unseen));
        Assert.Contains("\"MessageNew\"", System.Text.Encoding.UTF8.GetString(next.Body.Span), StringComparison.Ordinal);
        Send(notifier, TestSubscriber.Answer(next, 200), ua);

        notifier.Deliver(new Notification(s, NotificationKind.Heartbeat, null, MailboxPath.Inbox, e.Totals, 3));
        var beat = await NextNotify(2);
        Assert.True(MailEventNotifyBody.TryDecode(beat.Body.Span, out seq, out kind, out totals, out _));
        Assert.Equal((3L, "heartbeat", 4u), (seq, kind, totals!.Value.Messages));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(beat.Body.Span)); // only the initial body says it
    }

    [Fact]
    public async Task Mail_event_package_bad_body_gets_400_with_the_reason()
    {
        var notifier = Notifier();
        var ua = new TestSubscriber();
        var r = await Request(notifier, ua.Subscribe(eventType: "mail-event", body: """{"depth":"2"}"""), ua);
        Assert.Equal(400, r.StatusCode);
        Assert.Contains("'depth'", r.ReasonPhrase, StringComparison.Ordinal);
        Assert.Empty(_host.Live);
    }

    [Fact]
    public async Task Shutting_down_keeps_subscriptions_stored_even_with_a_notify_in_flight()
    {
        var notifier = Notifier();
        var (ua, _) = await Subscribed(notifier);
        var s = Assert.Single(_host.Live.Values);
        notifier.Deliver(new Notification(s, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(5, 5, 6, 1), 2));
        var inFlight = await NextNotify(1);
        notifier.Shutdown();
        Send(notifier, TestSubscriber.Answer(inFlight, 503), ua); // e.g. the transport closing under it
        notifier.Deliver(new Notification(s, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(6, 6, 7, 1), 3));
        await Task.Delay(50); // nothing may happen; a short grace for a wrong Unsubscribe to show
        Assert.Empty(_host.Ended);
        Assert.Equal(2, _transport.Notifies.Count);
    }

    [Theory]
    [InlineData("Event", "message-summary;;;=", 400)]
    [InlineData("Contact", "", 400)]
    [InlineData("Expires", "soon", 400)]
    [InlineData("From", "<sip:juliet@example.com>", 400)]
    [InlineData("Authorization", "Digest realm=", 401)]
    public async Task Hostile_subscribes_get_an_error_answer_and_nothing_else(string header, string value, int code)
    {
        var notifier = Notifier(authentication: header == "Authorization");
        var ua = new TestSubscriber();
        var request = ua.Subscribe();
        if (value.Length == 0)
        {
            request.Headers.Remove(header);
        }
        else
        {
            request.Headers.Set(header, value);
        }
        var r = await Request(notifier, request, ua);
        Assert.Equal(code, r.StatusCode);
        Assert.Empty(_host.Live);
        Assert.Empty(_transport.Notifies);
    }

    private static void InterlockedMax(ref int target, int value)
    {
        int seen;
        while ((seen = Volatile.Read(ref target)) < value && Interlocked.CompareExchange(ref target, value, seen) != seen)
        {
        }
    }
}

/// <summary>The same tests over a datagram transport: NOTIFYs written as bytes on per-dialog transaction slots.</summary>
public sealed class SipNotifierUdpTests() : SipNotifierTests(reliable: false);
