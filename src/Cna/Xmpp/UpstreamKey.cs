using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// What makes an upstream subscription distinct (docs/cna-xmpp.md §One upstream subscription):
/// the account, the node, and the options sent upstream (depth, event types, heartbeat). Local
/// subscribers whose requests map to the same key share one upstream subscription.
/// </summary>
public sealed record UpstreamKey(AccountId Account, string Node, SubscriptionDepth Depth, EventTypeSet Events, TimeSpan Heartbeat)
{
    /// <summary>
    /// The key of a local request: its node and options, with the heartbeat asked upstream being
    /// the CNA's watchdog interval, or the local subscriber's when that is shorter.
    /// </summary>
    public static UpstreamKey For(AccountId account, string node, PubsubSubscribeOptions local, TimeSpan watchdogHeartbeat)
    {
        ArgumentNullException.ThrowIfNull(local);
        var heartbeat = local.Heartbeat is { } h && h < watchdogHeartbeat ? h : watchdogHeartbeat;
        return new UpstreamKey(account, node, local.Depth, local.Events, heartbeat);
    }

    /// <summary>The options sent upstream.</summary>
    public PubsubSubscribeOptions Options => new(Depth, Events, Heartbeat);

    /// <summary>
    /// The resource of the CNA JID that holds this subscription upstream (<c>events.example.net/up-…</c>):
    /// derived from the key, so a restarted CNA finds its subscriptions at the PNA again, and the
    /// PNA, which keeps one subscription per (JID, node), holds one per key.
    /// </summary>
    public string Resource
    {
        get
        {
            var text = string.Create(CultureInfo.InvariantCulture,
                $"{Account.Value.ToLowerInvariant()}\n{Node}\n{(int)Depth}\n{Events.Bits}\n{(long)Heartbeat.TotalSeconds}");
            return "up-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)).AsSpan(0, 10));
        }
    }
}
