using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Threading.Channels;
using Aggregators.Cna.Sip;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Cna.Tests.Sip;

/// <summary>
/// The CNA's SIP side between a scripted upstream notifier (the test decides what the "PNA"
/// sends) and local subscribers made of src/Sip, all over loopback UDP.
/// </summary>
public sealed class CnaSipNotifierTests : IAsyncDisposable
{
    private readonly Endpoint _cnaSide = new();
    private readonly Endpoint _pnaSide = new();
    private readonly Endpoint _localSide = new();
    private readonly CnaSipNotifier _cna;
    private readonly ConcurrentQueue<(SipRequest Subscribe, SipDialog Dialog)> _upstream = new();
    private readonly SipSubscriber _local;

    public CnaSipNotifierTests()
    {
        var options = new CnaSipOptions
        {
            Enabled = true,
            Domains = { "example.net" },
            UsersFile = "unused",
            HeartbeatSeconds = 1,
            TimerT1Milliseconds = 50,
            RetryBaseDelaySeconds = 0.05,
            RetryMaxDelaySeconds = 0.2,
            FirstAnswerTimeoutSeconds = 5,
        };
        options.Routes["example.com"] = new CnaSipRoute { Target = _pnaSide.Transport.LocalEndPoint.ToString(), Authentication = CnaUpstreamAuthentication.None };
        Assert.DoesNotContain(options.Validate(), e => !e.Contains("UsersFile", StringComparison.Ordinal));
        _cna = new CnaSipNotifier(options, CnaUsers.Parse(["user romeo password=pw", "user mercutio password=pw"], "example.net"), TimeProvider.System, NullLogger<CnaSipNotifier>.Instance);
        _cna.AddTransport(_cnaSide.Transport);
        _cnaSide.Run(m => _cna.Receive(m));
        _pnaSide.Run(OnUpstream);
        _local = new SipSubscriber(_localSide.Transactions);
        _localSide.Run(m =>
        {
            if (_localSide.Transactions.Dispatch(m) is { } tx)
            {
                _local.HandleNotify(tx);
            }
        });
    }

    /// <summary>The scripted PNA: 200 to every SUBSCRIBE and at once a NOTIFY with 2 new / 3 old.</summary>
    private void OnUpstream(SipReceivedMessage m)
    {
        if (_pnaSide.Transactions.Dispatch(m) is not { } tx || tx.Request.Method != SipMethods.Subscribe)
        {
            return;
        }
        var request = tx.Request;
        if (request.To.Tag is not null)
        {
            _ = tx.SendResponseAsync(WithExpires(SipResponse.CreateFor(request, 200), request.Expires ?? 600));
            return;
        }
        var dialog = SipDialog.CreateAsUas(request, SipDialogId.NewTag());
        _upstream.Enqueue((request, dialog));
        var ok = WithExpires(SipResponse.CreateFor(request, 200, toTag: dialog.Id.LocalTag), 600);
        ok.Headers.Set(SipHeaderNames.Contact, $"<sip:pna@{_pnaSide.Transport.LocalEndPoint}>");
        _ = tx.SendResponseAsync(ok);
        if (request.Event?.EventType == MailEventNotifyBody.EventPackage)
        {
            NotifyMailEvent(dialog, Initial(request));
            return;
        }
        Notify(dialog, "active;expires=600", "Messages-Waiting: yes\r\nMessage-Account: sip:juliet@example.com\r\nText-Message: 2/3 (0/0)\r\n");
    }

    /// <summary>This PNA's minimum heartbeat: it clamps what the CNA asks to at least this (as Pna:Heartbeats:Min).</summary>
    private const int PnaMinHeartbeat = 3;

    /// <summary>The scripted PNA's initial mail-event body: 2 unseen of 5, and the heartbeat it grants (docs/sip.md).</summary>
    private static byte[] Initial(SipRequest subscribe)
    {
        Assert.True(MailEventFilterBody.TryParse(subscribe.Body.Span, out var filter, out var error), error);
        var granted = filter!.Heartbeat is { } asked ? TimeSpan.FromSeconds(Math.Max(asked.TotalSeconds, PnaMinHeartbeat)) : (TimeSpan?)null;
        return MailEventNotifyBody.Encode(1, "initial", MailboxPath.Inbox, new MailboxTotals(5, 2, 6, 1), null, granted);
    }

    private void NotifyMailEvent(SipDialog dialog, byte[] body)
    {
        SipRequest notify;
        lock (dialog)
        {
            notify = dialog.CreateRequest(SipMethods.Notify);
        }
        notify.Headers.Prepend(SipHeaderNames.Via, new SipVia("UDP", "127.0.0.1", _pnaSide.Transport.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() }.ToString());
        notify.Headers.Set(SipHeaderNames.Contact, $"<sip:pna@{_pnaSide.Transport.LocalEndPoint}>");
        notify.Event = new SipEvent(MailEventNotifyBody.EventPackage);
        notify.SubscriptionState = SipSubscriptionState.Parse("active;expires=600"u8.ToArray());
        notify.ContentType = MailEventNotifyBody.MediaType;
        notify.Body = body;
        _pnaSide.Transactions.SendRequest(notify, _pnaSide.Transport, _cnaSide.Transport.LocalEndPoint);
    }

    private static SipResponse WithExpires(SipResponse r, uint expires)
    {
        r.Expires = expires;
        return r;
    }

    private void Notify(SipDialog dialog, string state, string? body)
    {
        SipRequest notify;
        lock (dialog)
        {
            notify = dialog.CreateRequest(SipMethods.Notify);
        }
        notify.Headers.Prepend(SipHeaderNames.Via, new SipVia("UDP", "127.0.0.1", _pnaSide.Transport.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() }.ToString());
        notify.Headers.Set(SipHeaderNames.Contact, $"<sip:pna@{_pnaSide.Transport.LocalEndPoint}>");
        notify.Event = new SipEvent("message-summary");
        notify.SubscriptionState = SipSubscriptionState.Parse(Encoding.ASCII.GetBytes(state));
        if (body is not null)
        {
            notify.ContentType = "application/simple-message-summary";
            notify.Body = Encoding.UTF8.GetBytes(body);
        }
        _pnaSide.Transactions.SendRequest(notify, _pnaSide.Transport, _cnaSide.Transport.LocalEndPoint);
    }

    private (SipSubscription Subscription, ConcurrentQueue<SipNotification> Notifies, Func<SipSubscriptionEnd?> End) Subscribe(string user, string password = "pw", string resource = "sip:juliet@example.com",
        string? mailEventFilter = null)
    {
        var notifies = new ConcurrentQueue<SipNotification>();
        SipSubscriptionEnd? end = null;
        var s = _local.Subscribe(new SipSubscriptionOptions
        {
            RequestUri = SipUri.Parse(resource),
            From = SipNameAddress.Parse($"<sip:{user}@example.net>"),
            Event = mailEventFilter is null ? "message-summary" : MailEventNotifyBody.EventPackage,
            Accept = mailEventFilter is null ? MessageSummary.MediaType : MailEventNotifyBody.MediaType,
            ContentType = mailEventFilter is null ? null : MailEventFilterBody.MediaType,
            Body = mailEventFilter is null ? ReadOnlyMemory<byte>.Empty : Encoding.UTF8.GetBytes(mailEventFilter),
            Transport = _localSide.Transport,
            Destination = _cnaSide.Transport.LocalEndPoint,
            Credentials = new DigestClient(user, password),
            Expires = 600,
            OnNotify = (_, n) => notifies.Enqueue(n),
            OnEnded = (_, e) => end = e,
        });
        return (s, notifies, () => end);
    }

    private static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(10);
        }
    }

    [Fact]
    public async Task Two_locals_share_one_upstream_and_a_revocation_ends_both_with_the_same_reason()
    {
        var a = Subscribe("romeo");
        var b = Subscribe("mercutio");
        await Until(() => !a.Notifies.IsEmpty && !b.Notifies.IsEmpty, "both first NOTIFYs");
        Assert.Contains("2/3", Encoding.UTF8.GetString(b.Notifies.Last().Body.Span), StringComparison.Ordinal);
        var (_, dialog) = Assert.Single(_upstream);
        Assert.Equal(1, _cna.UpstreamCount);

        // RFC 6665 §4.1.3: the PNA revokes; both local subscriptions end with reason=rejected.
        Notify(dialog, "terminated;reason=rejected", null);
        await Until(() => a.End() is not null && b.End() is not null, "both local ends");
        Assert.Equal("rejected", a.End()!.Reason);
        Assert.Equal("rejected", b.End()!.Reason);
        Assert.False(a.End()!.MayRetry);
        await Until(() => _cna.UpstreamCount == 0 && _cna.LocalCount == 0, "nothing left at the CNA");
        Assert.Single(_upstream); // not subscribed again
    }

    [Fact]
    public async Task Deactivated_upstream_is_subscribed_again_and_the_local_subscriber_stays()
    {
        var a = Subscribe("romeo");
        await Until(() => !a.Notifies.IsEmpty, "the first NOTIFY");
        var (_, dialog) = Assert.Single(_upstream);
        Notify(dialog, "terminated;reason=deactivated", null); // §4.1.3: try again at once
        await Until(() => _upstream.Count == 2, "a new upstream SUBSCRIBE");
        await Until(() => a.Notifies.Count >= 2, "the fresh state downstream");
        Assert.Null(a.End());
        Assert.Equal(1, _cna.LocalCount);
        Assert.True(_cna.Pool.Resubscribes >= 1);
    }

    [Fact]
    public async Task Wrong_local_password_and_unknown_domain_never_reach_upstream()
    {
        var wrong = Subscribe("romeo", "guess");
        var nowhere = Subscribe("romeo", resource: "sip:juliet@example.org");
        await Until(() => wrong.End() is not null && nowhere.End() is not null, "both refused");
        Assert.Equal(403, wrong.End()!.StatusCode);
        Assert.Equal(404, nowhere.End()!.StatusCode);
        Assert.Empty(_upstream);
    }

    [Fact]
    public async Task A_silent_upstream_is_subscribed_again_by_the_watchdog()
    {
        var a = Subscribe("romeo");
        await Until(() => !a.Notifies.IsEmpty, "the first NOTIFY");
        // message-summary: the CNA refreshes every heartbeat (1 s); this PNA answers refreshes but sends no NOTIFY,
        // so after two silent intervals the watchdog subscribes again.
        await Until(() => _upstream.Count >= 2, "a new SUBSCRIBE after two silent heartbeat intervals");
        Assert.Null(a.End());
    }

    [Fact]
    public async Task A_local_mail_event_subscriber_is_told_the_heartbeat_the_cna_sends_it_not_the_one_it_asked()
    {
        // Asked 1 s: the CNA asks the PNA for 1 s, the PNA grants 3 s and the CNA passes on every
        // heartbeat, so 3 s. Asked 5 s: 5 s. Asked none: the CNA's own 1 s watchdog heartbeat is
        // not passed on, so nothing is said.
        var fast = Subscribe("romeo", mailEventFilter: """{"mailbox":"INBOX","depth":"1","heartbeat":1}""");
        var slow = Subscribe("mercutio", mailEventFilter: """{"mailbox":"INBOX","depth":"1","heartbeat":5}""");
        var none = Subscribe("romeo", mailEventFilter: """{"mailbox":"INBOX","depth":"1"}""");
        await Until(() => !fast.Notifies.IsEmpty && !slow.Notifies.IsEmpty && !none.Notifies.IsEmpty, "three first NOTIFYs");
        Assert.Equal(3, _cna.UpstreamCount);
        Assert.Equal(TimeSpan.FromSeconds(PnaMinHeartbeat), MailEventNotifyBody.GrantedHeartbeat(fast.Notifies.First().Body.Span));
        Assert.Equal(TimeSpan.FromSeconds(5), MailEventNotifyBody.GrantedHeartbeat(slow.Notifies.First().Body.Span));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(none.Notifies.First().Body.Span));
        Assert.Contains("\"unseen\":2", Encoding.UTF8.GetString(none.Notifies.First().Body.Span), StringComparison.Ordinal);

        // The PNA's own initial NOTIFYs (as after each refresh) are passed on with the CNA's value, not the PNA's.
        var counts = new[] { fast.Notifies.Count, slow.Notifies.Count, none.Notifies.Count };
        foreach (var (subscribe, dialog) in _upstream)
        {
            NotifyMailEvent(dialog, Initial(subscribe));
        }
        await Until(() => fast.Notifies.Count > counts[0] && slow.Notifies.Count > counts[1] && none.Notifies.Count > counts[2], "the passed-on initial NOTIFYs");
        Assert.Equal(TimeSpan.FromSeconds(PnaMinHeartbeat), MailEventNotifyBody.GrantedHeartbeat(fast.Notifies.Last().Body.Span));
        Assert.Equal(TimeSpan.FromSeconds(5), MailEventNotifyBody.GrantedHeartbeat(slow.Notifies.Last().Body.Span));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(none.Notifies.Last().Body.Span));
        Assert.All(_upstream, u => Assert.NotNull(MailEventNotifyBody.GrantedHeartbeat(Initial(u.Subscribe))));
    }

    public async ValueTask DisposeAsync()
    {
        _cna.Dispose();
        await _cnaSide.DisposeAsync();
        await _pnaSide.DisposeAsync();
        await _localSide.DisposeAsync();
    }

    /// <summary>A loopback UDP transport with a transaction layer and a receive loop.</summary>
    private sealed class Endpoint : IAsyncDisposable
    {
        private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        private Task? _loop;

        public Endpoint() => Transport = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _inbox.Writer);

        public SipUdpTransport Transport { get; }
        public SipTransactionLayer Transactions { get; } = new(new SipTimerSettings { T1 = TimeSpan.FromMilliseconds(50) });

        public void Run(Action<SipReceivedMessage> handle) => _loop = Task.Run(async () =>
        {
            await foreach (var m in _inbox.Reader.ReadAllAsync())
            {
                handle(m); // each handler gives responses to its transaction layer
            }
        });

        public async ValueTask DisposeAsync()
        {
            await Transport.DisposeAsync();
            _inbox.Writer.TryComplete();
            if (_loop is not null)
            {
                await _loop;
            }
        }
    }
}
