using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Cna.Xmpp;

/// <summary>The local side: requests of local users (XEP-0030 disco, XEP-0060 subscriber use cases).</summary>
public sealed partial class XmppProxy
{
    private static readonly XNamespace Info = XmppNamespaces.DiscoInfo;
    private static readonly XNamespace Items = XmppNamespaces.DiscoItems;
    private static readonly XNamespace Ps = PubsubWire.Ps;

    /// <summary>Answers one request (null: nothing to send).</summary>
    internal async Task<Iq?> HandleRequestAsync(Iq iq, CancellationToken ct)
    {
        var from = iq.From!;
        var to = iq.To!;
        if (iq.Payload is not { } payload)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.BadRequest, "request without payload"));
        }
        var kind = (payload.Name.NamespaceName, payload.Name.LocalName, iq.Type);
        if (to.Resource is not null)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)); // RFC 6120 §8.5.4
        }
        if (kind is (PubsubWire.Ping, "ping", IqType.Get))
        {
            return iq.CreateResult(); // XEP-0199
        }
        if (to.Local is null && kind is (XmppNamespaces.DiscoInfo, "query", IqType.Get) && payload.Attribute("node") is null)
        {
            return iq.CreateResult(ServiceInfo(null, "Mail event notifications (CNA)"));
        }
        // Everything else is for the users of the local domains: their server authenticated them.
        if (!_rules.IsLocalUser(from))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden,
                "this service is for users of " + string.Join(", ", _options.EffectiveLocalDomains)));
        }
        if (to.Local is null)
        {
            return kind switch
            {
                (XmppNamespaces.DiscoItems, "query", IqType.Get) when payload.Attribute("node") is null => await ServiceItemsAsync(iq, from, ct).ConfigureAwait(false),
                (PubsubWire.Pubsub, "pubsub", _) => PubsubWire.Error(iq, StanzaErrorCondition.ItemNotFound,
                    text: @"nodes live at account JIDs such as juliet\40example.com@" + Domain),
                _ => iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)),
            };
        }
        if (!_accounts.TryAccountOf(to, out var account) || !_accounts.TryUpstreamOf(account, out var upstream))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound,
                @"no such account here: address remote accounts as juliet\40example.com@" + Domain + " (a routed mail domain)"));
        }
        if (!_rules.Allows(from, account))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden, $"{from.Bare} may not watch {account.Value} (Cna:Xmpp:Allow)"));
        }
        return kind switch
        {
            (XmppNamespaces.DiscoInfo, "query", IqType.Get) when payload.Attribute("node") is null =>
                iq.CreateResult(ServiceInfo(null, "Mail events of " + account.Value)),
            (XmppNamespaces.DiscoInfo or XmppNamespaces.DiscoItems, "query", IqType.Get) =>
                await ProxyDiscoAsync(iq, payload, upstream, ct).ConfigureAwait(false),
            (PubsubWire.Pubsub, "pubsub", _) => await PubsubAsync(iq, payload, account, upstream, from, ct).ConfigureAwait(false),
            _ => iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)), // RFC 6120 §8.4
        };
    }

    // XEP-0030 §3: the service's (or an account's) identity and the PNA's features.
    private static XElement ServiceInfo(string? node, string name)
    {
        var query = new XElement(Info + "query");
        if (node is not null)
        {
            query.Add(new XAttribute("node", node));
        }
        query.Add(new XElement(Info + "identity", new XAttribute("category", "pubsub"), new XAttribute("type", "service"), new XAttribute("name", name)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", XmppNamespaces.DiscoInfo)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", XmppNamespaces.DiscoItems)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", PubsubWire.Pubsub)));
        foreach (var f in PubsubWire.Features)
        {
            query.Add(new XElement(Info + "feature", new XAttribute("var", PubsubWire.Pubsub + "#" + f)));
        }
        return query;
    }

    /// <summary>
    /// XEP-0030 §4 at the service: the accounts of every route's PNA that the CNA may see, as CNA
    /// JIDs, less those the requester may not watch (Cna:Xmpp:Allow).
    /// </summary>
    private async Task<Iq> ServiceItemsAsync(Iq iq, Jid from, CancellationToken ct)
    {
        var result = new XElement(Items + "query");
        foreach (var service in _accounts.Services.OrderBy(s => s.ToString(), StringComparer.Ordinal))
        {
            var reply = await AskCachedAsync(new Iq(IqType.Get, "", service, UpstreamJid, new XElement(Items + "query")), ct).ConfigureAwait(false);
            if (reply.Type != IqType.Result || reply.Payload is not { } query)
            {
                continue; // one unreachable PNA must not hide the others
            }
            foreach (var item in query.Elements(Items + "item"))
            {
                if (Jid.TryParse((string?)item.Attribute("jid"), out var jid) && _accounts.TryAccountOfUpstream(jid, out var account)
                    && _rules.Allows(from, account))
                {
                    result.Add(new XElement(Items + "item", new XAttribute("jid", _accounts.LocalJidOf(account).ToString()), new XAttribute("name", account.Value)));
                }
            }
        }
        return iq.CreateResult(result);
    }

    /// <summary>Disco of an account's nodes: asked of the PNA (cached briefly), its JIDs rewritten to the CNA's.</summary>
    private async Task<Iq> ProxyDiscoAsync(Iq iq, XElement query, Jid upstream, CancellationToken ct)
    {
        var reply = await AskCachedAsync(new Iq(IqType.Get, "", upstream, UpstreamJid, new XElement(query)), ct).ConfigureAwait(false);
        if (reply.Type == IqType.Error)
        {
            return iq.CreateError(reply.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition));
        }
        var payload = reply.Payload is { } p ? new XElement(p) : null;
        foreach (var item in payload?.Elements(Items + "item").ToList() ?? [])
        {
            if (Jid.TryParse((string?)item.Attribute("jid"), out var jid) && _accounts.TryAccountOfUpstream(jid, out var account))
            {
                item.SetAttributeValue("jid", _accounts.LocalJidOf(account).ToString());
            }
            else
            {
                item.Remove(); // nothing the CNA can proxy
            }
        }
        return iq.CreateResult(payload);
    }

    /// <summary>Asks a PNA, reusing a result younger than Cna:Xmpp:DiscoCacheTime; a timeout becomes remote-server-timeout.</summary>
    private async Task<Iq> AskCachedAsync(Iq request, CancellationToken ct)
    {
        var payload = request.Payload!;
        var key = (request.To!.ToString(), payload.Name.NamespaceName, (string?)payload.Attribute("node"));
        var now = _time.GetUtcNow();
        lock (_gate)
        {
            if (_discoCache.TryGetValue(key, out var cached) && cached.Expires > now)
            {
                return request.CreateResult(cached.Reply.Payload is { } p ? new XElement(p) : null);
            }
        }
        Iq reply;
        try
        {
            reply = await AskUpstreamAsync(request, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return request.CreateError(StanzaError.Of(StanzaErrorCondition.RemoteServerTimeout, $"{request.To} did not answer"));
        }
        catch (InvalidOperationException ex)
        {
            return request.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable, ex.Message));
        }
        if (reply.Type == IqType.Result && _options.DiscoCacheTime > TimeSpan.Zero)
        {
            lock (_gate)
            {
                if (_discoCache.Count > 10_000)
                {
                    _discoCache.Clear(); // bounded: a burst of distinct queries cannot grow it without end
                }
                _discoCache[key] = (now + _options.DiscoCacheTime, new XElementHolder(reply.Payload is { } p ? new XElement(p) : null));
            }
        }
        return reply;
    }

    private async Task<Iq?> PubsubAsync(Iq iq, XElement pubsub, AccountId account, Jid upstream, Jid from, CancellationToken ct)
    {
        var verb = pubsub.Elements().FirstOrDefault(c => c.Name.Namespace == Ps && c.Name.LocalName != "options");
        var optionsElement = pubsub.Element(Ps + "options");
        return (iq.Type, verb?.Name.LocalName) switch
        {
            (IqType.Set, "subscribe") => await SubscribeAsync(iq, verb!, optionsElement, account, upstream, from, ct).ConfigureAwait(false),
            (IqType.Set, "unsubscribe") => Unsubscribe(iq, verb!, from),
            (_, null) when optionsElement is not null => await OptionsAsync(iq, optionsElement, account, upstream, from, ct).ConfigureAwait(false),
            (IqType.Get, "subscriptions") => Subscriptions(iq, verb!, from),
            (IqType.Get, "items") => await ItemsAsync(iq, verb!, account, upstream, ct).ConfigureAwait(false),
            // XEP-0060 §7/§8: publishing and owner use cases belong to the PNA's publisher.
            _ => PubsubWire.Error(iq, StanzaErrorCondition.FeatureNotImplemented, "unsupported", feature: verb?.Name.LocalName switch
            {
                "publish" => "publish",
                "retract" => "retract-items",
                "create" => "create-nodes",
                "affiliations" => "retrieve-affiliations",
                var other => other ?? "pubsub",
            }),
        };
    }

    /// <summary>The node and jid attributes of subscribe, unsubscribe and options, checked as XEP-0060 §6.1.3 says.</summary>
    private static Iq? CheckNodeAndJid(Iq iq, XElement element, Jid from, out Jid jid, out string node, out MailboxPath mailbox)
    {
        jid = from;
        mailbox = MailboxPath.Root;
        node = (string?)element.Attribute("node") ?? "";
        if (node.Length == 0)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "nodeid-required");
        }
        if ((string?)element.Attribute("jid") is not { Length: > 0 } jidText)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "jid-required");
        }
        // §6.1.3.1: the subscribed JID is the requester's bare JID or one of its full JIDs.
        if (!Jid.TryParse(jidText, out var parsed) || parsed.Bare != from.Bare)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "invalid-jid");
        }
        jid = parsed;
        if (!PubsubWire.TryParseNode(node, out mailbox))
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.ItemNotFound); // §6.1.3.12
        }
        return null;
    }

    // XEP-0060 §6.1 (with options §6.3.7): attach to the upstream subscription of the same key,
    // subscribing upstream first when there is none; then the cached last item (§6.1.7).
    private async Task<Iq?> SubscribeAsync(Iq iq, XElement subscribe, XElement? optionsElement, AccountId account, Jid upstreamService, Jid from,
        CancellationToken ct, bool emptyResult = false)
    {
        if (CheckNodeAndJid(iq, subscribe, from, out var jid, out var node, out var mailbox) is { } error)
        {
            return error;
        }
        var options = PubsubSubscribeOptions.Default;
        if (optionsElement?.Element(PubsubWire.X + "x") is { } form && !PubsubSubscribeOptions.TryParse(form, out options, out var reason))
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", reason);
        }
        var service = iq.To!;
        LocalSubscription local;
        Task<StanzaError?> firstAnswer;
        lock (_gate)
        {
            if (_localsByKey.TryGetValue((jid, service, node), out var existing))
            {
                // §6.1.6: already subscribed: the existing subscription (and its granted options, §6.3.7) is the answer.
                return iq.CreateResult(PubsubWire.SubscribedWithOptions(node, jid, existing.SubId, existing.Granted));
            }
            if (_localsPerUser.GetValueOrDefault(jid.Bare) >= _options.MaxSubscriptionsPerUser)
            {
                // XEP-0060 §6.1.3 error cases: too many subscriptions is policy-violation.
                return PubsubWire.Error(iq, StanzaErrorCondition.PolicyViolation, "too-many-subscriptions",
                    $"at most {_options.MaxSubscriptionsPerUser} subscriptions per user (Cna:Xmpp:MaxSubscriptionsPerUser)");
            }
            var upstream = GetOrCreateUpstream(UpstreamKey.For(account, node, options, _options.Heartbeat), upstreamService, mailbox, out var created);
            var id = _store.Insert(jid, service, node, options, _time.GetUtcNow());
            local = new LocalSubscription(id, jid, service, node, options, upstream);
            AddLocal(local);
            firstAnswer = upstream.Confirmed ? Task.FromResult<StanzaError?>(null) : upstream.FirstAnswer.Task;
            if (created)
            {
                upstream.LastHeard = _time.GetUtcNow();
                StartSync(upstream, "first local subscriber");
            }
        }
        StanzaError? failure;
        try
        {
            failure = await firstAnswer.WaitAsync(2 * _options.UpstreamTimeout, _time, ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            failure = StanzaError.Of(StanzaErrorCondition.RemoteServerTimeout, "the publisher's service did not answer in time");
        }
        lock (_gate)
        {
            if (failure is not null || !_locals.ContainsKey(local.Id))
            {
                RemoveLocal(local, "upstream subscribe failed: " + failure);
                return iq.CreateError(failure ?? StanzaError.Of(StanzaErrorCondition.ItemNotFound));
            }
            // The result, then the last item, both under the lock: no notification overtakes them.
            // §6.3.7: the options granted beside the subscription, pna#heartbeat as the CNA will send them.
            Send(iq.CreateResult(emptyResult ? null : PubsubWire.SubscribedWithOptions(node, jid, local.SubId, local.Granted)));
            local.Answered = true;
            if (local.Upstream.Cached is { } cached)
            {
                Notify(local, cached, XmppPayloadKind.Initial, local.Upstream.Stale);
                local.InitialSent = true;
            }
            LogLocalSubscribed(local.Id, jid.ToString(), service.ToString(), node, local.Upstream.Locals.Count, local.Upstream.Subscriber.ToString());
        }
        return null;
    }

    // XEP-0060 §6.2.
    private Iq Unsubscribe(Iq iq, XElement unsubscribe, Jid from)
    {
        if (CheckNodeAndJid(iq, unsubscribe, from, out var jid, out var node, out _) is { } error)
        {
            return error;
        }
        lock (_gate)
        {
            if (!_localsByKey.TryGetValue((jid, iq.To!, node), out var local))
            {
                return PubsubWire.Error(iq, StanzaErrorCondition.UnexpectedRequest, "not-subscribed"); // §6.2.3.2
            }
            if ((string?)unsubscribe.Attribute("subid") is { } subid && subid != local.SubId)
            {
                return PubsubWire.Error(iq, StanzaErrorCondition.NotAcceptable, "invalid-subid"); // §6.2.3.5
            }
            RemoveLocal(local, "unsubscribed by " + from);
        }
        return iq.CreateResult();
    }

    // XEP-0060 §6.3: options of a local subscription; a change replaces it (new subid, new last item).
    private async Task<Iq?> OptionsAsync(Iq iq, XElement options, AccountId account, Jid upstream, Jid from, CancellationToken ct)
    {
        if (CheckNodeAndJid(iq, options, from, out var jid, out var node, out _) is { } error)
        {
            return error;
        }
        LocalSubscription? local;
        lock (_gate)
        {
            _localsByKey.TryGetValue((jid, iq.To!, node), out local);
        }
        if (local is null)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.UnexpectedRequest, "not-subscribed"); // §6.3.4.3
        }
        if ((string?)options.Attribute("subid") is { } subid && subid != local.SubId)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.NotAcceptable, "invalid-subid");
        }
        if (iq.Type == IqType.Get)
        {
            lock (_gate)
            {
                return iq.CreateResult(new XElement(Ps + "pubsub", PubsubWire.OptionsElement(node, jid, local.SubId, local.Granted)));
            }
        }
        if (options.Element(PubsubWire.X + "x") is not { } form)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", "no data form");
        }
        if (!PubsubSubscribeOptions.TryParse(form, out _, out var reason))
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", reason);
        }
        lock (_gate)
        {
            RemoveLocal(local, "options changed by " + from);
        }
        var subscribe = new XElement(Ps + "subscribe", new XAttribute("node", node), new XAttribute("jid", jid.ToString()));
        // §6.3.5: success is an empty result (sent by SubscribeAsync, before the new last item).
        return await SubscribeAsync(iq, subscribe, new XElement(Ps + "options", form), account, upstream, from, ct, emptyResult: true).ConfigureAwait(false);
    }

    // XEP-0060 §5.6: the requester's local subscriptions at this account (optionally one node).
    private Iq Subscriptions(Iq iq, XElement request, Jid from)
    {
        var node = (string?)request.Attribute("node");
        var list = new XElement(Ps + "subscriptions");
        if (node is not null)
        {
            list.Add(new XAttribute("node", node));
        }
        lock (_gate)
        {
            foreach (var local in _locals.Values.Where(l => l.Service == iq.To && l.Subscriber.Bare == from.Bare && (node is null || l.Node == node)).OrderBy(l => l.Id))
            {
                list.Add(new XElement(Ps + "subscription", new XAttribute("node", local.Node), new XAttribute("jid", local.Subscriber.ToString()),
                    new XAttribute("subid", local.SubId), new XAttribute("subscription", "subscribed")));
            }
        }
        return iq.CreateResult(new XElement(Ps + "pubsub", list));
    }

    // XEP-0060 §6.5: the node's current totals, from the cache of an upstream subscription to the
    // node when there is one, else asked of the PNA.
    private async Task<Iq> ItemsAsync(Iq iq, XElement request, AccountId account, Jid upstream, CancellationToken ct)
    {
        var node = (string?)request.Attribute("node") ?? "";
        if (node.Length == 0)
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.BadRequest, "nodeid-required");
        }
        if (!PubsubWire.TryParseNode(node, out _))
        {
            return PubsubWire.Error(iq, StanzaErrorCondition.ItemNotFound);
        }
        XmppMailEventPayload? cached = null;
        lock (_gate)
        {
            foreach (var u in _upstreams.Values)
            {
                if (u.Key.Account == account && u.Key.Node == node && u.Cached is { } c)
                {
                    cached = c with { Stale = u.Stale };
                    break;
                }
            }
        }
        if (cached is not null)
        {
            return iq.CreateResult(new XElement(Ps + "pubsub", new XElement(Ps + "items", new XAttribute("node", node),
                new XElement(Ps + "item", new XAttribute("id", "current"), XmppMailEventCodec.Write(cached)))));
        }
        Iq reply;
        try
        {
            reply = await AskUpstreamAsync(new Iq(IqType.Get, "", upstream, UpstreamJid, new XElement(request.Parent!)), ct).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.RemoteServerTimeout, $"{upstream} did not answer"));
        }
        catch (InvalidOperationException ex)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable, ex.Message));
        }
        return reply.Type == IqType.Error
            ? iq.CreateError(reply.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition))
            : iq.CreateResult(reply.Payload is { } p ? new XElement(p) : null);
    }

    [Microsoft.Extensions.Logging.LoggerMessage(Level = Microsoft.Extensions.Logging.LogLevel.Information,
        Message = "Local XMPP subscription #{Id}: {Subscriber} to {Service} {Node} ({Count} on upstream {Upstream})")]
    private partial void LogLocalSubscribed(long id, string subscriber, string service, string node, int count, string upstream);
}
