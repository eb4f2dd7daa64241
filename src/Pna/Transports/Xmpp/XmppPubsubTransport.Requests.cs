using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Subscriptions;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>The request side: XEP-0030 disco, XEP-0060 subscribe/unsubscribe/options/subscriptions/items.</summary>
public sealed partial class XmppPubsubTransport
{
    private static readonly XNamespace Ps = PubsubNamespaces.Pubsub;
    private static readonly XNamespace Info = XmppNamespaces.DiscoInfo;
    private static readonly XNamespace Items = XmppNamespaces.DiscoItems;

    /// <summary>
    /// At most this many items in a disco#items answer (XEP-0059 page size without, or above, the
    /// requester's max; a longer list is answered with its first page and an RSM &lt;set/&gt;).
    /// </summary>
    internal const int MaxDiscoItems = 1000;

    /// <summary>Pubsub features this service offers (XEP-0060 §10).</summary>
    private static readonly string[] PubsubFeatures =
    [
        "collections", "last-published", "retrieve-items", "retrieve-subscriptions", "subscribe", "subscription-options",
    ];

    /// <summary>One stanza from the server, in arrival order (the component's handler).</summary>
    internal async ValueTask HandleStanzaAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        switch (stanza)
        {
            case Iq { IsRequest: true } iq:
                Iq reply;
                try
                {
                    reply = await HandleRequestAsync(iq, cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    Volatile.Write(ref _holdingInitialFor, null);
                }
                var held = Interlocked.Exchange(ref _heldInitial, null);
                await ReplyAsync(reply, cancellationToken).ConfigureAwait(false);
                if (held is not null && Sink?.TrySendSerialized(held) != true)
                {
                    _dropped.Add(1);
                }
                break;
            case Message { IsError: true } message:
                if (!HandleAlertBounce(message))
                {
                    HandleBounce(message);
                }
                break;
        }
    }

    private async ValueTask ReplyAsync(Stanza reply, CancellationToken cancellationToken)
    {
        try
        {
            if (Sink is { } sink)
            {
                await sink.SendAsync(reply, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (ComponentNotConnectedException ex)
        {
            LogReplyFailed(ex.Message);
        }
    }

    internal async ValueTask<Iq> HandleRequestAsync(Iq iq, CancellationToken cancellationToken)
    {
        var payload = iq.Payload!;
        var to = iq.To;
        if (iq.From is not { } from || to is null)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.BadRequest, "request without from or to"));
        }
        AccountId? account = null;
        if (to.Local is not null)
        {
            if (to.Resource is not null || !TryAccountOf(to, out var a))
            {
                return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound, "no such account"));
            }
            account = a;
        }
        else if (to.Resource is not null)
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable));
        }
        var requester = "xmpp:" + from.Bare;
        return (payload.Name.NamespaceName, payload.Name.LocalName, iq.Type) switch
        {
            (XmppNamespaces.DiscoInfo, "query", IqType.Get) => await DiscoInfoAsync(iq, payload, account, requester, cancellationToken).ConfigureAwait(false),
            (XmppNamespaces.DiscoItems, "query", IqType.Get) => await DiscoItemsAsync(iq, payload, account, requester, cancellationToken).ConfigureAwait(false),
            (PubsubNamespaces.Ping, "ping", IqType.Get) => iq.CreateResult(),
            (PubsubNamespaces.Pubsub, "pubsub", _) when account is null =>
                iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound, "nodes live at account JIDs such as juliet@" + Domain)),
            (PubsubNamespaces.Pubsub, "pubsub", _) => await PubsubAsync(iq, payload, account.Value, from, requester, cancellationToken).ConfigureAwait(false),
            _ => iq.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable)), // RFC 6120 §8.4
        };
    }

    /// <summary><c>juliet@events.example.com</c> → <c>juliet@example.com</c> (Pna:Xmpp:MailDomain).</summary>
    internal bool TryAccountOf(Jid jid, out AccountId account)
    {
        account = default;
        // XEP-0106: a local part a JID cannot carry (o'brien) is escaped in the account's JID (o\27brien).
        return jid.Local is not null && jid.Domain == Domain.Domain
            && AccountId.TryParse(JidEscaping.Unescape(jid.Local) + "@" + _options.MailDomain, out account, out _);
    }

    /// <summary>The account's JID in the component domain, or null when its local part cannot be one.</summary>
    internal Jid? JidOf(AccountId account)
    {
        if (!string.Equals(account.Domain, _options.MailDomain, StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        try
        {
            return Jid.Create(JidEscaping.Escape(account.LocalPart), Domain.Domain);
        }
        catch (JidFormatException)
        {
            return null;
        }
    }

    private List<MailboxPath> KnownMailboxes(AccountId account) =>
        [.. _state.GetAccount(account).Select(m => m.Mailbox).Where(m => !m.IsRoot)];

    /// <summary>May the requester see the node: granted on it, or on some known mailbox below it.</summary>
    private async ValueTask<bool> VisibleAsync(string requester, AccountId account, MailboxPath node, List<MailboxPath> known, CancellationToken ct)
    {
        if ((await _authorization.AuthorizeAsync(requester, account, node, ct).ConfigureAwait(false)).Allowed)
        {
            return true;
        }
        foreach (var m in known)
        {
            if (node.IsAncestorOrSelfOf(m) && (await _authorization.AuthorizeAsync(requester, account, m, ct).ConfigureAwait(false)).Allowed)
            {
                return true;
            }
        }
        return false;
    }

    // XEP-0030 §3: identity and features of the service, an account's service, or a node.
    private async ValueTask<Iq> DiscoInfoAsync(Iq iq, XElement query, AccountId? account, string requester, CancellationToken ct)
    {
        var node = (string?)query.Attribute("node");
        var result = new XElement(Info + "query");
        if (node is not null)
        {
            result.Add(new XAttribute("node", node));
        }
        if (node is null)
        {
            result.Add(new XElement(Info + "identity", new XAttribute("category", "pubsub"), new XAttribute("type", "service"),
                new XAttribute("name", account is null ? "Mail event notifications" : "Mail events of " + account.Value.Value)));
            AddFeatures(result);
            return iq.CreateResult(result);
        }
        if (account is not { } a || !PubsubNodes.TryParse(node, out var mailbox))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound));
        }
        var known = KnownMailboxes(a);
        if (!PubsubNodes.Exists(mailbox, known))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound));
        }
        if (!await VisibleAsync(requester, a, mailbox, known, ct).ConfigureAwait(false))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden));
        }
        var collection = mailbox.IsRoot || PubsubNodes.Children(mailbox, known).Count > 0;
        result.Add(new XElement(Info + "identity", new XAttribute("category", "pubsub"), new XAttribute("type", collection ? "collection" : "leaf"),
            new XAttribute("name", mailbox.IsRoot ? a.Value : mailbox.Value)));
        AddFeatures(result);
        return iq.CreateResult(result);
    }

    private static void AddFeatures(XElement query)
    {
        query.Add(new XElement(Info + "feature", new XAttribute("var", XmppNamespaces.DiscoInfo)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", XmppNamespaces.DiscoItems)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", PubsubNamespaces.Pubsub)));
        query.Add(new XElement(Info + "feature", new XAttribute("var", ResultSetRequest.Namespace))); // XEP-0059 on disco#items
        foreach (var f in PubsubFeatures)
        {
            query.Add(new XElement(Info + "feature", new XAttribute("var", PubsubNamespaces.Pubsub + "#" + f)));
        }
    }

    // XEP-0030 §4 / XEP-0060 §5.2: the service lists the accounts the requester may see, an
    // account its root node, a node its children.
    private async ValueTask<Iq> DiscoItemsAsync(Iq iq, XElement query, AccountId? account, string requester, CancellationToken ct)
    {
        var node = (string?)query.Attribute("node");
        if (!ResultSetRequest.TryRead(query, out var rsm, out var rsmError))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.BadRequest, rsmError));
        }
        var items = new List<(string Uid, XElement Item)>();
        if (account is not { } a)
        {
            if (node is not null)
            {
                return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound));
            }
            foreach (var candidate in _state.GetAccounts())
            {
                if (JidOf(candidate) is { } jid
                    && await VisibleAsync(requester, candidate, MailboxPath.Root, KnownMailboxes(candidate), ct).ConfigureAwait(false))
                {
                    items.Add((jid.ToString(), new XElement(Items + "item", new XAttribute("jid", jid.ToString()), new XAttribute("name", candidate.Value))));
                }
            }
            return DiscoItemsPage(iq, node, rsm, items);
        }
        var known = KnownMailboxes(a);
        var service = iq.To!;
        if (node is null)
        {
            if (known.Count > 0 && await VisibleAsync(requester, a, MailboxPath.Root, known, ct).ConfigureAwait(false))
            {
                items.Add((PubsubNodes.Root, new XElement(Items + "item", new XAttribute("jid", service.ToString()), new XAttribute("node", PubsubNodes.Root),
                    new XAttribute("name", "All mailboxes of " + a.Value))));
            }
            return DiscoItemsPage(iq, node, rsm, items);
        }
        if (!PubsubNodes.TryParse(node, out var mailbox) || !PubsubNodes.Exists(mailbox, known))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.ItemNotFound));
        }
        if (!await VisibleAsync(requester, a, mailbox, known, ct).ConfigureAwait(false))
        {
            return iq.CreateError(StanzaError.Of(StanzaErrorCondition.Forbidden));
        }
        foreach (var child in PubsubNodes.Children(mailbox, known))
        {
            if (await VisibleAsync(requester, a, child, known, ct).ConfigureAwait(false))
            {
                var childNode = PubsubNodes.NodeOf(child);
                items.Add((childNode, new XElement(Items + "item", new XAttribute("jid", service.ToString()), new XAttribute("node", childNode),
                    new XAttribute("name", child.Name!))));
            }
        }
        return DiscoItemsPage(iq, node, rsm, items);
    }

    /// <summary>
    /// XEP-0059 paging of a disco#items answer: the page asked for, with first/last/count; without
    /// a request, everything when it fits in one page (no &lt;set/&gt;), else the first page and a &lt;set/&gt;.
    /// The item ids (RSM UIDs) are the account JIDs on the service, the node names below it.
    /// </summary>
    private static Iq DiscoItemsPage(Iq iq, string? node, ResultSetRequest? rsm, List<(string Uid, XElement Item)> items)
    {
        var uids = items.ConvertAll(i => i.Uid);
        if (!ResultPage.TryCut(rsm, uids, MaxDiscoItems, out var page, out var error))
        {
            return iq.CreateError(error);
        }
        var result = new XElement(Items + "query");
        if (node is not null)
        {
            result.Add(new XAttribute("node", node));
        }
        for (var i = page.Start; i < page.Start + page.Length; i++)
        {
            result.Add(items[i].Item);
        }
        if (rsm is not null || page.Length < page.Count)
        {
            result.Add(page.ToElement(uids));
        }
        return iq.CreateResult(result);
    }

    private static XElement PubsubError(string condition, string? feature = null)
    {
        var e = new XElement(XName.Get(condition, PubsubNamespaces.Errors));
        if (feature is not null)
        {
            e.Add(new XAttribute("feature", feature));
        }
        return e;
    }

    private static Iq Error(Iq iq, StanzaErrorCondition condition, string? pubsubCondition = null, string? text = null, string? feature = null) =>
        iq.CreateError(StanzaError.Of(condition, text, pubsubCondition is null ? null : PubsubError(pubsubCondition, feature)));

    private async ValueTask<Iq> PubsubAsync(Iq iq, XElement pubsub, AccountId account, Jid from, string requester, CancellationToken ct)
    {
        var children = pubsub.Elements().ToList();
        var verb = children.FirstOrDefault(c => c.Name.Namespace == Ps && c.Name.LocalName != "options");
        var optionsElement = pubsub.Element(Ps + "options");
        var service = iq.To!;
        if (iq.Type == IqType.Set && verb?.Name.LocalName == "subscribe")
        {
            return await SubscribeAsync(iq, verb, optionsElement, account, from, requester, service, ct).ConfigureAwait(false);
        }
        if (iq.Type == IqType.Set && verb?.Name.LocalName == "unsubscribe")
        {
            return Unsubscribe(iq, verb, account, from, service);
        }
        if (verb is null && optionsElement is not null)
        {
            return await OptionsAsync(iq, optionsElement, account, from, requester, service, ct).ConfigureAwait(false);
        }
        if (iq.Type == IqType.Get && verb?.Name.LocalName == "subscriptions")
        {
            return Subscriptions(iq, verb, from, service);
        }
        if (iq.Type == IqType.Get && verb?.Name.LocalName == "items")
        {
            return await ItemsAsync(iq, verb, account, requester, ct).ConfigureAwait(false);
        }
        // XEP-0060 §7/§8: publishing and owner use cases are not offered (the mail server publishes).
        var feature = verb?.Name.LocalName switch
        {
            "publish" => "publish",
            "retract" => "retract-items",
            "create" => "create-nodes",
            "affiliations" => "retrieve-affiliations",
            "default" => "retrieve-default",
            var other => other ?? "pubsub",
        };
        return Error(iq, StanzaErrorCondition.FeatureNotImplemented, "unsupported", feature: feature);
    }

    /// <summary>The node and jid attributes common to subscribe, unsubscribe and options, checked as XEP-0060 §6.1.3 says.</summary>
    private Iq? CheckNodeAndJid(Iq iq, XElement element, AccountId account, Jid from, out MailboxPath mailbox, out Jid jid, out string node)
    {
        mailbox = MailboxPath.Root;
        jid = from;
        node = (string?)element.Attribute("node") ?? "";
        if (node.Length == 0)
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "nodeid-required"); // §6.1.3.?, §12.? NodeID required
        }
        if ((string?)element.Attribute("jid") is not { Length: > 0 } jidText)
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "jid-required");
        }
        // §6.1.3.1: the subscribed JID must be the requester's bare JID or a full JID of it.
        if (!Jid.TryParse(jidText, out var parsed) || parsed!.Bare != from.Bare)
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "invalid-jid");
        }
        jid = parsed;
        if (!PubsubNodes.TryParse(node, out var m) || !PubsubNodes.Exists(m, KnownMailboxes(account)))
        {
            return Error(iq, StanzaErrorCondition.ItemNotFound); // §6.1.3.12
        }
        mailbox = m;
        return null;
    }

    // XEP-0060 §6.1 (with options: §6.3.7).
    private async ValueTask<Iq> SubscribeAsync(Iq iq, XElement subscribe, XElement? optionsElement, AccountId account, Jid from,
        string requester, Jid service, CancellationToken ct)
    {
        if (CheckNodeAndJid(iq, subscribe, account, from, out var mailbox, out var jid, out var node) is { } error)
        {
            return error;
        }
        var options = PubsubSubscribeOptions.Default;
        if (optionsElement?.Element(XName.Get("x", PubsubNamespaces.DataForms)) is { } form
            && !PubsubSubscribeOptions.TryParse(form, out options, out var reason))
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", reason);
        }
        if (Find(jid, service, node) is { } existing)
        {
            // §6.1.6: already subscribed: the existing subscription is the answer, if access is
            // still granted (a CNA re-subscribes to re-check; a revoked grant ends it here).
            if (!(await _authorization.AuthorizeAsync(requester, account, mailbox, ct).ConfigureAwait(false)).Allowed)
            {
                Unindex(existing);
                Manager.Unsubscribe(existing, "access revoked: " + from.Bare + " re-subscribed without a grant");
                return Error(iq, StanzaErrorCondition.Forbidden, text: "no grant gives " + from.Bare + " access to " + node);
            }
            return SubscribedResult(iq, node, jid, existing);
        }
        var filter = new SubscriptionFilter
        {
            Account = account,
            Mailbox = mailbox,
            Depth = options.Depth,
            Events = options.Events,
            Heartbeat = options.Heartbeat,
        };
        var target = new XmppSubscriptionTarget(jid, service, node);
        var state = target.ToState();
        Volatile.Write(ref _holdingInitialFor, state);
        SubscribeResult result;
        try
        {
            result = await Manager.SubscribeAsync(requester, filter, this, state, null, ct).ConfigureAwait(false);
        }
        catch (InvalidOperationException)
        {
            return Error(iq, StanzaErrorCondition.ServiceUnavailable, text: "the service is shutting down");
        }
        if (result.Subscription is not { } subscription)
        {
            // §6.1.3: access refused by the PNA's authorization policy (grants).
            return Error(iq, StanzaErrorCondition.Forbidden, text: "no grant gives " + from.Bare + " access to " + node);
        }
        Index(subscription.Id, target);
        return SubscribedResult(iq, node, jid, subscription.Id);
    }

    private static XElement SubscriptionElement(string node, Jid jid, long id) =>
        new(Ps + "pubsub", new XElement(Ps + "subscription",
            new XAttribute("node", node), new XAttribute("jid", jid.ToString()),
            new XAttribute("subid", id.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            new XAttribute("subscription", "subscribed")));

    // XEP-0060 §6.2.
    private Iq Unsubscribe(Iq iq, XElement unsubscribe, AccountId account, Jid from, Jid service)
    {
        if (CheckNodeAndJid(iq, unsubscribe, account, from, out _, out var jid, out var node) is { } error)
        {
            return error;
        }
        if (Find(jid, service, node) is not { } id)
        {
            return Error(iq, StanzaErrorCondition.UnexpectedRequest, "not-subscribed"); // §6.2.3.2
        }
        if ((string?)unsubscribe.Attribute("subid") is { } subid && subid != id.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return Error(iq, StanzaErrorCondition.NotAcceptable, "invalid-subid"); // §6.2.3.5
        }
        Unindex(id);
        Manager.Unsubscribe(id, "unsubscribed by " + from);
        return iq.CreateResult();
    }

    // XEP-0060 §6.3: retrieve (get) or change (set) a subscription's options. A change makes a new
    // subscription with the new filter (a new subid, and the current totals again).
    private async ValueTask<Iq> OptionsAsync(Iq iq, XElement options, AccountId account, Jid from, string requester, Jid service, CancellationToken ct)
    {
        if (CheckNodeAndJid(iq, options, account, from, out _, out var jid, out var node) is { } error)
        {
            return error;
        }
        if (Find(jid, service, node) is not { } id || Manager.Get(id) is not { } subscription)
        {
            return Error(iq, StanzaErrorCondition.UnexpectedRequest, "not-subscribed"); // §6.3.4.3
        }
        if ((string?)options.Attribute("subid") is { } subid && subid != id.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            return Error(iq, StanzaErrorCondition.NotAcceptable, "invalid-subid");
        }
        if (iq.Type == IqType.Get)
        {
            return iq.CreateResult(new XElement(Ps + "pubsub", GrantedOptions(node, jid, id, subscription.Filter)));
        }
        if (options.Element(XName.Get("x", PubsubNamespaces.DataForms)) is not { } form)
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", "no data form");
        }
        if (!PubsubSubscribeOptions.TryParse(form, out var parsed, out var reason))
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "invalid-options", reason); // §6.3.5.?
        }
        Unindex(id);
        Manager.Unsubscribe(id, "options changed by " + from);
        var subscribe = new XElement(Ps + "subscribe", new XAttribute("node", node), new XAttribute("jid", jid.ToString()));
        var reply = await SubscribeAsync(iq, subscribe, new XElement(Ps + "options", form), account, from, requester, service, ct).ConfigureAwait(false);
        return reply.Type == IqType.Error ? reply : iq.CreateResult();
    }

    // XEP-0060 §5.6: the requester's subscriptions at this account's service (optionally one node).
    private Iq Subscriptions(Iq iq, XElement request, Jid from, Jid service)
    {
        var node = (string?)request.Attribute("node");
        var list = new XElement(Ps + "subscriptions");
        if (node is not null)
        {
            list.Add(new XAttribute("node", node));
        }
        foreach (var (id, target) in SubscriptionsOf(from, service))
        {
            if (node is null || target.Node == node)
            {
                list.Add(new XElement(Ps + "subscription", new XAttribute("node", target.Node), new XAttribute("jid", target.Subscriber.ToString()),
                    new XAttribute("subid", id.ToString(System.Globalization.CultureInfo.InvariantCulture)), new XAttribute("subscription", "subscribed")));
            }
        }
        return iq.CreateResult(new XElement(Ps + "pubsub", list));
    }

    // XEP-0060 §6.5: one item, the node's current totals (INBOX's for mail_events), id "current".
    private async ValueTask<Iq> ItemsAsync(Iq iq, XElement request, AccountId account, string requester, CancellationToken ct)
    {
        var node = (string?)request.Attribute("node") ?? "";
        if (node.Length == 0)
        {
            return Error(iq, StanzaErrorCondition.BadRequest, "nodeid-required");
        }
        if (!PubsubNodes.TryParse(node, out var mailbox) || !PubsubNodes.Exists(mailbox, KnownMailboxes(account)))
        {
            return Error(iq, StanzaErrorCondition.ItemNotFound);
        }
        if (!(await _authorization.AuthorizeAsync(requester, account, mailbox, ct).ConfigureAwait(false)).Allowed)
        {
            return Error(iq, StanzaErrorCondition.Forbidden, text: "no grant gives access to " + node); // §6.5.9
        }
        var about = mailbox.IsRoot ? MailboxPath.Inbox : mailbox;
        var payload = new XmppMailEventPayload
        {
            Kind = XmppPayloadKind.Current,
            Account = account,
            Mailbox = about,
            Totals = _state.Get(account, about)?.Totals,
        };
        return iq.CreateResult(new XElement(Ps + "pubsub",
            new XElement(Ps + "items", new XAttribute("node", node),
                new XElement(Ps + "item", new XAttribute("id", "current"), XmppMailEventCodec.Write(payload)))));
    }
}
