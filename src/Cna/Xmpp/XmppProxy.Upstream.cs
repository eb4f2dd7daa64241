using System.Xml.Linq;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.Logging;

namespace Aggregators.Cna.Xmpp;

/// <summary>The upstream side: subscribing at the PNAs, their notifications, the watchdog.</summary>
public sealed partial class XmppProxy
{
    /// <summary>
    /// Sends a request to a PNA and waits for its answer, at most Cna:Xmpp:UpstreamTimeout.
    /// Throws <see cref="TimeoutException"/> when none comes, <see cref="InvalidOperationException"/>
    /// when the request could not even be queued (our component is down).
    /// </summary>
    private async Task<Iq> AskUpstreamAsync(Iq request, CancellationToken cancellationToken)
    {
        var (id, answer) = _pending.Register(request);
        try
        {
            if (Sink?.TrySend(request) != true)
            {
                throw new InvalidOperationException("the CNA's XMPP component is not connected");
            }
            return await answer.WaitAsync(_options.UpstreamTimeout, _time, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _pending.Forget(id);
        }
    }

    /// <summary>Starts (re-)subscribing <paramref name="upstream"/> unless that is already under way. Under the lock.</summary>
    private void StartSync(UpstreamSubscription upstream, string why)
    {
        if (upstream.Dropped || upstream.Sync is { IsCompleted: false } || _stop.IsCancellationRequested)
        {
            return;
        }
        if (upstream.Confirmed)
        {
            upstream.Resubscribes++;
            _resubscribes.Add(1);
            LogResubscribing(upstream.Service.ToString(), upstream.Key.Node, why);
        }
        upstream.SyncCancellation?.Dispose();
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_stop.Token);
        upstream.SyncCancellation = cancellation;
        upstream.Sync = Task.Run(() => SyncAsync(upstream, cancellation.Token), CancellationToken.None);
    }

    private void ResyncAll(string why)
    {
        lock (_gate)
        {
            foreach (var upstream in _upstreams.Values)
            {
                StartSync(upstream, why);
            }
        }
    }

    /// <summary>Subscribes (XEP-0060 §6.1, with options §6.3.7), retrying with backoff and jitter while the subscription is in use.</summary>
    private async Task SyncAsync(UpstreamSubscription upstream, CancellationToken cancellationToken)
    {
        try
        {
            await _resubscribe.ExecuteAsync(async ct => await SubscribeOnceAsync(upstream, ct).ConfigureAwait(false), cancellationToken).ConfigureAwait(false);
        }
        catch (UpstreamRefusedException ex)
        {
            EndUpstream(upstream, ex.Error, ex.Message);
        }
        catch (UpstreamUnavailableException ex)
        {
            // Not retried: a first subscribe; its requesters get the error.
            EndUpstream(upstream, ex.Error, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // dropped, superseded by fresh data, or stopping
        }
    }

    private async Task SubscribeOnceAsync(UpstreamSubscription upstream, CancellationToken ct)
    {
        var request = new Iq(IqType.Set, "", upstream.Service, upstream.Subscriber, new XElement(PubsubWire.Ps + "pubsub",
            new XElement(PubsubWire.Ps + "subscribe", new XAttribute("node", upstream.Key.Node), new XAttribute("jid", upstream.Subscriber.ToString())),
            new XElement(PubsubWire.Ps + "options", upstream.Key.Options.ToSubmitForm())));
        Iq reply;
        try
        {
            reply = await AskUpstreamAsync(request, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            throw new UpstreamUnavailableException(upstream, $"no answer from {upstream.Service} within {_options.UpstreamTimeout}",
                StanzaError.Of(StanzaErrorCondition.RemoteServerTimeout, "the publisher's service did not answer"));
        }
        catch (InvalidOperationException ex)
        {
            throw new UpstreamUnavailableException(upstream, ex.Message, StanzaError.Of(StanzaErrorCondition.ServiceUnavailable, ex.Message));
        }
        if (reply.Type == IqType.Error)
        {
            var error = reply.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition);
            if (IsRefusal(error))
            {
                throw new UpstreamRefusedException(error, $"{upstream.Service} refused the subscription to {upstream.Key.Node}: {error}");
            }
            throw new UpstreamUnavailableException(upstream, $"{upstream.Service} answered {error}", error);
        }
        var subscription = reply.Payload?.Element(PubsubWire.Ps + "subscription");
        if ((string?)subscription?.Attribute("subscription") is "none" or "unconfigured")
        {
            throw new UpstreamRefusedException(StanzaError.Of(StanzaErrorCondition.NotAuthorized), $"{upstream.Service} answered subscription state {(string?)subscription!.Attribute("subscription")}");
        }
        lock (_gate)
        {
            upstream.SubId = (string?)subscription?.Attribute("subid");
            upstream.Granted = PubsubWire.GrantedHeartbeat(reply.Payload);
            upstream.Confirmed = true;
            upstream.RetryForever = true;
            if (upstream.State != UpstreamState.Active)
            {
                upstream.State = UpstreamState.Active;
            }
            upstream.LastHeard = upstream.LastSubscribed = _time.GetUtcNow();
            upstream.FirstAnswer.TrySetResult(null);
        }
        // The subscribe's last item comes only for a new subscription (the PNA answers an existing
        // one without it): read the current totals to be sure (XEP-0060 §6.5).
        try
        {
            var items = await AskUpstreamAsync(new Iq(IqType.Get, "", upstream.Service, upstream.Subscriber,
                new XElement(PubsubWire.Ps + "pubsub", new XElement(PubsubWire.Ps + "items", new XAttribute("node", upstream.Key.Node)))), ct).ConfigureAwait(false);
            var payload = items.Payload?.Element(PubsubWire.Ps + "items")?.Element(PubsubWire.Ps + "item")?.Elements().FirstOrDefault();
            if (items.Type == IqType.Result && payload is not null && XmppMailEventCodec.TryRead(payload, out var current, out _))
            {
                OnUpstreamPayload(upstream, current);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or InvalidOperationException)
        {
            // The next notification or heartbeat brings the totals.
        }
    }

    /// <summary>
    /// Errors that retrying will not cure: the PNA refuses us the node (access revoked, node
    /// gone) or the request (RFC 6120 §8.3.3 auth and modify types, item-not-found).
    /// </summary>
    internal static bool IsRefusal(StanzaError error) =>
        error.Type is StanzaErrorType.Auth or StanzaErrorType.Modify
        || error.Condition is StanzaErrorCondition.ItemNotFound or StanzaErrorCondition.Forbidden or StanzaErrorCondition.NotAuthorized
            or StanzaErrorCondition.NotAllowed or StanzaErrorCondition.FeatureNotImplemented or StanzaErrorCondition.Gone;

    /// <summary>
    /// The upstream subscription is over (refused, revoked, or a first subscribe failed): waiting
    /// requesters get <paramref name="error"/>; subscribers already answered get a subscription
    /// state notification 'none' (XEP-0060 §8.8.4), and the local subscriptions end.
    /// </summary>
    private void EndUpstream(UpstreamSubscription upstream, StanzaError error, string reason)
    {
        LogUpstreamRefused(upstream.Service.ToString(), upstream.Key.Node, reason);
        lock (_gate)
        {
            foreach (var local in upstream.Locals.ToList())
            {
                if (local.Answered)
                {
                    Send(PubsubWire.SubscriptionState(local.Subscriber, local.Service, local.Node, local.Subscriber, local.SubId));
                }
                Forget(local);
                LogLocalEnded(local.Id, local.Subscriber.ToString(), local.Service.ToString(), local.Node, reason);
            }
            upstream.Locals.Clear();
            DropUpstream(upstream, unsubscribe: false);
            upstream.FirstAnswer.TrySetResult(error);
        }
    }

    /// <summary>A message to one of our upstream JIDs: a notification, or a subscription state change.</summary>
    private void HandleUpstreamMessage(Message message, string resource)
    {
        UpstreamSubscription? upstream;
        lock (_gate)
        {
            _byResource.TryGetValue(resource, out upstream);
        }
        if (upstream is null || message.From?.Bare != upstream.Service || message.IsError)
        {
            return;
        }
        var ev = message.Element.Element(PubsubWire.Ev + "event");
        if (ev is null)
        {
            return;
        }
        if (ev.Element(PubsubWire.Ev + "subscription") is { } state)
        {
            // XEP-0060 §8.8.4: the service changed our subscription; 'none' (or outcast) ends it.
            if ((string?)state.Attribute("subscription") is "none" or "outcast")
            {
                EndUpstream(upstream, StanzaError.Of(StanzaErrorCondition.NotAuthorized), $"{upstream.Service} ended the subscription (state {(string?)state.Attribute("subscription")})");
            }
            return;
        }
        foreach (var item in ev.Elements(PubsubWire.Ev + "items").Elements(PubsubWire.Ev + "item"))
        {
            if (item.Elements().FirstOrDefault() is { } payloadElement)
            {
                if (XmppMailEventCodec.TryRead(payloadElement, out var payload, out var error))
                {
                    OnUpstreamPayload(upstream, payload);
                }
                else
                {
                    LogBadPayload(upstream.Service.ToString(), error ?? "");
                }
            }
        }
    }

    /// <summary>
    /// Fresh data from the PNA: cache the totals, end a stale period, fan out. Events go to every
    /// local subscriber; totals-only items (initial, current, heartbeat) go as the last item to
    /// those still without one, and as kind heartbeat to the others when the totals changed or
    /// they were stale (and, for heartbeats, to those who asked for heartbeats).
    /// </summary>
    private void OnUpstreamPayload(UpstreamSubscription upstream, XmppMailEventPayload payload)
    {
        lock (_gate)
        {
            if (upstream.Dropped)
            {
                return;
            }
            upstream.LastHeard = _time.GetUtcNow();
            var wasStale = upstream.Stale;
            upstream.Stale = false;
            if (upstream.State == UpstreamState.Resubscribing)
            {
                // Data flows again: the PNA has our subscription (restored after its restart).
                upstream.State = UpstreamState.Active;
                upstream.SyncCancellation?.Cancel();
                LogFresh(upstream.Service.ToString(), upstream.Key.Node);
            }
            var previous = upstream.Cached?.Totals;
            if (payload.Totals is not null && payload.Mailbox == upstream.Primary)
            {
                upstream.Cached = payload with { Kind = XmppPayloadKind.Current, Sequence = 0, Stale = false, EventType = null, OldMailbox = null, EventId = null, Uidset = null, Timestamp = null };
            }
            var changed = upstream.Cached?.Totals != previous;
            foreach (var local in upstream.Locals)
            {
                if (!local.Answered)
                {
                    continue;
                }
                if (!local.InitialSent && upstream.Cached is { } cached)
                {
                    Notify(local, cached, XmppPayloadKind.Initial, stale: false);
                    local.InitialSent = true;
                    if (payload.Kind != XmppPayloadKind.Event)
                    {
                        continue;
                    }
                }
                switch (payload.Kind)
                {
                    case XmppPayloadKind.Event:
                        Notify(local, payload, XmppPayloadKind.Event, stale: false);
                        break;
                    case XmppPayloadKind.Heartbeat when wasStale || changed || local.Options.Heartbeat is not null:
                    case XmppPayloadKind.Initial or XmppPayloadKind.Current when wasStale || changed:
                        Notify(local, payload, XmppPayloadKind.Heartbeat, stale: false);
                        break;
                }
            }
        }
    }

    /// <summary>Tells the local subscribers their totals may be out of date (once per stale period). Under the lock.</summary>
    private void MarkStale(UpstreamSubscription upstream)
    {
        if (upstream.Stale || upstream.Dropped)
        {
            return;
        }
        upstream.Stale = true;
        LogStale(upstream.Service.ToString(), upstream.Key.Node);
        var payload = upstream.Cached ?? EmptyPayload(upstream);
        foreach (var local in upstream.Locals)
        {
            if (local.Answered)
            {
                Notify(local, payload, XmppPayloadKind.Heartbeat, stale: true);
            }
        }
    }

    private async Task WatchdogLoopAsync(CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested)
            {
                await Task.Delay(_options.WatchdogTick, _time, stop).ConfigureAwait(false);
                CheckSilence();
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // stopping
        }
    }

    /// <summary>
    /// The watchdog: an active upstream subscription that heard nothing (notification or
    /// heartbeat) for two heartbeat intervals is stale; re-subscribe it. One not re-subscribed
    /// for Cna:Xmpp:RefreshInterval is subscribed again (not stale) so the PNA re-checks access.
    /// </summary>
    internal void CheckSilence()
    {
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            foreach (var upstream in _upstreams.Values)
            {
                if (upstream.State != UpstreamState.Active)
                {
                    continue;
                }
                // Two intervals of the granted heartbeat: the PNA may have clamped the one asked.
                if (now - upstream.LastHeard > 2 * upstream.Interval)
                {
                    upstream.State = UpstreamState.Resubscribing;
                    MarkStale(upstream);
                    StartSync(upstream, $"silent for {(now - upstream.LastHeard).TotalSeconds:0} s");
                }
                else if (_options.RefreshInterval > TimeSpan.Zero && now - upstream.LastSubscribed > _options.RefreshInterval)
                {
                    // Not stale: the PNA re-checks the grant (XEP-0060 §6.1.6 answer, or forbidden).
                    upstream.LastSubscribed = now;
                    StartSync(upstream, "periodic refresh");
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Re-subscribing to {Service} {Node}: {Why}")]
    private partial void LogResubscribing(string service, string node, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream subscription to {Service} {Node} is stale; local subscribers told")]
    private partial void LogStale(string service, string node);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream subscription to {Service} {Node} is fresh again")]
    private partial void LogFresh(string service, string node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Upstream subscription ended: {Service} {Node}: {Reason}")]
    private partial void LogUpstreamRefused(string service, string node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Unreadable payload from {Service} ignored: {Error}")]
    private partial void LogBadPayload(string service, string error);
}

/// <summary>The PNA refused the subscription: not retried; the local subscriptions end with <see cref="Error"/>.</summary>
internal sealed class UpstreamRefusedException(StanzaError error, string message) : Exception(message)
{
    public StanzaError Error { get; } = error;
}
