using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>
/// The RFC 6665 subscriber against a scripted notifier: the test reads what the subscriber sends
/// from a recording transport and plays the notifier's responses and NOTIFYs back in.
/// </summary>
public sealed class SubscriberTests
{
    private static readonly IPEndPoint Notifier = new(IPAddress.Loopback, 5060);

    private sealed class Harness
    {
        public ManualTimeProvider Time { get; } = new();
        public RecordingTransport Transport { get; } = new();
        public SipTransactionLayer Transactions { get; }
        public SipSubscriber Subscriber { get; }
        public ConcurrentQueue<SipNotification> Notifies { get; } = new();
        public ConcurrentQueue<SipSubscriptionEnd> Ends { get; } = new();
        private uint _notifyCSeq = 100;

        public Harness()
        {
            Transactions = new SipTransactionLayer(time: Time);
            Subscriber = new SipSubscriber(Transactions, Time);
        }

        public SipSubscription Subscribe(DigestClient? credentials = null, uint expires = 600, string ev = "message-summary", byte[]? body = null, TimeSpan? maxRefresh = null) =>
            Subscriber.Subscribe(new SipSubscriptionOptions
            {
                RequestUri = SipUri.Parse("sip:juliet@example.com"),
                From = SipNameAddress.Parse("<sip:romeo@example.net>"),
                Event = ev,
                Accept = "application/simple-message-summary",
                Expires = expires,
                ContentType = body is null ? null : "application/mail-event-filter+json",
                Body = body ?? ReadOnlyMemory<byte>.Empty,
                Transport = Transport,
                Destination = Notifier,
                Credentials = credentials,
                MaxRefreshInterval = maxRefresh,
                ExtraHeaders = [new("P-Asserted-Identity", "<sip:romeo@example.net>")],
                OnNotify = (_, n) => Notifies.Enqueue(n),
                OnEnded = (_, e) => Ends.Enqueue(e),
            });

        public async Task<SipRequest> NextSubscribeAsync(int count)
        {
            await Until(() => Transport.Requests.Count(r => r.Method == SipMethods.Subscribe) >= count, $"SUBSCRIBE #{count}");
            return Transport.Requests.Where(r => r.Method == SipMethods.Subscribe).ElementAt(count - 1);
        }

        public void Respond(SipRequest request, int code, Action<SipResponse>? edit = null, string? toTag = "nt1")
        {
            var response = SipResponse.CreateFor(request, code, toTag: toTag);
            if (code is >= 200 and < 300) response.Headers.Set(SipHeaderNames.Contact, "<sip:pna@127.0.0.1:5060>");
            edit?.Invoke(response);
            Assert.True(Transactions.ProcessResponse(Reparse(response)));
        }

        /// <summary>A NOTIFY from the notifier in the dialog of <paramref name="subscribe"/>; returns the answer.</summary>
        public async Task<SipResponse> NotifyAsync(SipRequest subscribe, string state, string body = "Messages-Waiting: yes\r\n", string remoteTag = "nt1", string ev = "message-summary", uint? cseq = null)
        {
            var branch = SipTransactionKey.NewBranch();
            var text =
                $"NOTIFY sip:127.0.0.1:5070 SIP/2.0\r\n" +
                $"Via: SIP/2.0/TCP 127.0.0.1:5060;branch={branch}\r\n" +
                "Max-Forwards: 70\r\n" +
                $"From: <sip:juliet@example.com>;tag={remoteTag}\r\n" +
                $"To: {subscribe.From}\r\n" +
                $"Call-ID: {subscribe.CallId}\r\n" +
                $"CSeq: {cseq ?? ++_notifyCSeq} NOTIFY\r\n" +
                "Contact: <sip:pna@127.0.0.1:5060>\r\n" +
                $"Event: {ev}\r\n" +
                $"Subscription-State: {state}\r\n" +
                "Content-Type: application/simple-message-summary\r\n" +
                $"Content-Length: {Encoding.UTF8.GetByteCount(body)}\r\n\r\n" + body;
            var notify = (SipRequest)SipMessageParser.ParseDatagram(Encoding.UTF8.GetBytes(text));
            var tx = Transactions.ProcessRequest(notify, Transport, Notifier);
            Assert.NotNull(tx);
            Assert.True(Subscriber.HandleNotify(tx));
            await Until(() => Transport.Responses.Any(r => r.CSeq.Method == SipMethods.Notify && r.Via[0].Branch == branch), "the answer to the NOTIFY");
            return Transport.Responses.Last(r => r.Via[0].Branch == branch);
        }
    }

    [Fact]
    public async Task Subscribe_carries_event_accept_expires_body_and_answers_a_401_with_counted_digest()
    {
        var h = new Harness();
        var subscription = h.Subscribe(new DigestClient("romeo", "secret"), body: "{\"heartbeat\":60}"u8.ToArray(), ev: "mail-event");
        var first = await h.NextSubscribeAsync(1);
        Assert.Equal("sip:juliet@example.com", first.RequestUri.ToString());
        Assert.Equal("mail-event", first.Event!.EventType);
        Assert.Equal("application/simple-message-summary", first.Headers.GetFirstValue(SipHeaderNames.Accept));
        Assert.Equal(600u, first.Expires);
        Assert.Equal("{\"heartbeat\":60}", Encoding.UTF8.GetString(first.Body.Span));
        Assert.Equal("application/mail-event-filter+json", first.ContentType);
        Assert.Equal("<sip:romeo@example.net>", first.Headers.GetFirstValue("P-Asserted-Identity"));
        Assert.NotNull(first.From.Tag);
        Assert.Null(first.To.Tag);
        Assert.Single(first.Contact);
        Assert.Empty(first.Authorization);

        h.Respond(first, 401, r => r.Headers.Add(SipHeaderNames.WwwAuthenticate, "Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\", algorithm=MD5"), toTag: null);
        var second = await h.NextSubscribeAsync(2);
        Assert.Equal(first.CallId, second.CallId);
        Assert.Equal(first.From.Tag, second.From.Tag);
        Assert.Equal(first.CSeq.Sequence + 1, second.CSeq.Sequence);
        Assert.NotEqual(first.Via[0].Branch, second.Via[0].Branch);
        var auth = Assert.Single(second.Authorization);
        Assert.Equal("romeo", auth["username"]);
        Assert.Equal("00000001", auth["nc"]);
        // The response verifies against the server side of the same computation.
        var ha1 = DigestComputation.Ha1(DigestAlgorithm.Md5, "romeo", "example.com", "secret");
        var expected = DigestComputation.Response(DigestAlgorithm.Md5, ha1, "n1", "00000001", auth["cnonce"], "auth", DigestComputation.Ha2(DigestAlgorithm.Md5, "SUBSCRIBE", "sip:juliet@example.com"));
        Assert.Equal(expected, auth["response"]);

        h.Respond(second, 200, r => r.Expires = 300);
        await Until(() => subscription.Status == SipSubscriptionStatus.Pending, "pending after the 200");
        Assert.Equal(h.Time.GetUtcNow().AddSeconds(300), subscription.ExpiresAt);
        var answer = await h.NotifyAsync(second, "active;expires=299", ev: "mail-event");
        Assert.Equal(200, answer.StatusCode);
        Assert.Equal(SipSubscriptionStatus.Active, subscription.Status);
        var n = Assert.Single(h.Notifies);
        Assert.Equal("Messages-Waiting: yes\r\n", Encoding.UTF8.GetString(n.Body.Span));
        Assert.Equal(299u, n.State.Expires);
    }

    [Fact]
    public async Task A_NOTIFY_before_the_200_makes_the_dialog_and_the_refresh_follows_the_latest_expires()
    {
        var h = new Harness();
        var subscription = h.Subscribe(new DigestClient("romeo", "secret"));
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 401, r => r.Headers.Add(SipHeaderNames.WwwAuthenticate, "Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\""), toTag: null);
        var second = await h.NextSubscribeAsync(2);

        // RFC 6665 §4.1.2.4: the NOTIFY overtakes the 200.
        Assert.Equal(200, (await h.NotifyAsync(second, "active;expires=100")).StatusCode);
        Assert.Equal(SipSubscriptionStatus.Active, subscription.Status);
        Assert.NotNull(subscription.DialogId);
        h.Respond(second, 200, r => r.Expires = 600);
        await Until(() => subscription.ExpiresAt == h.Time.GetUtcNow().AddSeconds(600), "the 200's Expires");
        // A later NOTIFY says 100 s are left: the refresh comes half-way, not at 600 - 60.
        await h.NotifyAsync(second, "active;expires=100");
        h.Time.Advance(TimeSpan.FromSeconds(49));
        Assert.Equal(2, h.Transport.Requests.Count(r => r.Method == SipMethods.Subscribe));
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var refresh = await h.NextSubscribeAsync(3);
        Assert.Equal("nt1", refresh.To.Tag);
        Assert.Equal(second.From.Tag, refresh.From.Tag);
        Assert.Equal("sip:pna@127.0.0.1:5060", refresh.RequestUri.ToString()); // the remote target
        Assert.Equal("00000002", Assert.Single(refresh.Authorization)["nc"]); // the same nonce, counted on (§22.3)
        Assert.Equal(600u, refresh.Expires);
        h.Respond(refresh, 200, r => r.Expires = 600, toTag: null);
        await Until(() => subscription.ExpiresAt == h.Time.GetUtcNow().AddSeconds(600), "the refresh's Expires");
        Assert.Empty(h.Ends);
    }

    [Fact]
    public async Task MaxRefreshInterval_caps_the_refresh_time()
    {
        var h = new Harness();
        h.Subscribe(maxRefresh: TimeSpan.FromSeconds(10));
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 200, r => r.Expires = 3600);
        await h.NotifyAsync(first, "active;expires=3600");
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var refresh = await h.NextSubscribeAsync(2);
        Assert.Equal("nt1", refresh.To.Tag);
    }

    [Theory]
    [InlineData("terminated;reason=probation;retry-after=30", "probation", 30, true)]
    [InlineData("terminated;reason=deactivated", "deactivated", null, true)]
    [InlineData("terminated;reason=rejected", "rejected", null, false)]
    [InlineData("terminated;reason=noresource", "noresource", null, false)]
    [InlineData("terminated", null, null, true)]
    public async Task A_terminating_NOTIFY_ends_with_the_reason_and_retry_advice(string state, string? reason, int? retryAfter, bool mayRetry)
    {
        var h = new Harness();
        var subscription = h.Subscribe();
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 200, r => r.Expires = 600);
        await h.NotifyAsync(first, "active;expires=600");
        Assert.Equal(200, (await h.NotifyAsync(first, state)).StatusCode);
        var end = Assert.Single(h.Ends);
        Assert.Equal(SipSubscriptionEndKind.Terminated, end.Kind);
        Assert.Equal(reason, end.Reason);
        Assert.Equal(retryAfter is { } s ? TimeSpan.FromSeconds(s) : null, end.RetryAfter);
        Assert.Equal(mayRetry, end.MayRetry);
        Assert.Equal(2, h.Notifies.Count); // the final NOTIFY's state is handed on too
        Assert.Equal(SipSubscriptionStatus.Ended, subscription.Status);
        Assert.Equal(0, h.Subscriber.Count);
        Assert.Equal(481, (await h.NotifyAsync(first, "active;expires=600")).StatusCode);
        // No refresh after the end.
        h.Time.Advance(TimeSpan.FromSeconds(700));
        Assert.Single(h.Transport.Requests, r => r.Method == SipMethods.Subscribe);
    }

    [Fact]
    public async Task Unsubscribe_sends_expires_0_in_the_dialog_and_the_final_NOTIFY_still_gets_200()
    {
        var h = new Harness();
        var subscription = h.Subscribe();
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 200, r => r.Expires = 600);
        await h.NotifyAsync(first, "active;expires=600");
        subscription.Unsubscribe();
        var un = await h.NextSubscribeAsync(2);
        Assert.Equal(0u, un.Expires);
        Assert.Equal("nt1", un.To.Tag);
        Assert.Equal(SipSubscriptionEndKind.Unsubscribed, Assert.Single(h.Ends).Kind);
        h.Respond(un, 200, r => r.Expires = 0, toTag: null);
        Assert.Equal(200, (await h.NotifyAsync(first, "terminated;reason=timeout")).StatusCode);
        await Until(() => h.Subscriber.Count == 0, "the dialog to be forgotten");
        Assert.Single(h.Ends);
        Assert.Single(h.Notifies); // nothing handed on after unsubscribing
    }

    [Fact]
    public async Task Unsubscribe_before_the_200_waits_for_the_dialog()
    {
        var h = new Harness();
        var subscription = h.Subscribe();
        var first = await h.NextSubscribeAsync(1);
        subscription.Unsubscribe();
        Assert.Single(h.Transport.Requests, r => r.Method == SipMethods.Subscribe);
        h.Respond(first, 200, r => r.Expires = 600);
        var un = await h.NextSubscribeAsync(2);
        Assert.Equal(0u, un.Expires);
        Assert.Equal("nt1", un.To.Tag);
    }

    [Theory]
    [InlineData(403, false)]
    [InlineData(404, false)]
    [InlineData(489, false)]
    [InlineData(503, true)]
    [InlineData(408, true)]
    public async Task A_refused_SUBSCRIBE_ends_rejected_with_the_code(int code, bool mayRetry)
    {
        var h = new Harness();
        h.Subscribe();
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, code, r => r.Headers.Set(SipHeaderNames.RetryAfter, "20 (busy)"), toTag: null);
        await Until(() => !h.Ends.IsEmpty, "the end");
        var end = Assert.Single(h.Ends);
        Assert.Equal(SipSubscriptionEndKind.Rejected, end.Kind);
        Assert.Equal(code, end.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(20), end.RetryAfter);
        Assert.Equal(mayRetry, end.MayRetry);
    }

    [Fact]
    public async Task Wrong_credentials_are_tried_once_then_the_401_ends_it_but_a_stale_nonce_is_answered_again()
    {
        var h = new Harness();
        h.Subscribe(new DigestClient("romeo", "wrong"));
        var first = await h.NextSubscribeAsync(1);
        const string challenge = "Digest realm=\"example.com\", nonce=\"n1\", qop=\"auth\"";
        h.Respond(first, 401, r => r.Headers.Add(SipHeaderNames.WwwAuthenticate, challenge), toTag: null);
        var second = await h.NextSubscribeAsync(2);
        h.Respond(second, 401, r => r.Headers.Add(SipHeaderNames.WwwAuthenticate, challenge.Replace("n1", "n2", StringComparison.Ordinal) + ", stale=true"), toTag: null);
        var third = await h.NextSubscribeAsync(3);
        Assert.Equal("n2", Assert.Single(third.Authorization)["nonce"]);
        h.Respond(third, 401, r => r.Headers.Add(SipHeaderNames.WwwAuthenticate, challenge), toTag: null);
        await Until(() => !h.Ends.IsEmpty, "the end");
        Assert.Equal(401, Assert.Single(h.Ends).StatusCode);
        Assert.Equal(3, h.Transport.Requests.Count(r => r.Method == SipMethods.Subscribe));
    }

    [Fact]
    public async Task A_423_is_answered_with_Min_Expires()
    {
        var h = new Harness();
        h.Subscribe(expires: 30);
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 423, r => r.Headers.Set(SipHeaderNames.MinExpires, "60"), toTag: null);
        var second = await h.NextSubscribeAsync(2);
        Assert.Equal(60u, second.Expires);
    }

    [Fact]
    public async Task No_answer_ends_it_with_timeout_and_no_refresh_answer_ends_it_expired()
    {
        var h = new Harness();
        h.Subscribe();
        await h.NextSubscribeAsync(1);
        h.Time.Advance(TimeSpan.FromSeconds(33)); // timer F
        await Until(() => !h.Ends.IsEmpty, "the timeout");
        Assert.Equal(SipSubscriptionEndKind.Timeout, Assert.Single(h.Ends).Kind);

        var h2 = new Harness();
        var s2 = h2.Subscribe(expires: 60);
        var first = await h2.NextSubscribeAsync(1);
        h2.Respond(first, 200, r => r.Expires = 60);
        await Until(() => s2.ExpiresAt is not null, "the 200 to be taken");
        h2.Time.Advance(TimeSpan.FromSeconds(30)); // refresh goes out, never answered
        await h2.NextSubscribeAsync(2);
        h2.Time.Advance(TimeSpan.FromSeconds(30));
        await Until(() => !h2.Ends.IsEmpty, "the end");
        Assert.Contains(h2.Ends, e => e.Kind is SipSubscriptionEndKind.Expired or SipSubscriptionEndKind.Timeout);
    }

    [Fact]
    public async Task NOTIFYs_for_unknown_dialogs_other_events_or_without_state_are_refused()
    {
        var h = new Harness();
        h.Subscribe();
        var first = await h.NextSubscribeAsync(1);
        h.Respond(first, 200, r => r.Expires = 600);
        Assert.Equal(489, (await h.NotifyAsync(first, "active", ev: "presence")).StatusCode);
        var stranger = SipMessageParser.ParseDatagram(Encoding.UTF8.GetBytes(first.ToString()));
        ((SipRequest)stranger).CallId = "someone-else";
        Assert.Equal(481, (await h.NotifyAsync((SipRequest)stranger, "active")).StatusCode);
        Assert.Equal(200, (await h.NotifyAsync(first, "active;expires=10", cseq: 500)).StatusCode);
        Assert.Equal(500, (await h.NotifyAsync(first, "active;expires=10", cseq: 400)).StatusCode); // out of order
        Assert.Equal(481, (await h.NotifyAsync(first, "active;expires=10", remoteTag: "fork2", cseq: 501)).StatusCode);
        Assert.Single(h.Notifies);
    }

    [Fact]
    public void Refresh_delay_is_half_way_for_short_grants_and_a_minute_ahead_for_long_ones()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), SipSubscription.RefreshDelay(TimeSpan.FromSeconds(60), null));
        Assert.Equal(TimeSpan.FromSeconds(3540), SipSubscription.RefreshDelay(TimeSpan.FromSeconds(3600), null));
        Assert.Equal(TimeSpan.FromSeconds(20), SipSubscription.RefreshDelay(TimeSpan.FromSeconds(3600), TimeSpan.FromSeconds(20)));
        Assert.Equal(TimeSpan.FromMilliseconds(100), SipSubscription.RefreshDelay(TimeSpan.Zero, null));
    }

    private static SipResponse Reparse(SipResponse response) => (SipResponse)SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(response));

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("timed out waiting for " + what);
            await Task.Delay(5);
        }
    }

    /// <summary>A reliable transport that records every message, as it would look on the wire.</summary>
    internal sealed class RecordingTransport : ISipTransport
    {
        private readonly ConcurrentQueue<SipMessage> _sent = new();
        public SipTransportProtocol Protocol => SipTransportProtocol.Tcp;
        public bool IsReliable => true;
        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5070);
        public IReadOnlyList<SipRequest> Requests => [.. _sent.OfType<SipRequest>()];
        public IReadOnlyList<SipResponse> Responses => [.. _sent.OfType<SipResponse>()];

        public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
        {
            _sent.Enqueue(SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(message)));
            return ValueTask.CompletedTask;
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
