using System.Security.Cryptography;

namespace Aggregators.Sip.Dialogs;

/// <summary>Dialog ID = Call-ID, local tag, remote tag (RFC 3261 §12).</summary>
public readonly record struct SipDialogId(string CallId, string LocalTag, string RemoteTag)
{
    /// <summary>The ID of the dialog an incoming in-dialog request belongs to, seen as the UAS (§12.2.2).</summary>
    public static SipDialogId? ForIncomingRequest(SipRequest request) =>
        request.To.Tag is { } local && request.From.Tag is { } remote ? new SipDialogId(request.CallId, local, remote) : null;

    /// <summary>The ID of the dialog a response belongs to, seen as the UAC (§12.1.2).</summary>
    public static SipDialogId? ForIncomingResponse(SipResponse response) =>
        response.From.Tag is { } local && response.To.Tag is { } remote ? new SipDialogId(response.CallId, local, remote) : null;

    /// <summary>A new tag: 64 random bits (§19.3 asks for at least 32).</summary>
    public static string NewTag() => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
}

/// <summary>
/// A subscription within a dialog (RFC 6665 §4.1.2, §8.2.1): the dialog plus Event type and id,
/// since one dialog can carry several subscriptions.
/// </summary>
public readonly record struct SipSubscriptionId(SipDialogId Dialog, string EventType, string? EventId)
{
    public static SipSubscriptionId For(SipDialogId dialog, SipEvent e) => new(dialog, e.EventType.ToLowerInvariant(), e.Id);
}

/// <summary>
/// The dialog state of RFC 3261 §12: identity, CSeq counters, local and remote URIs, remote target
/// and route set, and building in-dialog requests (§12.2.1.1). Not thread-safe; the owner serialises use.
/// </summary>
public sealed class SipDialog
{
    private readonly List<SipNameAddress> _routeSet;

    private SipDialog(SipDialogId id, SipNameAddress localUri, SipNameAddress remoteUri, SipUri remoteTarget, List<SipNameAddress> routeSet, uint localSequence, uint? remoteSequence, bool secure)
    {
        Id = id;
        LocalUri = localUri;
        RemoteUri = remoteUri;
        RemoteTarget = remoteTarget;
        _routeSet = routeSet;
        LocalSequence = localSequence;
        RemoteSequence = remoteSequence;
        Secure = secure;
    }

    public SipDialogId Id { get; }
    public SipNameAddress LocalUri { get; }
    public SipNameAddress RemoteUri { get; }
    public SipUri RemoteTarget { get; private set; }
    public IReadOnlyList<SipNameAddress> RouteSet => _routeSet;
    public uint LocalSequence { get; private set; }
    public uint? RemoteSequence { get; private set; }
    public bool Secure { get; }

    /// <summary>
    /// UAS side (§12.1.1), e.g. a notifier accepting a SUBSCRIBE: route set = Record-Route in order,
    /// remote target = the request's Contact, remote CSeq = the request's.
    /// </summary>
    public static SipDialog CreateAsUas(SipRequest request, string localTag)
    {
        var from = request.From;
        var remoteTag = from.Tag ?? throw new SipParseException("request has no From tag", 0, SipHeaderNames.From);
        var contact = request.Contact is { Count: 1 } c ? c[0].Uri : throw new SipParseException("a dialog-creating request needs exactly one Contact", 0, SipHeaderNames.Contact);
        var to = request.To;
        to.Tag = localTag;
        from.Parameters.Remove("tag");
        var remote = new SipNameAddress(from.Uri, from.DisplayName) { Tag = remoteTag };
        var local = new SipNameAddress(to.Uri, to.DisplayName) { Tag = localTag };
        return new SipDialog(new SipDialogId(request.CallId, localTag, remoteTag), local, remote, contact,
            [.. request.RecordRoute], InitialSequence(), request.CSeq.Sequence, request.RequestUri.Scheme == "sips");
    }

    /// <summary>
    /// UAC side (§12.1.2), e.g. a subscriber receiving a 2xx or the first NOTIFY: route set =
    /// Record-Route in reverse, remote target = the Contact of the response (or NOTIFY).
    /// </summary>
    public static SipDialog CreateAsUac(SipRequest request, SipMessage answer)
    {
        var localTag = request.From.Tag ?? throw new SipParseException("request has no From tag", 0, SipHeaderNames.From);
        // A NOTIFY creating the dialog carries the tags the other way round (RFC 6665 §4.1.2.4).
        var remote = answer is SipRequest ? answer.From : answer.To;
        var remoteTag = remote.Tag ?? throw new SipParseException("answer has no remote tag", 0, answer is SipRequest ? SipHeaderNames.From : SipHeaderNames.To);
        var contact = answer.Contact is { Count: 1 } c ? c[0].Uri : throw new SipParseException("a dialog-creating message needs exactly one Contact", 0, SipHeaderNames.Contact);
        var routes = answer.RecordRoute.ToList();
        if (answer is SipResponse) routes.Reverse();
        var local = request.From;
        return new SipDialog(new SipDialogId(request.CallId, localTag, remoteTag), local, remote, contact, routes,
            request.CSeq.Sequence, answer is SipRequest r ? r.CSeq.Sequence : null, request.RequestUri.Scheme == "sips");
    }

    /// <summary>Initial local CSeq: random below 2**31 with room to grow (§8.1.1.5).</summary>
    private static uint InitialSequence() => (uint)RandomNumberGenerator.GetInt32(1, 1 << 20);

    /// <summary>The CSeq for the next request this side sends (§12.2.1.1).</summary>
    public uint NextLocalSequence() => ++LocalSequence;

    /// <summary>
    /// Checks an in-dialog request's CSeq (§12.2.2): lower than the last one is out of order (answer
    /// 500); otherwise it becomes the remote sequence number.
    /// </summary>
    public bool TryAcceptRemoteSequence(uint sequence)
    {
        if (RemoteSequence is { } last && sequence < last) return false;
        RemoteSequence = sequence;
        return true;
    }

    /// <summary>Target refresh (§12.2): a NOTIFY or SUBSCRIBE's Contact replaces the remote target (RFC 6665 §4.1.2, §4.2.2).</summary>
    public void RefreshTarget(SipMessage message)
    {
        if (message.Contact is { Count: 1 } c) RemoteTarget = c[0].Uri;
    }

    /// <summary>
    /// Builds an in-dialog request (§12.2.1.1): To/From with tags, Call-ID, next CSeq, Route from the
    /// route set (loose routing; with a strict first hop the Request-URI is that hop). The caller
    /// adds Via (with a new branch), Contact and body.
    /// </summary>
    public SipRequest CreateRequest(string method)
    {
        SipUri requestUri;
        IEnumerable<SipNameAddress> routes;
        if (_routeSet.Count > 0 && !_routeSet[0].Uri.LooseRouting)
        {
            requestUri = _routeSet[0].Uri;
            routes = _routeSet.Skip(1).Append(new SipNameAddress(RemoteTarget));
        }
        else
        {
            requestUri = RemoteTarget;
            routes = _routeSet;
        }
        var request = new SipRequest(method, requestUri);
        foreach (var r in routes) request.Headers.Add(SipHeaderNames.Route, r.ToString());
        request.MaxForwards = 70;
        request.From = LocalUri;
        request.To = RemoteUri;
        request.CallId = Id.CallId;
        request.CSeq = new SipCSeq(NextLocalSequence(), method);
        return request;
    }
}
