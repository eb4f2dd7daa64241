using System.Net;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transport;

namespace Aggregators.Cna.Sip;

/// <summary>
/// What makes upstream subscriptions distinct (docs/cna.md): the remote resource, the package,
/// the filter body (canonical JSON, mail-event only), the heartbeat a local subscriber asked for,
/// and the upstream identity when it is per user (null: the CNA's shared identity).
/// </summary>
internal sealed record UpstreamKey(string Resource, string Package, string Filter, int? Heartbeat, string? Identity);

/// <summary>Everything needed to send the upstream SUBSCRIBE.</summary>
internal sealed record UpstreamTarget(
    SipUri RequestUri,
    string Domain,
    IPEndPoint Destination,
    SipTransportProtocol Protocol,
    SipNameAddress From,
    Func<DigestClient?> Credentials,
    IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders,
    string Accept,
    string? ContentType,
    byte[] Body,
    TimeSpan Heartbeat);

/// <summary>How the first attempt of a new upstream subscription went, for the local SUBSCRIBE that is waiting on it.</summary>
internal enum UpstreamFirstAnswer
{
    /// <summary>A NOTIFY arrived: the cache holds the PNA's state.</summary>
    Fresh,

    /// <summary>The PNA did not answer (or answered 5xx): accepted locally, stale, re-subscribing in the background.</summary>
    Unavailable,

    /// <summary>The PNA refused for good (403, 404, rejected): see <see cref="UpstreamSubscription.Refusal"/>.</summary>
    Refused,
}

/// <summary>
/// One upstream subscription shared by its local subscribers: the current <see cref="SipSubscription"/>,
/// the cached latest state, liveness (the last time the PNA was heard from) and the stale flag.
/// <see cref="UpstreamPool"/> runs its life cycle; this class holds the state and the fan-out.
/// </summary>
internal sealed class UpstreamSubscription(UpstreamKey key, UpstreamTarget target, ILocalNotifier notifier)
{
    private readonly List<LocalDialog> _locals = [];
    private long _grantedTicks; // read by the watchdog's thread

    public Lock Gate { get; } = new();
    public UpstreamKey Key { get; } = key;
    public UpstreamTarget Target { get; } = target;
    public bool IsMailEvent => Key.Package == MailEventNotifyBody.EventPackage;

    /// <summary>The SUBSCRIBE attempt in use (null before the first).</summary>
    public UpstreamAttempt? CurrentAttempt { get; set; }

    public SipSubscription? Current => CurrentAttempt?.Subscription;
    public TaskCompletionSource<UpstreamFirstAnswer> FirstAnswer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The NOTIFY body last received (the cache), and its type.</summary>
    public byte[]? CachedBody { get; private set; }

    public string? CachedContentType { get; private set; }

    /// <summary>True until the first NOTIFY, and from silence or failure until fresh data arrives again.</summary>
    public bool Stale { get; private set; } = true;

    /// <summary>When the PNA was last heard from (timestamp of the <see cref="TimeProvider"/>).</summary>
    public long LastHeard { get; set; }

    /// <summary>Set when the PNA refused or revoked for good: the reason local subscriptions end with (RFC 6665 §4.1.3).</summary>
    public SipSubscriptionEnd? Refusal { get; set; }

    /// <summary>
    /// The heartbeat interval the PNA granted (mail-event: <c>"heartbeat"</c> in its <c>initial</c>
    /// body, docs/sip.md); null until it said so (an older PNA never does).
    /// </summary>
    public TimeSpan? Granted => Volatile.Read(ref _grantedTicks) is > 0 and var ticks ? new TimeSpan(ticks) : null;

    /// <summary>
    /// How often the PNA is heard from at least: the granted interval, else the one asked
    /// (message-summary: the refresh interval). The watchdog allows two of these.
    /// </summary>
    public TimeSpan Interval => Granted ?? Target.Heartbeat;

    /// <summary>
    /// The heartbeat interval the CNA grants its local subscribers (docs/cna.md): none unless they
    /// asked for one (the key has one); else every heartbeat of the PNA is passed on, so the PNA's
    /// interval. Said in every <c>initial</c> body a local subscriber gets.
    /// </summary>
    public TimeSpan? LocalHeartbeat => Key.Heartbeat is null ? null : Interval;

    public CancellationTokenSource Stop { get; } = new();
    public bool Closed { get; set; }
    public int Attempts { get; set; }
    public long NotifiesReceived { get; private set; }

    public int LocalCount
    {
        get
        {
            lock (Gate)
            {
                return _locals.Count;
            }
        }
    }

    public IReadOnlyList<LocalDialog> Locals()
    {
        lock (Gate)
        {
            return [.. _locals];
        }
    }

    public void Add(LocalDialog local)
    {
        lock (Gate)
        {
            _locals.Add(local);
        }
    }

    /// <summary>Removes a local subscriber; true when it was the last one.</summary>
    public bool Remove(LocalDialog local)
    {
        lock (Gate)
        {
            _locals.Remove(local);
            return _locals.Count == 0;
        }
    }

    /// <summary>
    /// A NOTIFY from the PNA: cache it, mark fresh, fan it out. A mail-event heartbeat goes only to
    /// local subscribers that asked for heartbeats (the key has one), unless it ends a stale period.
    /// </summary>
    public void Received(SipNotification notification, long now)
    {
        LastHeard = now;
        if (notification.IsTerminated || notification.Body.IsEmpty)
        {
            return; // liveness only; an end is handled by the pool
        }
        var body = notification.Body.ToArray();
        var type = notification.ContentType ?? (IsMailEvent ? MailEventNotifyBody.MediaType : MessageSummary.MediaType);
        string? kind = null;
        if (IsMailEvent && MailEventNotifyBody.TryDecode(body, out _, out kind, out _, out _) && kind == "initial")
        {
            // docs/sip.md: the PNA's initial body says the interval it granted.
            if (MailEventNotifyBody.GrantedHeartbeat(body) is { } granted)
            {
                Volatile.Write(ref _grantedTicks, granted.Ticks);
            }
            // The locals hear what the CNA grants them, not what the PNA granted the CNA.
            if (MailEventNotifyBody.TrySnapshot(body, stale: false, LocalHeartbeat, out var local))
            {
                body = local!;
            }
        }
        bool wasStale;
        LocalDialog[] locals;
        lock (Gate)
        {
            NotifiesReceived++;
            wasStale = Stale;
            CachedBody = body;
            CachedContentType = type;
            Stale = false;
            locals = [.. _locals];
        }
        if (IsMailEvent && Key.Heartbeat is null && !wasStale && kind == "heartbeat")
        {
            return;
        }
        var state = new LocalState(type, body);
        foreach (var local in locals)
        {
            notifier.Deliver(local, state);
        }
    }

    /// <summary>Ends every local subscription (the PNA refused or revoked): final NOTIFYs with <paramref name="reason"/>.</summary>
    public void TerminateAll(string reason)
    {
        LocalDialog[] locals;
        lock (Gate)
        {
            locals = [.. _locals];
            _locals.Clear();
        }
        foreach (var local in locals)
        {
            notifier.Terminate(local, reason);
        }
    }

    /// <summary>The PNA went silent or the subscription failed: tell mail-event subscribers their state is stale (docs/cna.md).</summary>
    public void MarkStale()
    {
        LocalDialog[] locals;
        lock (Gate)
        {
            if (Stale)
            {
                return;
            }
            Stale = true;
            locals = [.. _locals];
        }
        if (!IsMailEvent || CurrentState() is not { } state)
        {
            return; // message-summary has no way to say it (RFC 3842): the last counts stay
        }
        foreach (var local in locals)
        {
            notifier.Deliver(local, state);
        }
    }

    /// <summary>
    /// The state a local subscriber gets now (after its SUBSCRIBE or refresh): the cached summary
    /// as it is, or a mail-event snapshot with the stale marker when stale. Null when nothing is
    /// known yet and nothing can be said (message-summary before the first NOTIFY).
    /// </summary>
    public LocalState? CurrentState()
    {
        byte[]? body;
        string? type;
        bool stale;
        lock (Gate)
        {
            body = CachedBody;
            type = CachedContentType;
            stale = Stale;
        }
        if (!IsMailEvent)
        {
            return body is null ? null : new LocalState(type!, body);
        }
        if (body is not null && MailEventNotifyBody.TrySnapshot(body, stale, LocalHeartbeat, out var snapshot))
        {
            return new LocalState(MailEventNotifyBody.MediaType, snapshot!);
        }
        // Nothing from the PNA yet: an empty snapshot, stale.
        var empty = MailEventNotifyBody.Encode(0, "initial", EventModel.MailboxPath.Root, null, null);
        MailEventNotifyBody.TrySnapshot(empty, stale: true, LocalHeartbeat, out var marked);
        return new LocalState(MailEventNotifyBody.MediaType, marked!);
    }
}

/// <summary>
/// One upstream SUBSCRIBE and what became of it: its first NOTIFY, its end. Abandoned when the
/// watchdog gave up on it or the last local subscriber left: its NOTIFYs are ignored from then on.
/// </summary>
internal sealed class UpstreamAttempt
{
    public TaskCompletionSource FirstNotify { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public TaskCompletionSource<SipSubscriptionEnd> Ended { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public SipSubscription? Subscription { get; set; }
    public volatile bool Abandoned;

    /// <summary>Stops listening to this attempt and ends it upstream (§4.1.2.3), reporting <paramref name="end"/> to the loop.</summary>
    public void Abandon(SipSubscriptionEnd end)
    {
        Abandoned = true;
        Ended.TrySetResult(end);
        Subscription?.Unsubscribe();
    }
}

/// <summary>What an upstream subscription needs from the local notifier.</summary>
internal interface ILocalNotifier
{
    /// <summary>Queues a NOTIFY (coalescing) for one local dialog.</summary>
    void Deliver(LocalDialog local, LocalState state);

    /// <summary>Ends a local subscription with a final NOTIFY <c>terminated;reason=</c>.</summary>
    void Terminate(LocalDialog local, string reason);
}
