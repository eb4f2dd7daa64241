using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Dns;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;

namespace Aggregators.Cna.Sip;

/// <summary>
/// The CNA's SIP side: the notifier for local users (RFC 6665 §4.2; digest against the users
/// file, authorization rules, expiry bounds, a minimal registrar) in front of the
/// <see cref="UpstreamPool"/>, which holds one upstream subscription per distinct resource,
/// package, filter and heartbeat. Each local dialog gets the cached state at once and every
/// upstream NOTIFY after that, one NOTIFY in flight per dialog (docs/cna.md).
/// </summary>
public sealed partial class CnaSipNotifier : ILocalNotifier, IDisposable
{
    private readonly CnaSipOptions _options;
    private readonly CnaUsers _users;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SipTransactionLayer _transactions;
    private readonly SipSubscriber _subscriber;
    private readonly DigestServer _digest;
    private readonly ConcurrentDictionary<SipTransportProtocol, ISipTransport> _transports = new();
    private readonly ConcurrentDictionary<(string, string, string), LocalDialog> _dialogs = new();
    private readonly CnaSipAuthorizer _authorizer;
    private readonly DnsSrvResolver? _srv;
    private readonly string _domain;
    private long _notifiesSent;
    private volatile bool _stopping;

    public CnaSipNotifier(CnaSipOptions options, CnaUsers users, TimeProvider time, ILogger<CnaSipNotifier> logger, byte[]? nonceSecret = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _users = users;
        _time = time;
        _logger = logger;
        _domain = options.Domains.FirstOrDefault() ?? "cna.invalid";
        var timers = new SipTimerSettings { T1 = TimeSpan.FromMilliseconds(options.TimerT1Milliseconds) };
        _transactions = new SipTransactionLayer(timers, time);
        _subscriber = new SipSubscriber(_transactions, time);
        _digest = new DigestServer(new DigestServerOptions
        {
            Realm = options.RealmOrDefault,
            Secret = nonceSecret ?? System.Security.Cryptography.RandomNumberGenerator.GetBytes(32),
            Algorithms = options.ParsedAlgorithms(),
            TimeProvider = time,
        });
        _authorizer = new CnaSipAuthorizer(options.Authorization);
        if (options.DnsSrv)
        {
            _srv = new DnsSrvResolver(DnsSrvResolver.ServerFrom(options.DnsServer), time);
        }
        Pool = new UpstreamPool(_subscriber, _transports, options, time, logger);
    }

    internal UpstreamPool Pool { get; }

    /// <summary>Live local subscriptions.</summary>
    public int LocalCount => _dialogs.Count;

    /// <summary>Live upstream subscriptions.</summary>
    public int UpstreamCount => Pool.Count;

    public long NotifiesSent => Interlocked.Read(ref _notifiesSent);

    /// <summary>Upstream subscriptions whose state is stale right now.</summary>
    public int StaleUpstreams => Pool.Snapshot().Count(u => u.Stale);

    public void AddTransport(ISipTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        _transports.TryAdd(transport.Protocol, transport);
    }

    /// <summary>Handles one received message; requests are answered asynchronously.</summary>
    public void Receive(SipReceivedMessage received)
    {
        ArgumentNullException.ThrowIfNull(received);
        if (received.Message is SipResponse response)
        {
            _transactions.ProcessResponse(response);
            return;
        }
        if (_transactions.ProcessRequest((SipRequest)received.Message, received.Transport, received.RemoteEndPoint) is not { } tx)
        {
            return;
        }
        try
        {
            if (_subscriber.HandleNotify(tx))
            {
                return; // an upstream NOTIFY: fanned out from the pool's callbacks
            }
        }
#pragma warning disable CA1031 // one bad NOTIFY never stops the receive loop
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRequestFailed(e, SipMethods.Notify);
            return;
        }
        _ = HandleRequestAsync(tx);
    }

    // ---- local requests --------------------------------------------------------------------

    private async Task HandleRequestAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        try
        {
            var response = request.Method switch
            {
                SipMethods.Subscribe => await HandleSubscribeAsync(tx).ConfigureAwait(false),
                SipMethods.Register when _options.RegistrarEnabled => await HandleRegisterAsync(request).ConfigureAwait(false),
                SipMethods.Options => SipResponse.CreateFor(request, 200),
                _ => WithAllow(Reject(request, 405)),
            };
            if (response is not null)
            {
                await tx.SendResponseAsync(response).ConfigureAwait(false);
            }
        }
        catch (SipParseException e)
        {
            await TrySendAsync(tx, Reject(request, 400, "Bad Request (" + Printable(e.Message) + ")")).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // one bad request never stops the CNA; it is logged and answered 500
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRequestFailed(e, request.Method);
            await TrySendAsync(tx, Reject(request, 500)).ConfigureAwait(false);
        }
    }

    private SipResponse WithAllow(SipResponse response)
    {
        response.Headers.Set(SipHeaderNames.Allow, _options.RegistrarEnabled ? "SUBSCRIBE, NOTIFY, OPTIONS, REGISTER" : "SUBSCRIBE, NOTIFY, OPTIONS");
        return response;
    }

    private static async Task TrySendAsync(SipNonInviteServerTransaction tx, SipResponse response)
    {
        try
        {
            if (tx.State is SipTransactionState.Trying or SipTransactionState.Proceeding)
            {
                await tx.SendResponseAsync(response).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // the transport is gone
        }
    }

    private static SipResponse Reject(SipRequest request, int code, string? reason = null) =>
        SipResponse.CreateFor(request, code, reason, toTag: request.To.Tag is null ? SipDialogId.NewTag() : null);

    /// <summary>Digest authentication of a local user (RFC 3261 §22.4): null when the request may go on, else the 401/403.</summary>
    private SipResponse? Authenticate(SipRequest request, out string? user)
    {
        user = null;
        var verdict = _digest.Verify(request, _users.Ha1);
        switch (verdict)
        {
            case DigestVerification.Ok:
                user = request.Authorization.First(a => a["realm"] == _digest.Realm)["username"]!;
                return null;
            case DigestVerification.UnknownUser or DigestVerification.WrongResponse:
                LogAuthFailed(verdict.ToString(), request.From.Uri.ToString());
                return Reject(request, 403, "Forbidden (wrong credentials)");
            default:
                var r = Reject(request, 401);
                foreach (var c in _digest.CreateChallenges(stale: verdict == DigestVerification.Stale))
                {
                    r.Headers.Add(SipHeaderNames.WwwAuthenticate, c.ToString());
                }
                return r;
        }
    }

    /// <summary>The minimal registrar for local users: authenticated, accepts the binding without keeping it, answers after the configured delay.</summary>
    private async Task<SipResponse> HandleRegisterAsync(SipRequest request)
    {
        if (Authenticate(request, out _) is { } challenge)
        {
            return challenge;
        }
        await Task.Delay(_options.RegistrarResponseDelay, _time).ConfigureAwait(false);
        var ok = SipResponse.CreateFor(request, 200, toTag: SipDialogId.NewTag());
        foreach (var c in request.Headers.GetAll(SipHeaderNames.Contact))
        {
            ok.Headers.Add(SipHeaderNames.Contact, c.RawValue);
        }
        ok.Expires = request.Expires ?? 3600;
        return ok;
    }

    private async Task<SipResponse?> HandleSubscribeAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        if (request.Event is not { } ev)
        {
            return Reject(request, 400, "Missing Event header");
        }
        var package = ev.EventType.ToLowerInvariant();
        if (package is not (MessageSummary.EventPackage or MailEventNotifyBody.EventPackage))
        {
            var r = Reject(request, 489);
            r.Headers.Set(SipHeaderNames.AllowEvents, MessageSummary.EventPackage + ", " + MailEventNotifyBody.EventPackage);
            return r;
        }
        if (Authenticate(request, out var user) is { } challenge)
        {
            return challenge;
        }
        return request.To.Tag is null
            ? await SubscribeNewAsync(tx, package, user!).ConfigureAwait(false)
            : await RefreshOrEndAsync(tx).ConfigureAwait(false);
    }

    /// <summary>The granted duration (RFC 6665 §4.2.1.1): 423 below the minimum, shortened to the maximum, never lengthened.</summary>
    private SipResponse? Expiry(SipRequest request, out uint seconds)
    {
        seconds = request.Expires ?? (uint)_options.DefaultExpiresSeconds;
        if (seconds != 0 && seconds < _options.MinExpiresSeconds)
        {
            var r = Reject(request, 423);
            r.Headers.Set(SipHeaderNames.MinExpires, _options.MinExpiresSeconds.ToString(CultureInfo.InvariantCulture));
            return r;
        }
        seconds = Math.Min(seconds, (uint)_options.MaxExpiresSeconds);
        return null;
    }

    private async Task<SipResponse?> SubscribeNewAsync(SipNonInviteServerTransaction tx, string package, string user)
    {
        var request = tx.Request;
        var uri = request.RequestUri;
        if (!uri.IsSip || string.IsNullOrEmpty(uri.User))
        {
            return Reject(request, 404, "Not Found (no user in the Request-URI)");
        }
        var domain = uri.Host.ToLowerInvariant();
        if (!_options.Routes.TryGetValue(domain, out var route) && (route = await SrvRouteAsync(domain).ConfigureAwait(false)) is null)
        {
            return Reject(request, 404, "Not Found (no route to " + Printable(domain) + ")");
        }
        var resource = uri.User + "@" + domain;
        if (!_authorizer.Allows(user, resource))
        {
            LogDenied(user, resource);
            return Reject(request, 403, "Forbidden (not allowed to watch " + Printable(resource) + ")");
        }
        if (Expiry(request, out var seconds) is { } tooBrief)
        {
            return tooBrief;
        }
        if (request.Contact is not { Count: 1 })
        {
            return Reject(request, 400, "Bad Request (a SUBSCRIBE needs exactly one Contact)");
        }
        if (!TryUpstream(request, package, user, domain, route, out var key, out var target, out var error))
        {
            return Reject(request, error!.Value.Code, error.Value.Reason);
        }

        var local = new LocalDialog(SipDialog.CreateAsUas(request, SipDialogId.NewTag()), package, user, tx.Transport, tx.RemoteEndPoint)
        {
            Expires = _time.GetUtcNow().AddSeconds(seconds),
        };
        if (tx.Transport is SipStreamTransport stream)
        {
            // RFC 3261 §12.2.1.1: the first Route, else the remote target (the Contact), when the subscriber closed the connection.
            var dialog = local.Dialog;
            local.Flow = new SipDialogFlow(stream, tx.RemoteEndPoint, () => dialog.RouteSet.Count > 0 ? dialog.RouteSet[0].Uri : dialog.RemoteTarget, moved: null, _logger);
        }
        _dialogs[local.Key] = local;
        var upstream = Pool.Attach(key, target, local, this);
        // A new upstream subscription: wait (briefly) for the PNA's answer, so a refusal reaches the client and the first NOTIFY has counts.
        try
        {
            await upstream.FirstAnswer.Task.WaitAsync(TimeSpan.FromSeconds(_options.FirstAnswerTimeoutSeconds), _time).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // accepted stale; the pool keeps trying
        }
        if (upstream.Refusal is { } refusal)
        {
            Drop(local);
            return Reject(request, RefusalCode(refusal), "Forbidden (refused upstream: " + Printable(refusal.ToString()) + ")");
        }

        // §4.2.1.1: 200 with the granted Expires, then at once a NOTIFY with the current state (§4.2.1.2).
        var ok = SipResponse.CreateFor(request, 200, toTag: local.Dialog.Id.LocalTag);
        ok.Expires = seconds;
        ok.Headers.Set(SipHeaderNames.Contact, "<" + LocalContact(tx.Transport) + ">");
        try
        {
            await tx.SendResponseAsync(ok).ConfigureAwait(false);
        }
        catch
        {
            Drop(local); // the 200 could not go out: no dialog, and no upstream share held for it
            throw;
        }
        LogSubscribed(user, resource, package, upstream.LocalCount);
        if (seconds == 0)
        {
            Release(local, upstream.CurrentState());
            Terminate(local, "timeout"); // a fetch (§4.4.3)
        }
        else
        {
            ArmExpiry(local, TimeSpan.FromSeconds(seconds));
            Release(local, upstream.CurrentState());
        }
        return null;
    }

    /// <summary>A route found by DNS SRV (when <c>DnsSrv</c> is on), with the <c>SrvDefaults</c> authentication.</summary>
    private async Task<CnaSipRoute?> SrvRouteAsync(string domain)
    {
        if (_srv is null || _options.Domains.Contains(domain, StringComparer.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            return await _srv.ResolveAsync(domain, CancellationToken.None).ConfigureAwait(false) is { } found
                ? _options.SrvDefaults.Towards(found.Target, found.Transport)
                : null;
        }
        catch (System.Net.Sockets.SocketException)
        {
            return null; // the target's name did not resolve
        }
    }

    private static int RefusalCode(SipSubscriptionEnd refusal) => refusal.StatusCode switch
    {
        404 or 410 or 484 => 404,
        489 => 489,
        _ when refusal.Reason is "noresource" => 404,
        _ => 403,
    };

    /// <summary>
    /// The upstream subscription a local SUBSCRIBE maps to: the key that makes it distinct and how
    /// to send it (the route's authentication, the filter body with the heartbeat added).
    /// </summary>
    private bool TryUpstream(SipRequest request, string package, string user, string domain, CnaSipRoute route,
        out UpstreamKey key, out Func<UpstreamTarget> target, out (int Code, string Reason)? error)
    {
        key = null!;
        target = null!;
        error = null;
        var uri = request.RequestUri;
        var requestUri = new SipUri("sip", domain) { User = uri.User };
        if (uri.Parameters["mailbox"] is { } mailboxParameter)
        {
            if (!MailboxPath.TryParse(Uri.UnescapeDataString(mailboxParameter), out _, out var why))
            {
                error = (404, "Not Found (bad mailbox: " + Printable(why ?? "empty") + ")");
                return false;
            }
            requestUri.Parameters.Set("mailbox", mailboxParameter);
        }
        var heartbeat = TimeSpan.FromSeconds(_options.HeartbeatSeconds);
        string filter = "";
        int? localHeartbeat = null;
        byte[] body = [];
        string? contentType = null;
        string accept = MessageSummary.MediaType;
        if (package == MailEventNotifyBody.EventPackage)
        {
            accept = MailEventNotifyBody.MediaType;
            MailEventFilterBody parsed;
            if (request.Body.IsEmpty)
            {
                // As the PNA reads no body: the ;mailbox= mailbox alone, else the whole account (docs/sip.md).
                parsed = uri.Parameters["mailbox"] is { } m && MailboxPath.TryParse(Uri.UnescapeDataString(m), out var mailbox, out _)
                    ? new MailEventFilterBody(mailbox, SubscriptionDepth.One, EventTypeSet.All, null)
                    : MailEventFilterBody.Default;
            }
            else if (request.ContentType is { } type && !type.StartsWith(MailEventFilterBody.MediaType, StringComparison.OrdinalIgnoreCase))
            {
                error = (400, "Bad Request (the SUBSCRIBE body must be " + MailEventFilterBody.MediaType + ")");
                return false;
            }
            else if (!MailEventFilterBody.TryParse(request.Body.Span, out var fromBody, out var bad))
            {
                error = (400, "Bad Request (" + Printable(bad!) + ")");
                return false;
            }
            else
            {
                parsed = fromBody!;
            }
            if (parsed.Heartbeat is { } asked)
            {
                localHeartbeat = (int)asked.TotalSeconds;
                heartbeat = asked;
            }
            filter = System.Text.Encoding.UTF8.GetString((parsed with { Heartbeat = null }).ToBytes());
            body = (parsed with { Heartbeat = heartbeat }).ToBytes();
            contentType = MailEventFilterBody.MediaType;
        }

        // Upstream identity (docs/cna.md): shared (the CNA's) unless the route is per user.
        var perUser = route.Authentication == CnaUpstreamAuthentication.PerUser
                      || (route.Authentication == CnaUpstreamAuthentication.TrustedPeer && route.AssertIdentity == CnaAssertedIdentity.User);
        var userIdentity = "sip:" + user + "@" + _domain;
        var cnaIdentity = route.CnaIdentity.Length > 0 ? route.CnaIdentity : "sip:cna@" + _domain;
        var identity = perUser ? userIdentity : cnaIdentity;
        Func<DigestClient?> credentials;
        var extra = new List<KeyValuePair<string, string>>();
        switch (route.Authentication)
        {
            case CnaUpstreamAuthentication.PerUser:
                if (_users.Upstream(user, domain) is not { } stored)
                {
                    error = (403, "Forbidden (no stored credentials for " + Printable(domain) + ")");
                    return false;
                }
                credentials = () => new DigestClient(stored.Username, stored.Password);
                break;
            case CnaUpstreamAuthentication.TrustedPeer:
                credentials = () => new DigestClient(route.PeerUsername!, route.PeerPassword!);
                extra.Add(new("P-Asserted-Identity", "<" + identity + ">")); // RFC 3325 §9.1
                break;
            default:
                credentials = () => null;
                break;
        }
        key = new UpstreamKey(requestUri.ToString(), package, filter, localHeartbeat, perUser ? user : null);
        var from = SipNameAddress.Parse("<" + identity + ">");
        var destination = route.TargetEndPoint;
        var protocol = route.Protocol;
        target = () => new UpstreamTarget(requestUri, domain, destination, protocol, from, credentials, extra, accept, contentType, body, heartbeat);
        return true;
    }

    /// <summary>An in-dialog SUBSCRIBE (RFC 6665 §4.2.1.2 refresh, §4.2.1.4 Expires: 0).</summary>
    private async Task<SipResponse?> RefreshOrEndAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        if (!_dialogs.TryGetValue((request.CallId, request.To.Tag!, request.From.Tag ?? ""), out var local) || local.Upstream is not { } upstream)
        {
            return Reject(request, 481);
        }
        if (Expiry(request, out var seconds) is { } tooBrief)
        {
            return tooBrief;
        }
        lock (local.Gate)
        {
            if (local.TerminateReason is not null || local.Ended)
            {
                return Reject(request, 481);
            }
            // RFC 3261 §12.2.2: a CSeq not above the last one is out of order.
            if ((local.Dialog.RemoteSequence is { } last && request.CSeq.Sequence <= last) || !local.Dialog.TryAcceptRemoteSequence(request.CSeq.Sequence))
            {
                return Reject(request, 500, "Server Internal Error (CSeq out of order)");
            }
            local.Dialog.RefreshTarget(request);
            if (ReferenceEquals(tx.Transport, local.Transport))
            {
                local.Flow?.MoveTo(tx.RemoteEndPoint); // the refresh's connection is the freshest way to the subscriber
            }
        }
        var ok = SipResponse.CreateFor(request, 200);
        ok.Expires = seconds;
        await tx.SendResponseAsync(ok).ConfigureAwait(false);
        if (seconds == 0)
        {
            Terminate(local, "timeout"); // §4.2.1.4: the 200, then the final NOTIFY
            return null;
        }
        lock (local.Gate)
        {
            local.Expires = _time.GetUtcNow().AddSeconds(seconds);
        }
        ArmExpiry(local, TimeSpan.FromSeconds(seconds));
        if (upstream.CurrentState() is { } state)
        {
            Deliver(local, state); // the current state again after a refresh (§4.2.1.2)
        }
        return null;
    }

    // ---- local NOTIFYs ---------------------------------------------------------------------

    /// <summary>Queues or coalesces a state; sends at once when nothing is in flight. Never blocks.</summary>
    void ILocalNotifier.Deliver(LocalDialog local, LocalState state) => Deliver(local, state);

    internal void Deliver(LocalDialog local, LocalState state)
    {
        ArgumentNullException.ThrowIfNull(local);
        NotifyStep<LocalState?> step;
        lock (local.Gate)
        {
            step = local.Queue.Offer(state); // after Terminate: the final NOTIFY (queued) carries it
        }
        Send(local, step);
    }

    /// <summary>After the 200: the first NOTIFY goes (an empty one when nothing is known yet, §4.2.1.2 requires it).</summary>
    private void Release(LocalDialog local, LocalState? state)
    {
        NotifyStep<LocalState?> step;
        lock (local.Gate)
        {
            step = local.Queue.ReleaseWith(state);
        }
        Send(local, step);
    }

    /// <summary>Ends a local subscription with a final NOTIFY (RFC 6665 §4.2.2) carrying the latest state.</summary>
    void ILocalNotifier.Terminate(LocalDialog local, string reason) => Terminate(local, reason);

    internal void Terminate(LocalDialog local, string reason)
    {
        ArgumentNullException.ThrowIfNull(local);
        NotifyStep<LocalState?> step;
        lock (local.Gate)
        {
            if (local.Queue.Closing)
            {
                return;
            }
            local.ExpiryTimer?.Dispose();
            step = local.Queue.Terminate(reason); // else sent when the NOTIFY in flight completes, or at release
        }
        Send(local, step);
    }

    /// <summary>Sends what the dialog's queue decided, if anything.</summary>
    private void Send(LocalDialog local, in NotifyStep<LocalState?> step)
    {
        if (step.Send)
        {
            SendNotify(local, step.State, step.TerminateReason);
        }
    }

    /// <summary>A local dialog that never got its 200 (the PNA refused): forgotten without a NOTIFY.</summary>
    private void Drop(LocalDialog local)
    {
        lock (local.Gate)
        {
            local.Queue.End();
            local.Flow?.Dispose();
        }
        _dialogs.TryRemove(new(local.Key, local));
        Pool.Detach(local);
    }

    private void ArmExpiry(LocalDialog local, TimeSpan due)
    {
        lock (local.Gate)
        {
            if (local.ExpiryTimer is { } t)
            {
                t.Change(due, Timeout.InfiniteTimeSpan);
                return;
            }
            local.ExpiryTimer = _time.CreateTimer(static s => { var (n, d) = ((CnaSipNotifier, LocalDialog))s!; n.Terminate(d, "timeout"); }, (this, local), due, Timeout.InfiniteTimeSpan);
        }
    }

    private void SendNotify(LocalDialog local, LocalState? state, string? terminateReason)
    {
        SipRequest request;
        try
        {
            request = BuildNotify(local, state, terminateReason);
        }
#pragma warning disable CA1031 // a dialog that no longer makes a valid request ends; others go on
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRequestFailed(e, SipMethods.Notify);
            End(local);
            return;
        }
        SipNonInviteClientTransaction tx;
        try
        {
            tx = _transactions.SendRequest(request, (ISipTransport?)local.Flow ?? local.Transport, local.Remote);
        }
        catch (InvalidOperationException e)
        {
            LogRequestFailed(e, SipMethods.Notify);
            End(local);
            return;
        }
        Interlocked.Increment(ref _notifiesSent);
        _ = tx.Completion.ContinueWith(
            static (t, o) =>
            {
                var (notifier, d, final) = ((CnaSipNotifier, LocalDialog, bool))o!;
                notifier.OnNotifyCompleted(d, t.Result, final);
            },
            (this, local, terminateReason is not null),
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    private SipRequest BuildNotify(LocalDialog local, LocalState? state, string? terminateReason)
    {
        SipRequest request;
        DateTimeOffset expires;
        lock (local.Gate)
        {
            request = local.Dialog.CreateRequest(SipMethods.Notify);
            expires = local.Expires;
        }
        var transport = local.Transport;
        var via = new SipVia(transport.Protocol.ToString(), HostOf(transport.LocalEndPoint), transport.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() };
        via.Parameters.Set("rport", null);
        request.Headers.Prepend(SipHeaderNames.Via, via.ToString());
        request.Headers.Set(SipHeaderNames.Contact, "<" + LocalContact(transport) + ">");
        request.Event = new SipEvent(local.Package);
        // RFC 6665 §4.1.3: active;expires=<remaining>, or terminated;reason=.
        var remaining = Math.Max(0, (long)Math.Ceiling((expires - _time.GetUtcNow()).TotalSeconds));
        request.SubscriptionState = SipSubscriptionState.Parse(System.Text.Encoding.ASCII.GetBytes(
            terminateReason is null ? "active;expires=" + remaining.ToString(CultureInfo.InvariantCulture) : "terminated;reason=" + terminateReason));
        if (state is not null)
        {
            request.ContentType = state.ContentType;
            request.Body = state.Body;
        }
        return request;
    }

    private void OnNotifyCompleted(LocalDialog local, SipClientTransactionResult result, bool final)
    {
        if (_stopping)
        {
            return;
        }
        if (final)
        {
            End(local);
            return;
        }
        var code = result.Response?.StatusCode ?? 0;
        if (code is < 200 or >= 300)
        {
            End(local); // RFC 6665 §4.2.2: a failed NOTIFY ends the subscription, no further NOTIFY
            return;
        }
        NotifyStep<LocalState?> step;
        lock (local.Gate)
        {
            step = local.Queue.Completed(); // the final NOTIFY when terminating, else the pending state
        }
        Send(local, step);
    }

    /// <summary>Frees a local dialog and detaches it from its upstream subscription (the last one ends it).</summary>
    private void End(LocalDialog local)
    {
        lock (local.Gate)
        {
            if (!local.Queue.End())
            {
                return;
            }
            local.ExpiryTimer?.Dispose();
            local.Flow?.Dispose(); // the connection may now be idle-closed
        }
        _dialogs.TryRemove(new(local.Key, local));
        Pool.Detach(local);
    }

    /// <summary>Stops timers; local subscribers time out on their own (they are not persisted).</summary>
    public void Shutdown()
    {
        _stopping = true;
        foreach (var d in _dialogs.Values)
        {
            lock (d.Gate)
            {
                d.ExpiryTimer?.Dispose();
            }
        }
        Pool.Dispose();
    }

    public void Dispose() => Shutdown();

    /// <summary>Text safe for a reason phrase (no CR/LF or controls, bounded).</summary>
    private static string Printable(string text)
    {
        var clean = new string([.. text.Where(c => c >= ' ' && c != '\x7f')]);
        return clean.Length > 200 ? clean[..200] : clean;
    }

    private static string HostOf(IPEndPoint e) =>
        e.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + e.Address + "]" : e.Address.ToString();

    private static string LocalContact(ISipTransport transport) =>
        "sip:cna@" + HostOf(transport.LocalEndPoint) + ":" + transport.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture)
        + (transport.Protocol == SipTransportProtocol.Udp ? "" : ";transport=" + transport.Protocol.ToString().ToLowerInvariant());

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP {Method} handling failed")]
    private partial void LogRequestFailed(Exception exception, string method);

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP digest authentication failed ({Verdict}) for {From}")]
    private partial void LogAuthFailed(string verdict, string from);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local user {User} may not watch {Resource}")]
    private partial void LogDenied(string user, string resource);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Local user {User} subscribed to {Resource} ({Package}); {Count} local subscribers share it")]
    private partial void LogSubscribed(string user, string resource, string package, int count);
}

/// <summary>
/// Authorization at the CNA (docs/cna.md): with no rules every authenticated local user may watch
/// anything routed; with rules, a local user may watch a resource when a rule matches both
/// (<c>*</c> any user; <c>*</c>, <c>*@domain</c> or <c>user@domain</c> for the resource).
/// </summary>
internal sealed class CnaSipAuthorizer(IReadOnlyList<CnaSipAuthorizationRule> rules)
{
    public bool Allows(string user, string resource)
    {
        if (rules.Count == 0)
        {
            return true;
        }
        foreach (var rule in rules)
        {
            if ((rule.User == "*" || string.Equals(rule.User, user, StringComparison.Ordinal)) && Matches(rule.Resource.Trim(), resource))
            {
                return true;
            }
        }
        return false;
    }

    private static bool Matches(string pattern, string resource)
    {
        if (pattern.StartsWith("sip:", StringComparison.OrdinalIgnoreCase))
        {
            pattern = pattern[4..];
        }
        if (pattern == "*")
        {
            return true;
        }
        if (pattern.StartsWith("*@", StringComparison.Ordinal))
        {
            return resource.EndsWith(pattern[1..], StringComparison.OrdinalIgnoreCase);
        }
        var at = resource.LastIndexOf('@');
        var patternAt = pattern.LastIndexOf('@');
        return at > 0 && patternAt > 0
            && string.Equals(resource[..at], pattern[..patternAt], StringComparison.Ordinal)
            && string.Equals(resource[at..], pattern[patternAt..], StringComparison.OrdinalIgnoreCase);
    }
}
