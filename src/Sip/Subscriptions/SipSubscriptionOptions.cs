using System.Net;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Subscriptions;

/// <summary>What one subscription asks for and where it goes (RFC 6665 §4.1.2.1). Immutable once started.</summary>
public sealed record SipSubscriptionOptions
{
    /// <summary>The resource: the SUBSCRIBE's Request-URI and To (e.g. sip:juliet@example.com).</summary>
    public required SipUri RequestUri { get; init; }

    /// <summary>The subscriber (the From of the SUBSCRIBE, without a tag; one is added).</summary>
    public required SipNameAddress From { get; init; }

    /// <summary>The Event header's event type, e.g. <c>message-summary</c> (RFC 6665 §8.2.1).</summary>
    public required string Event { get; init; }

    /// <summary>An Event id parameter, when several subscriptions share a dialog (rarely needed).</summary>
    public string? EventId { get; init; }

    /// <summary>The Accept header (§4.1.2.1: the body formats the subscriber understands); none when null.</summary>
    public string? Accept { get; init; }

    /// <summary>Media type of <see cref="Body"/> (e.g. a filter body); required when a body is given.</summary>
    public string? ContentType { get; init; }

    public ReadOnlyMemory<byte> Body { get; init; }

    /// <summary>Expires asked for in every SUBSCRIBE (§4.1.2.1); the notifier may shorten it.</summary>
    public uint Expires { get; init; } = 3600;

    /// <summary>
    /// Refresh at least this often, whatever the notifier granted (e.g. a CNA's liveness check on a
    /// package without heartbeats: every refresh is answered with a NOTIFY, §4.2.1.2).
    /// </summary>
    public TimeSpan? MaxRefreshInterval { get; init; }

    /// <summary>The transport the SUBSCRIBE goes out on; its bound address is the Via and Contact.</summary>
    public required ISipTransport Transport { get; init; }

    /// <summary>The next hop (the notifier or an outbound proxy).</summary>
    public required IPEndPoint Destination { get; init; }

    /// <summary>Answers 401/407 challenges (RFC 3261 §22.2, §22.3); without it a challenge ends the attempt.</summary>
    public DigestClient? Credentials { get; init; }

    /// <summary>More header fields for every SUBSCRIBE, e.g. P-Asserted-Identity (RFC 3325).</summary>
    public IReadOnlyList<KeyValuePair<string, string>> ExtraHeaders { get; init; } = [];

    /// <summary>Called for each NOTIFY, in the order received, after its 200 went out. Must not block.</summary>
    public Action<SipSubscription, SipNotification>? OnNotify { get; init; }

    /// <summary>Called once when the subscription has ended (or could not be made). Must not block.</summary>
    public Action<SipSubscription, SipSubscriptionEnd>? OnEnded { get; init; }
}

/// <summary>One NOTIFY as the subscriber saw it (RFC 6665 §4.1.3).</summary>
public sealed record SipNotification(SipSubscriptionState State, string? ContentType, ReadOnlyMemory<byte> Body, SipRequest Request)
{
    public bool IsTerminated => State.State == SipSubscriptionState.Terminated;
}

/// <summary>Why a subscription ended.</summary>
public enum SipSubscriptionEndKind
{
    /// <summary>The SUBSCRIBE (initial or refresh) got a final non-2xx response (see StatusCode).</summary>
    Rejected,

    /// <summary>The SUBSCRIBE was not answered (timer F; RFC 3261 §8.1.3.1: 408).</summary>
    Timeout,

    /// <summary>The SUBSCRIBE could not be sent (RFC 3261 §17.1.4).</summary>
    TransportError,

    /// <summary>A NOTIFY said <c>Subscription-State: terminated</c> (see Reason, RetryAfter).</summary>
    Terminated,

    /// <summary>Nothing refreshed the subscription before it expired.</summary>
    Expired,

    /// <summary>This side unsubscribed (Expires: 0, §4.1.2.3).</summary>
    Unsubscribed,
}

/// <summary>
/// How a subscription ended, with RFC 6665 §4.1.3's advice on trying again: <see cref="MayRetry"/>
/// and, when the notifier asked for it, the earliest time (<see cref="RetryAfter"/>).
/// </summary>
public sealed record SipSubscriptionEnd(SipSubscriptionEndKind Kind, int? StatusCode = null, string? Reason = null, TimeSpan? RetryAfter = null)
{
    /// <summary>
    /// §4.1.3: after deactivated, timeout, probation, giveup (or no reason) a new subscription may be
    /// tried; after rejected, noresource or invariant it should not. A refused SUBSCRIBE may be
    /// retried only for a 5xx/6xx with Retry-After or a 408/503; 4xx says the request itself is wrong.
    /// </summary>
    public bool MayRetry => Kind switch
    {
        SipSubscriptionEndKind.Unsubscribed => false,
        SipSubscriptionEndKind.Terminated => Reason is not ("rejected" or "noresource" or "invariant"),
        SipSubscriptionEndKind.Rejected => StatusCode is 408 or 480 or 481 or 500 or 503 or 504 || (StatusCode >= 500 && RetryAfter is not null),
        _ => true,
    };

    public override string ToString() => Kind switch
    {
        SipSubscriptionEndKind.Rejected => $"rejected {StatusCode} {Reason}".TrimEnd(),
        SipSubscriptionEndKind.Terminated => "terminated" + (Reason is null ? "" : ";reason=" + Reason) + (RetryAfter is { } r ? $";retry-after={(int)r.TotalSeconds}" : ""),
        _ => Kind.ToString().ToLowerInvariant(),
    };
}
