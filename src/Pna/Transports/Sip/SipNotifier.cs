using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Subscriptions;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// The PNA's RFC 6665 notifier for the message-summary package (RFC 3842): answers SUBSCRIBEs
/// (digest authentication, authorization through the PNA, expiry bounds) and sends one NOTIFY
/// per state change per dialog, in order, coalescing bursts. Transports hand it what they
/// receive (<see cref="Receive"/>); the PNA's dispatcher hands it notifications (<see cref="Deliver"/>).
/// </summary>
public sealed partial class SipNotifier : INotificationTransport, IBurstingTransport
{
    public const string TransportName = "sip";

    /// <summary>CSeqs reserved per store write (see <see cref="SipDialogState.CSeqReserved"/>).</summary>
    internal const uint CSeqBlock = 256;

    private readonly SipNotifierOptions _options;
    private readonly ISipSubscriptionHost _host;
    private readonly SipCredentials _credentials;
    private readonly SipTrustedPeers _trustedPeers;
    private readonly DigestServer? _digest;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SipTransactionLayer _transactions;
    private readonly ConcurrentDictionary<SipTransportProtocol, ISipTransport> _transports = new();
    private readonly ConcurrentDictionary<long, NotifierDialog> _byId = new();
    private readonly ConcurrentDictionary<(string, string, string), NotifierDialog> _byDialog = new();
    private readonly ConcurrentDictionary<string, NotifierDialog> _awaiting = new(StringComparer.Ordinal);
    private readonly HashSet<string> _domains;
    private readonly ConcurrentDictionary<string, MessageSummaryBytes> _summaries = new(StringComparer.Ordinal); // one per account: bodies shared (RFC 3842)
    private readonly string _realm;
    private long _notifiesSent;
    private volatile bool _stopping;

    public SipNotifier(SipNotifierOptions options, ISipSubscriptionHost host, SipCredentials credentials, TimeProvider time, ILogger<SipNotifier> logger, SipTimerSettings? timers = null, byte[]? nonceSecret = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
        _host = host;
        _credentials = credentials;
        _time = time;
        _logger = logger;
        _transactions = new SipTransactionLayer(timers, time);
        _domains = new HashSet<string>(options.Domains, StringComparer.OrdinalIgnoreCase);
        _realm = options.Authentication.Realm.Length > 0 ? options.Authentication.Realm : options.Domains.FirstOrDefault() ?? "pna";
        _trustedPeers = new SipTrustedPeers(options.TrustedPeers, _realm);
        if (options.Authentication.Enabled)
        {
            _digest = new DigestServer(new DigestServerOptions
            {
                Realm = _realm,
                Secret = nonceSecret ?? System.Security.Cryptography.RandomNumberGenerator.GetBytes(32),
                NonceLifetime = options.Authentication.NonceLifetime,
                Algorithms = options.Authentication.ParsedAlgorithms(),
                TimeProvider = time,
            });
        }
    }

    public string Name => TransportName;

    /// <summary>Live dialogs.</summary>
    public int DialogCount => _byId.Count;

    public long NotifiesSent => Interlocked.Read(ref _notifiesSent);

    /// <summary>The live dialogs (for tests).</summary>
    internal IEnumerable<NotifierDialog> Dialogs => _byId.Values;

    /// <summary>Dialogs with a NOTIFY in flight or a state waiting (a scan: for tests and the load generator).</summary>
    public int BusyDialogs
    {
        get
        {
            var n = 0;
            foreach (var d in _byId.Values)
            {
                lock (d.Gate)
                {
                    if (d.Queue.InFlight || d.Queue.HasPending)
                    {
                        n++;
                    }
                }
            }
            return n;
        }
    }

    public string Realm => _realm;

    /// <summary>Adds a transport NOTIFYs can go out on (one per protocol).</summary>
    public void AddTransport(ISipTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        if (_transports.TryAdd(transport.Protocol, transport) && transport is ISipDatagramTransport { IsReliable: false } datagram)
        {
            _burstSends = new SipDatagramBatch(datagram);
        }
    }

    private SipDatagramBatch? _burstSends; // the UDP transport's, used by the dispatcher between BeginBurst and EndBurst
    private SipDatagramBatch? _burst; // set while the dispatcher is in a burst

    /// <summary>The dispatcher's deliveries until <see cref="EndBurst"/>: their UDP NOTIFYs are queued and sent together.</summary>
    public void BeginBurst() => _burst = _burstSends;

    public void EndBurst()
    {
        var batch = _burst;
        _burst = null;
        if (batch is not null && batch.Flush() is > 0 and var dropped)
        {
            LogBurstDropped(dropped);
        }
    }

    /// <summary>
    /// Takes back the notifier's subscriptions the PNA restored from its store (RFC 6665 dialogs
    /// survive a restart); expiry timers restart from the stored expiry.
    /// </summary>
    public int AdoptRestored()
    {
        var n = 0;
        foreach (var s in _host.Snapshot())
        {
            if (ReferenceEquals(s.Transport, this) && Adopt(s) is { } dialog)
            {
                n++;
                // Changes during the downtime (or a drain cut short) were never sent: the current state now.
                if (_host.CurrentTotals(s.Filter.Account, s.Filter.Mailbox) is { } totals)
                {
                    Requeue(dialog, new Notification(s, NotificationKind.Initial, null, s.Filter.Mailbox, totals, Interlocked.Read(ref s.Sequence)));
                }
            }
        }
        return n;
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
        var request = (SipRequest)received.Message;
        if (_transactions.ProcessRequest(request, received.Transport, received.RemoteEndPoint) is { } tx)
        {
            _ = HandleRequestAsync(tx);
        }
    }

    /// <summary>
    /// The transports' fast path for responses (<see cref="SipTransportOptions.ResponseFastPath"/>):
    /// a 200 to a NOTIFY completes its transaction on the receive loop without a full parse.
    /// </summary>
    public bool TryReceiveResponse(ReadOnlySpan<byte> message) => _transactions.TryMatchResponse(message, Aggregators.Sip.Parsing.SipParserLimits.Default);

    // ---- requests -------------------------------------------------------------------------

    private async Task HandleRequestAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        try
        {
            var response = request.Method switch
            {
                SipMethods.Subscribe => await HandleSubscribeAsync(tx).ConfigureAwait(false),
                SipMethods.Options => SipResponse.CreateFor(request, 200),
                SipMethods.Register when _options.Registrar.Enabled => await HandleRegisterAsync(request, tx.RemoteEndPoint).ConfigureAwait(false),
                _ => WithAllow(SipResponse.CreateFor(request, 405)),
            };
            if (response is not null)
            {
                await tx.SendResponseAsync(response).ConfigureAwait(false);
            }
        }
        catch (SipParseException e)
        {
            await TrySendAsync(tx, Reject(request, 400, "Bad Request (" + Sanitize(e.Message) + ")")).ConfigureAwait(false);
        }
#pragma warning disable CA1031 // one bad request never stops the notifier; it is logged and answered 500
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogRequestFailed(e, request.Method);
            await TrySendAsync(tx, Reject(request, 500)).ConfigureAwait(false);
        }
    }

    private SipResponse WithAllow(SipResponse response)
    {
        response.Headers.Set(SipHeaderNames.Allow, _options.Registrar.Enabled ? "SUBSCRIBE, OPTIONS, REGISTER" : "SUBSCRIBE, OPTIONS");
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
            // the transport is gone; nothing else to do
        }
    }

    private static SipResponse Reject(SipRequest request, int code, string? reason = null) =>
        SipResponse.CreateFor(request, code, reason, toTag: request.To.Tag is null ? Aggregators.Sip.Dialogs.SipDialogId.NewTag() : null);

    /// <summary>A SUBSCRIBE, new or in-dialog (RFC 6665 §4.2.1). Returns the response, or null when already sent.</summary>
    private async Task<SipResponse?> HandleSubscribeAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        // §8.2.1: the Event header is mandatory; unknown packages get 489 with Allow-Events (§7.2.2).
        if (request.Event is not { } ev)
        {
            return Reject(request, 400, "Missing Event header");
        }
        if (!IsSupportedPackage(ev.EventType))
        {
            var r = Reject(request, 489);
            r.Headers.Set(SipHeaderNames.AllowEvents, MessageSummary.EventPackage + ", " + MailEventNotifyBody.EventPackage);
            return r;
        }
        if (Authenticate(request, tx.RemoteEndPoint, out var subscriber) is { } challenge)
        {
            return challenge;
        }
        return request.To.Tag is null
            ? await SubscribeNewAsync(tx, ev, subscriber!).ConfigureAwait(false)
            : await RefreshOrEndAsync(tx).ConfigureAwait(false);
    }

    private static bool IsSupportedPackage(string eventType) =>
        eventType.Equals(MessageSummary.EventPackage, StringComparison.OrdinalIgnoreCase)
        || eventType.Equals(MailEventNotifyBody.EventPackage, StringComparison.OrdinalIgnoreCase);

    /// <summary>
    /// The subscription filter: message-summary watches one mailbox (INBOX unless ;mailbox= names
    /// another); mail-event takes mailbox, depth, events and heartbeat from its body (docs/sip.md).
    /// </summary>
    private static bool TryFilter(SipRequest request, SipEvent ev, AccountId account, MailboxPath uriMailbox, out SubscriptionFilter filter, out string? error)
    {
        filter = new SubscriptionFilter { Account = account, Mailbox = uriMailbox, Depth = SubscriptionDepth.One, Events = EventTypeSet.All };
        if (!ev.EventType.Equals(MailEventNotifyBody.EventPackage, StringComparison.OrdinalIgnoreCase))
        {
            error = null;
            return true;
        }
        if (request.Body.IsEmpty)
        {
            // No body: the mailbox the URI names (or the whole account when it names none).
            filter = request.RequestUri.Parameters.Contains("mailbox") ? filter : MailEventFilterBody.Default.ToFilter(account);
            error = null;
            return true;
        }
        if (request.ContentType is { } type && !type.StartsWith(MailEventFilterBody.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            error = "the SUBSCRIBE body must be " + MailEventFilterBody.MediaType;
            return false;
        }
        if (!MailEventFilterBody.TryParse(request.Body.Span, out var body, out error))
        {
            return false;
        }
        filter = body!.ToFilter(account);
        return true;
    }

    /// <summary>Digest authentication (RFC 3261 §22.4): null when the request may go on, else the 401/403.</summary>
    private SipResponse? Authenticate(SipRequest request, IPEndPoint remote, out string? subscriber)
    {
        subscriber = null;
        if (_digest is null)
        {
            SipTrustedPeers.StripAssertedIdentity(request); // RFC 3325 §5: only a trusted peer's assertion counts

            // Authentication off: the subscriber is who the From header says.
            var from = request.From.Uri;
            subscriber = $"sip:{from.User}@{from.Host}";
            return null;
        }
        var verdict = _digest.Verify(request, (user, algorithm) => _trustedPeers.Ha1(user, algorithm) ?? _credentials.Ha1(user, algorithm));
        switch (verdict)
        {
            case DigestVerification.Ok:
                var username = request.Authorization.First(a => a["realm"] == _realm)["username"]!;
                subscriber = username.Contains('@', StringComparison.Ordinal) ? "sip:" + username : $"sip:{username}@{_realm}";
                if (!_trustedPeers.IsPeer(username))
                {
                    SipTrustedPeers.StripAssertedIdentity(request);
                    return null;
                }
                // A trusted peer (docs/sip.md): authorized as the identity it asserts (RFC 3325 §9.1).
                subscriber = _trustedPeers.SubscriberFor(username, request, remote, subscriber, out var refused);
                if (subscriber is null)
                {
                    LogAuthFailed("TrustedPeer: " + refused, request.From.Uri.ToString());
                    return Reject(request, 403, "Forbidden (" + Sanitize(refused!) + ")");
                }
                return null;
            case DigestVerification.UnknownUser or DigestVerification.WrongResponse:
                LogAuthFailed(verdict.ToString(), request.From.Uri.ToString());
                return Reject(request, 403, "Forbidden (wrong credentials)");
            default:
                // Missing, malformed, foreign nonce, replay: a fresh challenge; stale=true for an expired nonce (RFC 7616 §3.3).
                var r = Reject(request, 401);
                foreach (var c in _digest.CreateChallenges(stale: verdict == DigestVerification.Stale))
                {
                    r.Headers.Add(SipHeaderNames.WwwAuthenticate, c.ToString());
                }
                return r;
        }
    }

    /// <summary>Maps the Request-URI to an account and mailbox (docs/sip.md): user@domain, ;mailbox= names a mailbox other than INBOX.</summary>
    internal bool TryResolveTarget(SipUri uri, out AccountId account, out MailboxPath mailbox, out string? error)
    {
        account = default;
        mailbox = MailboxPath.Inbox;
        if (!uri.IsSip || string.IsNullOrEmpty(uri.User))
        {
            error = "Not Found (no user in the Request-URI)";
            return false;
        }
        if (_domains.Count > 0 && !_domains.Contains(uri.Host))
        {
            error = "Not Found (domain not served here)";
            return false;
        }
        var domain = _options.AccountDomains.TryGetValue(uri.Host, out var mapped) ? mapped : uri.Host;
        if (!AccountId.TryParse(uri.User + "@" + domain, out account, out _))
        {
            error = "Not Found (not an account)";
            return false;
        }
        if (uri.Parameters["mailbox"] is { } name)
        {
            if (!MailboxPath.TryParse(Uri.UnescapeDataString(name), out mailbox, out var why) || mailbox.Equals(MailboxPath.Root))
            {
                error = "Not Found (bad mailbox: " + Sanitize(why ?? "empty") + ")";
                return false;
            }
        }
        error = null;
        return true;
    }

    private async Task<SipResponse?> SubscribeNewAsync(SipNonInviteServerTransaction tx, SipEvent ev, string subscriber)
    {
        var request = tx.Request;
        if (!TryResolveTarget(request.RequestUri, out var account, out var mailbox, out var notFound))
        {
            return Reject(request, 404, notFound);
        }
        if (_options.RejectUnknownAccounts && !_host.IsKnownAccount(account))
        {
            return Reject(request, 404, "Not Found (unknown account)");
        }
        if (Expiry(request, out var seconds) is { } tooBrief)
        {
            return tooBrief;
        }
        if (request.Contact is not { Count: 1 } contact)
        {
            return Reject(request, 400, "Bad Request (a SUBSCRIBE needs exactly one Contact)");
        }
        if (!TryFilter(request, ev, account, mailbox, out var filter, out var badBody))
        {
            return Reject(request, 400, "Bad Request (" + Sanitize(badBody!) + ")");
        }
        var from = request.From;
        var remoteTag = from.Tag;
        if (remoteTag is null)
        {
            return Reject(request, 400, "Bad Request (no From tag)");
        }
        from.Parameters.Remove("tag");
        var to = request.To;
        var localTag = Aggregators.Sip.Dialogs.SipDialogId.NewTag();
        var cseq = (uint)System.Security.Cryptography.RandomNumberGenerator.GetInt32(1, 1 << 20);
        var target = request.RequestUri;
        var state = new SipDialogState
        {
            CallId = request.CallId,
            LocalTag = localTag,
            RemoteTag = remoteTag,
            LocalUri = to.ToString(),
            RemoteUri = from.ToString(),
            RemoteTarget = contact[0].Uri.ToString(),
            RouteSet = [.. request.RecordRoute.Select(r => r.ToString())],
            Event = ev.EventType.ToLowerInvariant(),
            EventId = ev.Id,
            Transport = tx.Transport.Protocol.ToString().ToLowerInvariant(),
            Remote = tx.RemoteEndPoint.ToString(),
            Account = $"{target.Scheme}:{target.User}@{target.Host}",
            CSeq = cseq,
            CSeqReserved = cseq + CSeqBlock,
            RemoteCSeq = request.CSeq.Sequence,
        };
        var json = state.ToJson();
        var dialog = new NotifierDialog(state, tx.Transport) { Queue = new(held: true), Remote = tx.RemoteEndPoint };
        var expires = _time.GetUtcNow().AddSeconds(seconds);
        _awaiting[json] = dialog;
        SubscribeResult result;
        try
        {
            result = await _host.SubscribeAsync(subscriber, filter, this, json, expires, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _awaiting.TryRemove(json, out _);
        }
        if (result.Subscription is not { } subscription)
        {
            return Reject(request, 403, "Forbidden (" + Sanitize(result.Decision.Reason) + ")");
        }
        lock (dialog.Gate)
        {
            dialog.Subscription = subscription;
        }
        _byId[subscription.Id] = dialog;
        _byDialog[dialog.Key] = dialog;
        AttachFlow(dialog);

        // §4.2.1.1: 200 with the granted Expires, then at once the NOTIFY with the current state (§4.2.1.2).
        var ok = SipResponse.CreateFor(request, 200, toTag: localTag);
        ok.Expires = seconds;
        ok.Headers.Set(SipHeaderNames.Contact, "<" + LocalContact(tx.Transport) + ">");
        await tx.SendResponseAsync(ok).ConfigureAwait(false);
        if (seconds == 0)
        {
            // A fetch (§4.4.3): one NOTIFY with the state, terminated at once.
            Release(dialog);
            Terminate(dialog, "timeout");
        }
        else
        {
            ArmExpiry(dialog, TimeSpan.FromSeconds(seconds));
            Release(dialog);
        }
        return null;
    }

    /// <summary>The granted duration (§4.2.1.1): 423 below the minimum, shortened to the maximum, never lengthened.</summary>
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

    /// <summary>An in-dialog SUBSCRIBE (§4.2.1.2 refresh, §4.2.1.4 Expires: 0 unsubscribe).</summary>
    private async Task<SipResponse?> RefreshOrEndAsync(SipNonInviteServerTransaction tx)
    {
        var request = tx.Request;
        if (!_byDialog.TryGetValue((request.CallId, request.To.Tag!, request.From.Tag ?? ""), out var dialog) || dialog.Subscription is not { } subscription)
        {
            return Reject(request, 481);
        }
        if (Expiry(request, out var seconds) is { } tooBrief)
        {
            return tooBrief;
        }
        lock (dialog.Gate)
        {
            if (dialog.TerminateReason is not null || dialog.Ended)
            {
                return Reject(request, 481);
            }
            // RFC 3261 §12.2.2: a lower CSeq is out of order.
            var cseq = request.CSeq.Sequence;
            if (dialog.State.RemoteCSeq is { } last && cseq <= last)
            {
                return Reject(request, 500, "Server Internal Error (CSeq out of order)");
            }
            dialog.State.RemoteCSeq = cseq;
            if (request.Contact is { Count: 1 } c)
            {
                dialog.State.RemoteTarget = c[0].Uri.ToString(); // target refresh (RFC 6665 §4.2.1)
            }
            if (dialog.Flow is { } flow && ReferenceEquals(tx.Transport, dialog.Transport))
            {
                flow.MoveTo(tx.RemoteEndPoint); // the refresh's connection is the freshest way to the subscriber
                dialog.Remote = tx.RemoteEndPoint;
                dialog.State.Remote = tx.RemoteEndPoint.ToString();
            }
        }
        var ok = SipResponse.CreateFor(request, 200);
        ok.Expires = seconds;
        if (seconds == 0)
        {
            // The 200 first, then the final NOTIFY (§4.2.1.4).
            await tx.SendResponseAsync(ok).ConfigureAwait(false);
            Terminate(dialog, "timeout");
            return null;
        }
        var expires = _time.GetUtcNow().AddSeconds(seconds);
        subscription.Expires = expires;
        string json;
        lock (dialog.Gate)
        {
            json = dialog.State.ToJson();
        }
        _host.UpdateTransportState(subscription.Id, json);
        _host.Refresh(subscription.Id, expires);
        ArmExpiry(dialog, TimeSpan.FromSeconds(seconds));
        // The current state again after every refresh (§4.2.1.2).
        var latest = _host.CurrentTotals(subscription.Filter.Account, subscription.Filter.Mailbox) is { } totals
            ? new Notification(subscription, NotificationKind.Initial, null, subscription.Filter.Mailbox, totals, Interlocked.Read(ref subscription.Sequence))
            : (Notification?)null;
        await tx.SendResponseAsync(ok).ConfigureAwait(false);
        Requeue(dialog, latest);
        return null;
    }

    /// <summary>
    /// A minimal registrar: accepts a binding without storing it, answering after the configured delay.
    /// With authentication on, the REGISTER is challenged like a SUBSCRIBE (same credentials, nonces,
    /// stale= and nc handling, RFC 3261 §22.4), and the authenticated user may register only its own
    /// address of record (§10.3 step 3): To must be that user's <c>sip:user@realm</c>, else 403.
    /// </summary>
    private async Task<SipResponse> HandleRegisterAsync(SipRequest request, IPEndPoint remote)
    {
        if (Authenticate(request, remote, out var user) is { } challenge)
        {
            return challenge; // at once: only the 200 is held back (baresip's flood follows a fast 200)
        }
        if (_digest is not null)
        {
            var to = request.To.Uri;
            if (!to.IsSip || !string.Equals($"sip:{to.User}@{to.Host}", user, StringComparison.OrdinalIgnoreCase))
            {
                return Reject(request, 403, "Forbidden (may register only " + Sanitize(user!) + ")");
            }
        }
        await Task.Delay(_options.Registrar.ResponseDelay, _time).ConfigureAwait(false);
        var ok = SipResponse.CreateFor(request, 200, toTag: Aggregators.Sip.Dialogs.SipDialogId.NewTag());
        foreach (var c in request.Headers.GetAll(SipHeaderNames.Contact))
        {
            ok.Headers.Add(SipHeaderNames.Contact, c.RawValue);
        }
        ok.Expires = request.Expires ?? 3600;
        return ok;
    }

    // ---- notifications --------------------------------------------------------------------

    /// <summary>Called on the dispatcher thread: queue or coalesce, send if nothing is in flight. Never blocks.</summary>
    public void Deliver(in Notification notification)
    {
        if (_stopping)
        {
            return; // after a restart the resumed dialog gets the current state
        }
        var subscription = notification.Subscription;
        if (!_byId.TryGetValue(subscription.Id, out var dialog))
        {
            dialog = Bind(subscription);
            if (dialog is null)
            {
                return;
            }
        }
        NotifyStep<Notification?> step;
        lock (dialog.Gate)
        {
            step = dialog.Queue.Offer(notification); // collapses into the newest; after Terminate only the final NOTIFY's state
        }
        Send(dialog, step, _burst); // the dispatcher's burst, if it is in one: UDP NOTIFYs leave together at its end
    }

    /// <summary>A notification for a subscription not yet indexed: one being created, or one restored.</summary>
    private NotifierDialog? Bind(Subscription subscription)
    {
        if (subscription.TransportState is { } json && _awaiting.TryGetValue(json, out var dialog))
        {
            lock (dialog.Gate)
            {
                dialog.Subscription = subscription;
            }
            _byId.TryAdd(subscription.Id, dialog);
            return _byId[subscription.Id];
        }
        return Adopt(subscription);
    }

    private NotifierDialog? Adopt(Subscription subscription)
    {
        if (_byId.TryGetValue(subscription.Id, out var existing))
        {
            return existing;
        }
        if (SipDialogState.FromJson(subscription.TransportState) is not { } state
            || !Enum.TryParse<SipTransportProtocol>(state.Transport, ignoreCase: true, out var protocol)
            || !_transports.TryGetValue(protocol, out var transport))
        {
            LogCannotResume(subscription.Id);
            _host.Unsubscribe(subscription.Id, "SIP dialog state unusable after restart");
            return null;
        }
        // Resume after the reserved block: no CSeq used before the restart is repeated.
        state.CSeq = state.CSeqReserved;
        var dialog = new NotifierDialog(state, transport) { Subscription = subscription };
        if (!_byId.TryAdd(subscription.Id, dialog))
        {
            return _byId[subscription.Id];
        }
        _byDialog[dialog.Key] = dialog;
        AttachFlow(dialog);
        var remaining = subscription.Expires is { } e ? e - _time.GetUtcNow() : TimeSpan.FromSeconds(_options.MaxExpiresSeconds);
        ArmExpiry(dialog, remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        return dialog;
    }

    /// <summary>After the 200: lets the held NOTIFY go.</summary>
    private void Release(NotifierDialog dialog)
    {
        NotifyStep<Notification?> step;
        lock (dialog.Gate)
        {
            step = dialog.Queue.Release();
        }
        Send(dialog, step);
    }

    /// <summary>Queues the latest state again (after a refresh).</summary>
    private void Requeue(NotifierDialog dialog, Notification? current)
    {
        var step = NotifyStep<Notification?>.None;
        lock (dialog.Gate)
        {
            if ((current ?? dialog.Queue.Latest) is { } state)
            {
                step = dialog.Queue.Repeat(state); // something newer queued already wins
            }
        }
        Send(dialog, step);
    }

    /// <summary>Ends the subscription with a final NOTIFY (RFC 6665 §4.2.2) carrying the latest state.</summary>
    internal void Terminate(NotifierDialog dialog, string reason)
    {
        NotifyStep<Notification?> step;
        lock (dialog.Gate)
        {
            if (dialog.Queue.Closing)
            {
                return;
            }
            dialog.ExpiryTimer?.Dispose();
            step = dialog.Queue.Terminate(reason); // else sent when the NOTIFY in flight completes, or when released
        }
        Send(dialog, step);
    }

    /// <summary>Sends what the dialog's queue decided, if anything.</summary>
    private void Send(NotifierDialog dialog, in NotifyStep<Notification?> step, SipDatagramBatch? batch = null)
    {
        if (step.Send)
        {
            SendNotify(dialog, step.State, step.TerminateReason, batch);
        }
    }

    private void ArmExpiry(NotifierDialog dialog, TimeSpan due)
    {
        lock (dialog.Gate)
        {
            if (dialog.ExpiryTimer is { } t)
            {
                t.Change(due, Timeout.InfiniteTimeSpan);
                return;
            }
            dialog.ExpiryTimer = _time.CreateTimer(static d => ((SipNotifierExpiry)d!).Fire(), new SipNotifierExpiry(this, dialog), due, Timeout.InfiniteTimeSpan);
        }
    }

    private sealed class SipNotifierExpiry(SipNotifier notifier, NotifierDialog dialog)
    {
        public void Fire() => notifier.Terminate(dialog, "timeout");
    }

    /// <summary>
    /// Builds and sends one NOTIFY; <paramref name="terminateReason"/> makes it the final one. One
    /// writer for every transport (<see cref="NotifyDatagram"/>, from the dialog's pre-encoded parts):
    /// UDP sends its bytes on the dialog's transaction slot; TCP and TLS parse them back into the
    /// request their client transaction sends (RFC 3261 §17.1.2: no retransmissions on a stream).
    /// </summary>
    private void SendNotify(NotifierDialog dialog, Notification? notification, string? terminateReason, SipDatagramBatch? batch = null)
    {
        NotifyDatagram notify;
        try
        {
            notify = PrepareDatagram(dialog, notification, terminateReason, NextCSeq(dialog));
        }
#pragma warning disable CA1031 // a dialog whose stored state no longer makes a valid request ends; others go on
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogBuildFailed(e, dialog.Subscription?.Id ?? 0);
            End(dialog, "NOTIFY could not be built");
            return;
        }
        if (dialog.Transport is ISipDatagramTransport { IsReliable: false } datagram)
        {
            SendNotifyDatagram(dialog, datagram, notify, terminateReason is not null, batch);
            return;
        }
        SipRequest request;
        try
        {
            request = (SipRequest)Aggregators.Sip.Parsing.SipMessageParser.ParseDatagram(NotifyBytes(notify, SipTransactionKey.NewBranch()));
        }
        catch (SipParseException e)
        {
            LogBuildFailed(e, dialog.Subscription?.Id ?? 0);
            End(dialog, "NOTIFY could not be built");
            return;
        }
        try
        {
            // Status-only: the 200s are matched from their Via, CSeq and status line, not parsed whole.
            _transactions.SendRequest(request, (ISipTransport?)dialog.Flow ?? dialog.Transport, dialog.Remote, new NotifyCompletion(this, dialog, terminateReason is not null), statusOnly: true);
        }
        catch (InvalidOperationException e)
        {
            LogBuildFailed(e, dialog.Subscription?.Id ?? 0);
            End(dialog, "NOTIFY could not be sent");
            return;
        }
        Interlocked.Increment(ref _notifiesSent);
    }

    /// <summary>
    /// Told synchronously when a NOTIFY transaction ends (on the receive loop that read the 200, or
    /// the timer): the next NOTIFY of the dialog goes out from there, without a thread-pool hop.
    /// </summary>
    private sealed class NotifyCompletion(SipNotifier notifier, NotifierDialog dialog, bool final) : ISipClientTransactionUser
    {
        public void OnCompleted(SipNonInviteClientTransaction transaction, SipClientTransactionResult result) =>
            notifier.OnNotifyCompleted(dialog, result.Outcome, result.StatusCode, final);
    }

    /// <summary>
    /// The dialog's next CSeq (RFC 3261 §12.2.1.1). CSeqs are reserved in blocks stored with the
    /// dialog before any of them is used; the next block is stored ahead on the thread pool once half
    /// of the current one is used (<see cref="SequenceWindow"/>), so the sending thread (often the UDP
    /// receive thread) does not write the store in the steady state.
    /// </summary>
    private uint NextCSeq(NotifierDialog dialog)
    {
        var s = dialog.State;
        SequenceWindow window;
        long n;
        lock (dialog.Gate)
        {
            window = dialog.CSeqs ??= NewCSeqWindow(dialog);
            n = (long)s.CSeq + 1 - window.Base; // the window's per-process number of the next CSeq (s.CSeq is the last one used)
        }
        // False only when the subscription is gone from the store: the NOTIFY in hand still goes out
        // (the final one of an ending dialog), its CSeq simply not reserved for a restart that cannot come.
        window.TryNext(n, out var wire);
        var cseq = (uint)wire;
        lock (dialog.Gate)
        {
            s.CSeq = cseq;
        }
        return cseq;
    }

    // Its own method: the closure over the dialog is allocated once per dialog, not per NOTIFY.
    private SequenceWindow NewCSeqWindow(NotifierDialog dialog) =>
        SequenceWindow.Continue(dialog.State.CSeq, dialog.State.CSeqReserved, r => StoreCSeqReservation(dialog, r), CSeqBlock);

    /// <summary>Stores the dialog with CSeqs reserved up to <paramref name="reservation"/> (on the thread pool when ahead).</summary>
    private bool StoreCSeqReservation(NotifierDialog dialog, long reservation)
    {
        string json;
        Subscription? subscription;
        lock (dialog.Gate)
        {
            var s = dialog.State;
            s.CSeqReserved = Math.Max(s.CSeqReserved, (uint)reservation);
            json = s.ToJson();
            subscription = dialog.Subscription;
        }
        // Not yet bound to its subscription (the SUBSCRIBE being stored): the block reserved with it covers the first NOTIFYs.
        return subscription is null || _host.UpdateTransportState(subscription.Id, json);
    }

    private byte[] MailEventBody(NotifierDialog dialog, Notification? notification) =>
        notification is { } n
            // docs/sip.md: the initial body says which heartbeat interval was granted.
            ? MailEventNotifyBody.Encode(n.Sequence, KindName(n.Kind), n.Mailbox, n.Totals, n.Event, HeartbeatOf(n))
            : MailEventNotifyBody.Encode(0, "initial", dialog.Subscription?.Filter.Mailbox ?? MailboxPath.Root, null, null,
                dialog.Subscription is { } subscription ? _host.GrantedHeartbeat(subscription.Filter) : null);

    private TimeSpan? HeartbeatOf(in Notification n) => n.Kind == NotificationKind.Initial ? _host.GrantedHeartbeat(n.Subscription.Filter) : null;

    private static byte[] SummaryBody(NotifierDialog dialog, NotifyHeaders h, MailboxTotals? totals) =>
        totals is { } t
            ? h.Summary!.EncodeShared(t)
            : new MessageSummary { MessagesWaiting = false, MessageAccount = dialog.State.Account }.ToBytes();

    /// <summary>RFC 6665 §4.1.3, §8.2.3: the expires= of an active Subscription-State, the time left (subscribers time their refresh from it).</summary>
    private ulong RemainingSeconds(NotifierDialog dialog) =>
        dialog.Subscription?.Expires is { } e ? (ulong)Math.Max(0, (long)Math.Ceiling((e - _time.GetUtcNow()).TotalSeconds)) : 0;

    // ---- UDP: NOTIFYs written straight to bytes on a per-dialog transaction slot -------------------

    private MailEventBodyPart? _lastEventBody; // the last event's body part: one event fans out to many dialogs

    private void SendNotifyDatagram(NotifierDialog dialog, ISipDatagramTransport transport, NotifyDatagram notify, bool final, SipDatagramBatch? batch)
    {
        InvalidOperationException? failed = null;
        lock (dialog.Gate)
        {
            // Started under the gate, where End gives the slot back: a slot is never used after its dialog ended.
            if (dialog.Ended)
            {
                return;
            }
            dialog.FinalInFlight = final;
            var slot = dialog.Slot ??= _transactions.AcquireSlot();
            dialog.SlotUser ??= new SlotCompletion(this, dialog);
            dialog.RemoteAddress ??= dialog.Remote.Serialize();
            Interlocked.Increment(ref _notifiesSent);
            try
            {
                slot.Start(transport, dialog.RemoteAddress, SipMethods.Notify, dialog.SlotUser, notify, NotifyDatagram.Write, batch);
            }
            catch (InvalidOperationException e)
            {
                failed = e;
            }
        }
        if (failed is not null)
        {
            LogBuildFailed(failed, dialog.Subscription?.Id ?? 0);
            End(dialog, "NOTIFY could not be sent");
        }
    }

    /// <summary>The NOTIFY's bytes with the given CSeq and branch (what every transport sends; tests check them against RFC 6665/3842).</summary>
    internal byte[] NotifyBytes(NotifierDialog dialog, Notification? notification, string? terminateReason, uint cseq, string branch) =>
        NotifyBytes(PrepareDatagram(dialog, notification, terminateReason, cseq), branch);

    private static byte[] NotifyBytes(NotifyDatagram notify, string branch)
    {
        var buffer = new byte[1024];
        int n;
        while ((n = NotifyDatagram.Write(buffer, Encoding.ASCII.GetBytes(branch), notify)) < 0)
        {
            buffer = new byte[buffer.Length * 2];
        }
        return buffer.AsSpan(0, n).ToArray();
    }

    private NotifyDatagram PrepareDatagram(NotifierDialog dialog, Notification? notification, string? terminateReason, uint cseq)
    {
        NotifyHeaders? h;
        NotifyDatagramParts? parts;
        lock (dialog.Gate)
        {
            // Both made for the current remote target: one lock for both (the common case).
            (h, parts) = (dialog.Headers, dialog.Datagram);
            var target = dialog.State.RemoteTarget;
            if (h is null || parts is null || !ReferenceEquals(h.RemoteTarget, target) || !ReferenceEquals(parts.RemoteTarget, target))
            {
                h = null;
            }
        }
        if (h is null || parts is null)
        {
            h = NotifyHeadersOf(dialog);
            parts = new NotifyDatagramParts(h, dialog.State.RouteSet);
            lock (dialog.Gate)
            {
                dialog.Datagram = parts;
            }
        }
        var expires = RemainingSeconds(dialog);
        if (dialog.State.Event != MailEventNotifyBody.EventPackage)
        {
            return new NotifyDatagram(parts, cseq, expires, terminateReason, SummaryType, null, 0, SummaryBody(dialog, h, notification?.Totals));
        }
        if (notification is { } n)
        {
            var kind = KindName(n.Kind);
            var heartbeat = HeartbeatOf(n);
            var part = Volatile.Read(ref _lastEventBody);
            if (part is null || !part.IsFor(kind, n.Mailbox, n.Totals, n.Event, heartbeat))
            {
                part = MailEventBodyPart.Encode(kind, n.Mailbox, n.Totals, n.Event, heartbeat);
                Volatile.Write(ref _lastEventBody, part);
            }
            if (part is not null)
            {
                return new NotifyDatagram(parts, cseq, expires, terminateReason, MailEventType, part, n.Sequence, default);
            }
        }
        return new NotifyDatagram(parts, cseq, expires, terminateReason, MailEventType, null, 0, MailEventBody(dialog, notification));
    }

    /// <summary>Told synchronously when a dialog's NOTIFY transaction ends (on the receive thread that read the 200, or the timer).</summary>
    private sealed class SlotCompletion(SipNotifier notifier, NotifierDialog dialog) : ISipClientSlotUser
    {
        // FinalInFlight was written before the slot started this transaction; the slot's lock orders that before this call.
        public void OnCompleted(SipClientTransactionSlot slot, SipClientTransactionOutcome outcome, int statusCode) =>
            notifier.OnNotifyCompleted(dialog, outcome, statusCode, dialog.FinalInFlight);
    }

    private static readonly ReadOnlyMemory<byte> MailEventType = Encoding.ASCII.GetBytes(MailEventNotifyBody.MediaType);
    private static readonly ReadOnlyMemory<byte> SummaryType = Encoding.ASCII.GetBytes(MessageSummary.MediaType);

    /// <summary>The dialog's constant NOTIFY parts, rebuilt when a target refresh changed the remote target.</summary>
    private NotifyHeaders NotifyHeadersOf(NotifierDialog dialog)
    {
        var s = dialog.State;
        string target;
        lock (dialog.Gate)
        {
            target = s.RemoteTarget;
            if (dialog.Headers is { } cached && ReferenceEquals(cached.RemoteTarget, target))
            {
                return cached;
            }
        }
        var transport = dialog.Transport;
        var built = new NotifyHeaders(
            target,
            SipUri.Parse(target),
            Encoding.UTF8.GetBytes($"SIP/2.0/{transport.Protocol.ToString().ToUpperInvariant()} {AdvertisedHostPort(transport)};branch="),
            Encoding.UTF8.GetBytes(s.LocalUri + ";tag=" + s.LocalTag),
            Encoding.UTF8.GetBytes(s.RemoteUri + ";tag=" + s.RemoteTag),
            Encoding.UTF8.GetBytes(s.CallId),
            Encoding.UTF8.GetBytes("<" + LocalContact(transport) + ">"),
            Encoding.UTF8.GetBytes(s.EventId is null ? s.Event : s.Event + ";id=" + s.EventId),
            s.Event == MailEventNotifyBody.EventPackage ? null : _summaries.GetOrAdd(s.Account ?? "", static (a, c) => new MessageSummaryBytes(a.Length == 0 ? null : a, c), _options.MessageClass));
        lock (dialog.Gate)
        {
            dialog.Headers = built;
        }
        return built;
    }

    private void OnNotifyCompleted(NotifierDialog dialog, SipClientTransactionOutcome outcome, int code, bool final)
    {
        if (_stopping)
        {
            return; // transports closing: not the subscriber's failure; the dialog resumes after a restart
        }
        if (final)
        {
            End(dialog, "final NOTIFY sent");
            return;
        }
        if (code is < 200 or >= 300)
        {
            // RFC 6665 §4.2.2: a timeout, 481, or another failure ends the subscription, no further NOTIFY.
            var why = outcome switch
            {
                SipClientTransactionOutcome.Timeout => "NOTIFY timed out",
                SipClientTransactionOutcome.TransportError => "NOTIFY transport error",
                _ => $"NOTIFY answered {code}",
            };
            End(dialog, why);
            return;
        }
        NotifyStep<Notification?> step;
        lock (dialog.Gate)
        {
            step = dialog.Queue.Completed(); // the final NOTIFY when terminating, else the pending state
        }
        Send(dialog, step);
    }

    /// <summary>Frees the dialog and the PNA subscription.</summary>
    private void End(NotifierDialog dialog, string reason)
    {
        if (_stopping)
        {
            return;
        }
        lock (dialog.Gate)
        {
            if (!dialog.Queue.End())
            {
                return;
            }
            dialog.ExpiryTimer?.Dispose();
            dialog.Slot?.Release(); // not in flight: End follows a completed (or never started) NOTIFY
            dialog.Slot = null;
            dialog.Flow?.Dispose(); // the connection may now be idle-closed
        }
        _byDialog.TryRemove(new(dialog.Key, dialog));
        if (dialog.Subscription is { } s)
        {
            _byId.TryRemove(new(s.Id, dialog));
            _host.Unsubscribe(s.Id, (dialog.TerminateReason is { } r ? "SIP " + r + ": " : "SIP: ") + reason);
        }
    }

    /// <summary>Stops timers without ending subscriptions (they stay stored for the next start).</summary>
    public void Shutdown()
    {
        _stopping = true;
        foreach (var d in _byId.Values)
        {
            lock (d.Gate)
            {
                d.ExpiryTimer?.Dispose();
            }
        }
    }

    private static string KindName(NotificationKind kind) => kind switch
    {
        NotificationKind.Event => "event",
        NotificationKind.Heartbeat => "heartbeat",
        _ => "initial",
    };

    private string LocalContact(ISipTransport transport) =>
        "sip:pna@" + AdvertisedHostPort(transport) + (transport.Protocol == SipTransportProtocol.Udp ? "" : ";transport=" + transport.Protocol.ToString().ToLowerInvariant());

    /// <summary>
    /// The sent-by of Via and the host of Contact (RFC 3261 §18.1.1, §8.1.1.8): <c>AdvertisedHost</c>
    /// when set (a listener bound to 0.0.0.0 or behind NAT), else the bound address; the bound port.
    /// </summary>
    private string AdvertisedHostPort(ISipTransport transport)
    {
        if (_options.AdvertisedHost is not { Length: > 0 } host)
        {
            return HostPort(transport.LocalEndPoint);
        }
        var bare = host.Trim('[', ']');
        var literal = IPAddress.TryParse(bare, out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + bare + "]" : host;
        return literal + ":" + transport.LocalEndPoint.Port.ToString(CultureInfo.InvariantCulture);
    }

    private static string HostPort(IPEndPoint e) =>
        (e.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? "[" + e.Address + "]" : e.Address.ToString()) + ":" + e.Port.ToString(CultureInfo.InvariantCulture);

    /// <summary>Text safe for a reason phrase (no CR/LF, bounded).</summary>
    private static string Sanitize(string text)
    {
        var clean = new string([.. text.Where(c => c >= ' ' && c != '\x7f')]);
        return clean.Length > 200 ? clean[..200] : clean;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP {Method} handling failed")]
    private partial void LogRequestFailed(Exception exception, string method);

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP digest authentication failed ({Verdict}) for {From}")]
    private partial void LogAuthFailed(string verdict, string from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription #{Id}: stored SIP dialog cannot be resumed; ended")]
    private partial void LogCannotResume(long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Subscription #{Id}: NOTIFY could not be built or sent")]
    private partial void LogBuildFailed(Exception exception, long id);

    [LoggerMessage(Level = LogLevel.Debug, Message = "The kernel refused {Count} NOTIFY datagrams of a burst; timer E retransmits them")]
    private partial void LogBurstDropped(int count);
}
