using System.Globalization;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Cna.Xmpp;

/// <summary>Where an upstream subscription stands.</summary>
public enum UpstreamState
{
    /// <summary>First subscribe sent (or about to be); local subscribers wait for its answer.</summary>
    Subscribing,

    /// <summary>Subscribed; notifications or heartbeats arrive within two heartbeat intervals.</summary>
    Active,

    /// <summary>Silent, failed or bounced: re-subscribing with backoff; local subscribers were told their state is stale.</summary>
    Resubscribing,
}

/// <summary>
/// One subscription of the CNA at a PNA (made by the CNA JID <see cref="Subscriber"/>), shared by
/// every local subscription with the same <see cref="UpstreamKey"/>. Mutable state; guarded by
/// the proxy's lock.
/// </summary>
internal sealed class UpstreamSubscription
{
    public UpstreamSubscription(UpstreamKey key, Jid service, Jid subscriber, MailboxPath mailbox)
    {
        Key = key;
        Service = service;
        Subscriber = subscriber;
        Primary = PubsubWire.PrimaryMailbox(mailbox);
    }

    public UpstreamKey Key { get; }

    /// <summary>The PNA's account JID (<c>juliet@events.example.com</c>).</summary>
    public Jid Service { get; }

    /// <summary>The CNA JID subscribed upstream (<c>events.example.net/up-…</c>).</summary>
    public Jid Subscriber { get; }

    /// <summary>The mailbox whose totals are cached and sent as last item (the node's, INBOX for the root).</summary>
    public MailboxPath Primary { get; }

    public List<LocalSubscription> Locals { get; } = [];

    public UpstreamState State { get; set; } = UpstreamState.Subscribing;

    /// <summary>Local subscribers were told their totals may be out of date and not yet that they are fresh.</summary>
    public bool Stale { get; set; }

    /// <summary>Once subscribed upstream (or restored from the store): failures are retried, not reported to a requester.</summary>
    public bool RetryForever { get; set; }

    /// <summary>The PNA answered a subscribe at least once.</summary>
    public bool Confirmed { get; set; }

    public string? SubId { get; set; }

    /// <summary>
    /// The heartbeat interval the PNA granted: <c>pna#heartbeat</c> in the options beside the
    /// subscription in its subscribe reply (XEP-0060 §6.3.7, docs/xmpp.md); null until it said so.
    /// </summary>
    public TimeSpan? Granted { get; set; }

    /// <summary>How often the PNA is heard from at least: the granted interval, else the one asked. The watchdog allows two.</summary>
    public TimeSpan Interval => Granted ?? Key.Heartbeat;

    /// <summary>When the PNA last accepted a subscribe of it (for the periodic refresh).</summary>
    public DateTimeOffset LastSubscribed { get; set; }

    /// <summary>When the PNA was last heard from for this subscription.</summary>
    public DateTimeOffset LastHeard { get; set; }

    /// <summary>The latest totals of <see cref="Primary"/> (kind current, seq 0).</summary>
    public XmppMailEventPayload? Cached { get; set; }

    /// <summary>Completes with null when the first subscribe succeeded, or with the error that ended it.</summary>
    public TaskCompletionSource<StanzaError?> FirstAnswer { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public CancellationTokenSource? SyncCancellation { get; set; }

    public Task? Sync { get; set; }

    public bool Dropped { get; set; }

    public int Resubscribes { get; set; }
}

/// <summary>A local client's subscription at the CNA. Mutable state; guarded by the proxy's lock.</summary>
internal sealed class LocalSubscription(long id, Jid subscriber, Jid service, string node, PubsubSubscribeOptions options, UpstreamSubscription upstream)
{
    public long Id { get; } = id;

    public string SubId { get; } = id.ToString(CultureInfo.InvariantCulture);

    /// <summary>The subscribed JID (the requester's bare JID or one of its full JIDs).</summary>
    public Jid Subscriber { get; } = subscriber;

    /// <summary>The CNA account JID (<c>juliet\40example.com@events.example.net</c>).</summary>
    public Jid Service { get; } = service;

    public string Node { get; } = node;

    public PubsubSubscribeOptions Options { get; } = options;

    /// <summary>
    /// The options as the CNA grants them (docs/cna-xmpp.md §4): the requested ones with
    /// <c>pna#heartbeat</c> the interval at which the CNA really sends this subscriber heartbeats:
    /// none when it asked none, else the upstream subscription's, since every upstream heartbeat is
    /// passed on to a subscriber that asked for heartbeats. Guarded by the proxy's lock.
    /// </summary>
    public PubsubSubscribeOptions Granted => Options with { Heartbeat = Options.Heartbeat is null ? null : Upstream.Interval };

    public UpstreamSubscription Upstream { get; } = upstream;

    /// <summary>The last sequence number sent (+1 per notification, from 1 after subscribing).</summary>
    public long Sequence { get; set; }

    /// <summary>The subscribe result went out: notifications may follow.</summary>
    public bool Answered { get; set; }

    /// <summary>The last item (XEP-0060 §6.1.7) went out.</summary>
    public bool InitialSent { get; set; }

    public (Jid, Jid, string) Key => (Subscriber, Service, Node);
}
