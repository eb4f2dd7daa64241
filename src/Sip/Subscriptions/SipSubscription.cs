using System.Globalization;
using System.Net;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Subscriptions;

public enum SipSubscriptionStatus
{
    /// <summary>The initial SUBSCRIBE is out (or being re-sent with credentials).</summary>
    Subscribing,

    /// <summary>Accepted; the notifier has not authorized it yet (Subscription-State: pending).</summary>
    Pending,

    Active,

    /// <summary>Ended; <see cref="SipSubscription.End"/> says why.</summary>
    Ended,
}

/// <summary>
/// One subscription (RFC 6665 §4.1): the dialog made by the 200 or by the first NOTIFY (§4.1.2.4),
/// refreshes before expiry (§4.1.2.2), digest answers (RFC 3261 §22.2, §22.3), and the end.
/// Thread-safe; callbacks run outside its lock.
/// </summary>
public sealed class SipSubscription
{
    private const int MaxChallengesInARow = 3;

    private readonly Lock _gate = new();
    private readonly SipSubscriber _owner;
    private SipDialog? _dialog;
    private SipRequest? _lastSent;
    private uint _cseq = (uint)System.Security.Cryptography.RandomNumberGenerator.GetInt32(1, 1 << 20);
    private uint _expiresAsked;
    private (SipAuthValue Challenge, bool Proxy)? _lastChallenge;
    private int _challengesInARow;
    private bool _intervalRaised;
    private bool _requestInFlight;
    private bool _refreshDue;
    private bool _unsubscribeWanted;
    private bool _closing;
    private ITimer? _refreshTimer;
    private ITimer? _expiryTimer;
    private ITimer? _lingerTimer;

    internal SipSubscription(SipSubscriber owner, SipSubscriptionOptions options)
    {
        _owner = owner;
        Options = options;
        CallId = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(12)) + "@" + HostOf(options.Transport.LocalEndPoint);
        LocalTag = SipDialogId.NewTag();
        _expiresAsked = options.Expires;
    }

    public SipSubscriptionOptions Options { get; }
    public string CallId { get; }
    public string LocalTag { get; }
    public SipSubscriptionStatus Status { get; private set; } = SipSubscriptionStatus.Subscribing;

    /// <summary>When the notifier will end it unless refreshed (the latest Expires or expires= it sent).</summary>
    public DateTimeOffset? ExpiresAt { get; private set; }

    /// <summary>Set once the subscription has ended.</summary>
    public SipSubscriptionEnd? End { get; private set; }

    /// <summary>The dialog, once the 200 or a NOTIFY made it.</summary>
    public SipDialogId? DialogId { get { lock (_gate) return _dialog?.Id; } }

    /// <summary>NOTIFYs received.</summary>
    public long NotifyCount { get; private set; }

    internal void Start() => SendSubscribe(Options.Expires);

    /// <summary>
    /// Ends the subscription (§4.1.2.3): SUBSCRIBE with Expires: 0 in the dialog (sent once the
    /// dialog exists if the initial SUBSCRIBE is still out). OnEnded is called at once with
    /// <see cref="SipSubscriptionEndKind.Unsubscribed"/>; the final NOTIFY still gets its 200.
    /// </summary>
    public void Unsubscribe()
    {
        bool sendNow;
        lock (_gate)
        {
            if (Status == SipSubscriptionStatus.Ended) return;
            _unsubscribeWanted = true;
            sendNow = _dialog is not null && !_requestInFlight;
        }
        Finish(new SipSubscriptionEnd(SipSubscriptionEndKind.Unsubscribed), linger: true);
        if (sendNow) SendSubscribe(0);
    }

    // ---- SUBSCRIBE -------------------------------------------------------------------------

    private void SendSubscribe(uint expires)
    {
        SipRequest request;
        lock (_gate)
        {
            if (Status == SipSubscriptionStatus.Ended && expires != 0) return;
            _requestInFlight = true;
            _refreshDue = false;
            request = BuildSubscribe(expires);
            _lastSent = request;
        }
        SipNonInviteClientTransaction tx;
        try
        {
            tx = _owner.Transactions.SendRequest(request, Options.Transport, Options.Destination);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException)
        {
            OnSubscribeCompleted(request, new SipClientTransactionResult(SipClientTransactionOutcome.TransportError, Error: e));
            return;
        }
        _ = tx.Completion.ContinueWith(
            static (t, o) =>
            {
                var (s, r) = ((SipSubscription, SipRequest))o!;
                s.OnSubscribeCompleted(r, t.Result);
            },
            (this, request),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>The initial SUBSCRIBE (§4.1.2.1) or one in the dialog (§4.1.2.2 refresh, §4.1.2.3 Expires: 0).</summary>
    private SipRequest BuildSubscribe(uint expires)
    {
        SipRequest request;
        if (_dialog is { } dialog)
        {
            request = dialog.CreateRequest(SipMethods.Subscribe);
        }
        else
        {
            request = new SipRequest(SipMethods.Subscribe, Options.RequestUri);
            request.MaxForwards = 70;
            request.From = new SipNameAddress(Options.From.Uri, Options.From.DisplayName) { Tag = LocalTag };
            request.To = new SipNameAddress(Options.RequestUri);
            request.CallId = CallId;
            request.CSeq = new SipCSeq(++_cseq, SipMethods.Subscribe); // §8.1.3.5: a re-sent request gets a higher CSeq
        }
        var transport = Options.Transport;
        var via = new SipVia(transport.Protocol.ToString(), HostOf(transport.LocalEndPoint), transport.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() };
        via.Parameters.Set("rport", null); // RFC 3581
        request.Headers.Prepend(SipHeaderNames.Via, via.ToString());
        request.Headers.Set(SipHeaderNames.Contact, "<" + ContactUri(transport) + ">");
        var ev = new SipEvent(Options.Event) { Id = Options.EventId };
        request.Event = ev;
        request.Expires = expires;
        if (Options.Accept is { } accept) request.Headers.Set(SipHeaderNames.Accept, accept);
        foreach (var (name, value) in Options.ExtraHeaders) request.Headers.Add(name, value);
        if (!Options.Body.IsEmpty)
        {
            request.ContentType = Options.ContentType;
            request.Body = Options.Body;
        }
        // Credentials for the realm that challenged last, sent up front on later requests (§22.3: nc counts on).
        if (_lastChallenge is { } last && Options.Credentials is { } credentials)
        {
            var answer = credentials.Answer(last.Challenge, SipMethods.Subscribe, request.RequestUri.ToString());
            request.Headers.Set(last.Proxy ? SipHeaderNames.ProxyAuthorization : SipHeaderNames.Authorization, answer.ToString());
        }
        return request;
    }

    private void OnSubscribeCompleted(SipRequest request, SipClientTransactionResult result)
    {
        var response = result.Response;
        if (result.Outcome != SipClientTransactionOutcome.Response || response is null)
        {
            Fail(request, new SipSubscriptionEnd(result.Outcome == SipClientTransactionOutcome.Timeout ? SipSubscriptionEndKind.Timeout : SipSubscriptionEndKind.TransportError));
            return;
        }
        var code = response.StatusCode;
        if (code is >= 200 and < 300)
        {
            Accepted(request, response);
            return;
        }
        uint? retryExpires = null;
        lock (_gate)
        {
            _requestInFlight = false;
            if (code is 401 or 407 && Options.Credentials is not null && _challengesInARow < MaxChallengesInARow)
            {
                // §22.2/§22.3: answer the challenge and send again, but not the same credentials twice unless the nonce went stale.
                var proxy = code == 407;
                var offered = SafeChallenges(response, proxy);
                if (DigestClientChoose(offered) is { } chosen && (_challengesInARow == 0 || IsTrue(chosen["stale"])))
                {
                    _challengesInARow++;
                    _lastChallenge = (chosen, proxy);
                    retryExpires = request.Expires ?? _expiresAsked;
                }
            }
            else if (code == 423 && !_intervalRaised && SafeMinExpires(response) is { } min && min > (request.Expires ?? 0))
            {
                // §4.1.2.1, RFC 3261 §21.4.17: ask again with at least Min-Expires.
                _intervalRaised = true;
                _expiresAsked = min;
                retryExpires = request.Expires == 0 ? 0 : min;
            }
        }
        if (retryExpires is { } again)
        {
            SendSubscribe(again);
            return;
        }
        Fail(request, new SipSubscriptionEnd(SipSubscriptionEndKind.Rejected, code, response.ReasonPhrase, RetryAfterOf(response)));
    }

    private void Accepted(SipRequest request, SipResponse response)
    {
        bool unsubscribe;
        lock (_gate)
        {
            _requestInFlight = false;
            _challengesInARow = 0;
            if (request.Expires == 0)
            {
                return; // the un-SUBSCRIBE's 200: the final NOTIFY (or the linger timer) closes the dialog
            }
            if (_dialog is null && response.To.Tag is not null)
            {
                try
                {
                    _dialog = SipDialog.CreateAsUac(request, response); // §4.1.2.1 / RFC 3261 §12.1.2
                }
                catch (SipParseException)
                {
                    _dialog = null; // no usable Contact: wait for the NOTIFY to make the dialog
                }
            }
            else if (_dialog is not null)
            {
                _dialog.RefreshTarget(response);
            }
            unsubscribe = _unsubscribeWanted;
            if (!unsubscribe && Status == SipSubscriptionStatus.Subscribing)
            {
                Status = SipSubscriptionStatus.Pending; // until the first NOTIFY says active
            }
            if (!unsubscribe && Status != SipSubscriptionStatus.Ended)
            {
                // §4.1.2.1: the 200's Expires is the granted duration (never longer than asked).
                var granted = Math.Min(response.Expires ?? request.Expires ?? _expiresAsked, request.Expires ?? uint.MaxValue);
                ScheduleExpiry(granted);
            }
        }
        if (unsubscribe && _dialog is not null) SendSubscribe(0);
        else if (RefreshWasDue()) SendSubscribe(_expiresAsked);
    }

    private bool RefreshWasDue()
    {
        lock (_gate) return _refreshDue && Status != SipSubscriptionStatus.Ended;
    }

    private void Fail(SipRequest request, SipSubscriptionEnd end)
    {
        lock (_gate) _requestInFlight = false;
        if (request.Expires == 0)
        {
            Forget(); // the un-SUBSCRIBE failed: the notifier times the dialog out on its own
            return;
        }
        Finish(end, linger: false);
    }

    // ---- NOTIFY ----------------------------------------------------------------------------

    /// <summary>Checks and applies one NOTIFY; returns the response and what to call after sending it.</summary>
    internal SipResponse ReceiveNotify(SipRequest request, out Action? after)
    {
        after = null;
        var ev = request.Event;
        if (ev is null || !ev.Matches(new SipEvent(Options.Event) { Id = Options.EventId }))
        {
            return SipResponse.CreateFor(request, 489); // §4.1.3: not the subscribed event package
        }
        if (request.SubscriptionState is not { } state)
        {
            return SipResponse.CreateFor(request, 400, "Bad Request (missing Subscription-State)");
        }
        bool ended;
        lock (_gate)
        {
            if (Status == SipSubscriptionStatus.Ended && !_closing)
            {
                return SipResponse.CreateFor(request, 481, "Subscription Does Not Exist");
            }
            if (_dialog is null)
            {
                if (_lastSent is null) return SipResponse.CreateFor(request, 481, "Subscription Does Not Exist");
                _dialog = SipDialog.CreateAsUac(_lastSent, request); // §4.1.2.4: the NOTIFY may come before the 200
            }
            else
            {
                if (request.From.Tag != _dialog.Id.RemoteTag)
                {
                    return SipResponse.CreateFor(request, 481, "Subscription Does Not Exist"); // another fork: one dialog is enough
                }
                if (!_dialog.TryAcceptRemoteSequence(request.CSeq.Sequence))
                {
                    return SipResponse.CreateFor(request, 500, "Server Internal Error (CSeq out of order)"); // RFC 3261 §12.2.2
                }
                _dialog.RefreshTarget(request);
            }
            NotifyCount++;
            if (_closing)
            {
                if (state.State == SipSubscriptionState.Terminated) after = Forget;
                return SipResponse.CreateFor(request, 200);
            }
            ended = state.State == SipSubscriptionState.Terminated;
            if (!ended)
            {
                Status = state.State == SipSubscriptionState.Pending ? SipSubscriptionStatus.Pending : SipSubscriptionStatus.Active;
                // §4.1.3: the expires= of the latest NOTIFY is the time left; refresh by it.
                if (state.Expires is { } left) ScheduleExpiry(left);
            }
        }
        var notification = new SipNotification(state, request.ContentType, request.Body, request);
        var onNotify = Options.OnNotify;
        after = ended
            ? () =>
            {
                onNotify?.Invoke(this, notification);
                Finish(new SipSubscriptionEnd(SipSubscriptionEndKind.Terminated, Reason: state.Reason, RetryAfter: state.RetryAfter is { } r ? TimeSpan.FromSeconds(r) : null), linger: false);
            }
            : () => onNotify?.Invoke(this, notification);
        var unsubscribeNow = false;
        lock (_gate)
        {
            if (_unsubscribeWanted && !_requestInFlight && !ended)
            {
                unsubscribeNow = true; // unsubscribed while the NOTIFY made the dialog
                _requestInFlight = true;
            }
        }
        if (unsubscribeNow)
        {
            var first = after;
            after = () =>
            {
                first();
                SendSubscribe(0);
            };
        }
        return SipResponse.CreateFor(request, 200);
    }

    // ---- timers ----------------------------------------------------------------------------

    /// <summary>Sets the expiry to now + <paramref name="seconds"/> and the refresh before it. Called under the lock.</summary>
    private void ScheduleExpiry(uint seconds)
    {
        var time = _owner.Time;
        ExpiresAt = time.GetUtcNow().AddSeconds(seconds);
        var left = TimeSpan.FromSeconds(seconds);
        _expiryTimer ??= time.CreateTimer(static s => ((SipSubscription)s!).OnExpired(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _expiryTimer.Change(left, Timeout.InfiniteTimeSpan);
        var refresh = RefreshDelay(left, Options.MaxRefreshInterval);
        _refreshTimer ??= time.CreateTimer(static s => ((SipSubscription)s!).OnRefreshDue(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _refreshTimer.Change(refresh, Timeout.InfiniteTimeSpan);
    }

    /// <summary>
    /// When to refresh: half-way for short grants, a minute ahead for long ones (room for a
    /// challenge round and retransmissions, RFC 6665 §4.1.2.2 leaves it to the subscriber), and
    /// never later than <paramref name="max"/>.
    /// </summary>
    internal static TimeSpan RefreshDelay(TimeSpan granted, TimeSpan? max)
    {
        var delay = granted >= TimeSpan.FromSeconds(120) ? granted - TimeSpan.FromSeconds(60) : granted / 2;
        if (max is { } m && m < delay) delay = m;
        return delay < TimeSpan.FromMilliseconds(100) ? TimeSpan.FromMilliseconds(100) : delay;
    }

    private void OnRefreshDue()
    {
        uint expires;
        lock (_gate)
        {
            if (Status == SipSubscriptionStatus.Ended || _dialog is null) return;
            if (_requestInFlight)
            {
                _refreshDue = true; // sent when the request in flight completes
                return;
            }
            expires = _expiresAsked;
        }
        SendSubscribe(expires);
    }

    private void OnExpired() => Finish(new SipSubscriptionEnd(SipSubscriptionEndKind.Expired), linger: false);

    /// <summary>Ends once: stops the timers, calls OnEnded, and (unless lingering for a final NOTIFY) forgets the dialog.</summary>
    private void Finish(SipSubscriptionEnd end, bool linger)
    {
        lock (_gate)
        {
            if (Status == SipSubscriptionStatus.Ended) return;
            Status = SipSubscriptionStatus.Ended;
            End = end;
            _refreshTimer?.Dispose();
            _expiryTimer?.Dispose();
            _closing = linger;
            if (linger) _lingerTimer = _owner.Time.CreateTimer(static s => ((SipSubscription)s!).Forget(), this, _owner.Linger, Timeout.InfiniteTimeSpan);
        }
        if (!linger) Forget();
        Options.OnEnded?.Invoke(this, end);
    }

    private void Forget()
    {
        lock (_gate) _lingerTimer?.Dispose();
        _owner.Forget(this);
    }

    // ---- helpers ---------------------------------------------------------------------------

    private static SipAuthValue? DigestClientChoose(IReadOnlyList<SipAuthValue> offered) => Auth.DigestClient.Choose(offered);

    private static IReadOnlyList<SipAuthValue> SafeChallenges(SipResponse response, bool proxy)
    {
        try
        {
            return proxy ? response.ProxyAuthenticate : response.WwwAuthenticate;
        }
        catch (SipParseException)
        {
            return [];
        }
    }

    private static uint? SafeMinExpires(SipResponse response) =>
        uint.TryParse(response.Headers.GetFirstValue(SipHeaderNames.MinExpires)?.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : null;

    /// <summary>Retry-After = delta-seconds [comment] *( SEMI retry-param ) (RFC 3261 §20.33): the seconds only.</summary>
    private static TimeSpan? RetryAfterOf(SipResponse response)
    {
        if (response.Headers.GetFirstValue(SipHeaderNames.RetryAfter) is not { } value) return null;
        var digits = new string([.. value.TrimStart().TakeWhile(char.IsAsciiDigit)]);
        return uint.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var s) ? TimeSpan.FromSeconds(s) : null;
    }

    private static bool IsTrue(string? value) => string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);

    internal static string HostOf(IPEndPoint e) =>
        e.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + e.Address + "]" : e.Address.ToString();

    private static string ContactUri(ISipTransport transport) =>
        "sip:" + HostOf(transport.LocalEndPoint) + ":" + transport.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture)
        + (transport.Protocol == SipTransportProtocol.Udp ? "" : ";transport=" + transport.Protocol.ToString().ToLowerInvariant());
}
