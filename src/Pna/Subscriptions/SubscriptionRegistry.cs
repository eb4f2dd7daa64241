using System.Collections.Concurrent;
using Aggregators.EventModel;

namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// Index of live subscriptions: a trie per account over mailbox path segments
/// (<see cref="MailboxTrieNode"/>), with exact (depth One) and subtree subscriptions and
/// event-type bitmasks at each node, plus a per-node branch mask so a walk stops as soon as
/// nothing below can match. A match costs one account lookup, O(depth) child searches and
/// O(matches) entry tests, independent of how many subscriptions exist.
/// <para>
/// Semantics equal <see cref="SubscriptionFilter.Matches(MailEvent)"/>: a mailbox event matches
/// subscriptions on its mailbox and subtree subscriptions on its ancestors (the account root
/// included); an account-level event (root mailbox) matches only subscriptions on the root; an
/// event with an <see cref="MailEvent.OldMailbox"/> (a rename) matches under both names.
/// </para>
/// <para>
/// Concurrency: reads are lock-free, writes take one lock. Transports add and remove from many
/// threads; the dispatcher matches on its own thread and must never wait behind a writer. So
/// every array a node points to is immutable once published (copy-on-write, see
/// <see cref="MailboxTrieNode"/>) and accounts sit in a <see cref="ConcurrentDictionary{TKey, TValue}"/>
/// whose lookups take no lock. Writers are serialised by <see cref="_writeLock"/>, which keeps
/// the copy-on-write steps and node pruning simple; a write copies only one node's small arrays.
/// A match racing a write sees the trie either before or after that write, per node.
/// </para>
/// <para>
/// De-duplication needs no per-match state (so concurrent matchers are safe too): one path walk
/// meets each subscription at most once, because a subscription lives in exactly one node. For a
/// rename, the second walk (old name) skips the subtree subscriptions on the common ancestors of
/// the two names, which the first walk already reported, and is skipped entirely when the names
/// are equal.
/// </para>
/// </summary>
public sealed class SubscriptionRegistry
{
    private readonly ConcurrentDictionary<string, MailboxTrieNode> _accounts = new(StringComparer.Ordinal);
    private readonly Lock _writeLock = new();

    /// <summary>The nodes on the path being written, root first; used only under <see cref="_writeLock"/>.</summary>
    private readonly MailboxTrieNode[] _pathScratch = new MailboxTrieNode[MailboxPath.MaxDepth + 1];

    /// <summary>Segment names shared by the trie's nodes; used only under <see cref="_writeLock"/>.</summary>
    private readonly SegmentPool _segments = new();

    private int _count;

    /// <summary>Number of subscriptions indexed.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Number of accounts with at least one subscription.</summary>
    public int AccountCount => _accounts.Count;

    /// <summary>Adds a subscription. Thread-safe.</summary>
    /// <exception cref="ArgumentException">The filter has no account or no mailbox.</exception>
    /// <exception cref="InvalidOperationException">The subscription is already registered.</exception>
    public void Add(Subscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var (account, mailbox, subtree) = KeyOf(subscription);
        var segments = mailbox.SegmentSpan;
        lock (_writeLock)
        {
            var isNewAccount = !_accounts.TryGetValue(account, out var root);
            root ??= new MailboxTrieNode("");
            var path = _pathScratch;
            var node = root;
            path[0] = root;
            for (var i = 0; i < segments.Length; i++)
            {
                node = node.GetOrAddChild(segments[i], _segments);
                path[i + 1] = node;
            }
            if (!node.AddEntry(subscription, subtree))
            {
                Array.Clear(path);
                throw new InvalidOperationException($"subscription {subscription} is already registered");
            }
            // Leaf first, so an ancestor's mask never announces bits its branch does not hold yet.
            var bits = subscription.Filter.Events.Bits;
            for (var i = segments.Length; i >= 0; i--)
            {
                path[i].WidenBranchMask(bits);
            }
            Array.Clear(path, 0, segments.Length + 1);
            if (isNewAccount)
            {
                _accounts[account] = root;
            }
            _count++;
        }
    }

    /// <summary>
    /// Removes a subscription; false when it was not there. Nodes left without subscriptions
    /// or children are unlinked, and an account without subscriptions is dropped. Thread-safe.
    /// </summary>
    public bool Remove(Subscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        var (account, mailbox, subtree) = KeyOf(subscription);
        var segments = mailbox.SegmentSpan;
        lock (_writeLock)
        {
            if (!_accounts.TryGetValue(account, out var root))
            {
                return false;
            }
            var path = _pathScratch;
            var node = root;
            path[0] = root;
            for (var i = 0; i < segments.Length; i++)
            {
                var child = node.FindChild(segments[i]);
                if (child is null)
                {
                    Array.Clear(path, 0, i + 1);
                    return false;
                }
                node = child;
                path[i + 1] = node;
            }
            var removed = node.RemoveEntry(subscription, subtree);
            if (removed)
            {
                for (var i = segments.Length; i >= 1; i--)
                {
                    var n = path[i];
                    if (n.IsEmpty)
                    {
                        path[i - 1].RemoveChild(n, _segments);
                    }
                    else
                    {
                        n.RecomputeBranchMask();
                    }
                }
                root.RecomputeBranchMask();
                if (root.IsEmpty)
                {
                    _accounts.TryRemove(account, out _);
                }
                _count--;
            }
            Array.Clear(path, 0, segments.Length + 1);
            return removed;
        }
    }

    /// <summary>
    /// Appends to <paramref name="results"/> every subscription <paramref name="mailEvent"/> matches
    /// (a rename matches under both names; each subscription at most once). Cost O(depth + matches);
    /// no allocation once <paramref name="results"/> has grown. Thread-safe.
    /// </summary>
    public void Match(MailEvent mailEvent, List<Subscription> results)
    {
        ArgumentNullException.ThrowIfNull(mailEvent);
        ArgumentNullException.ThrowIfNull(results);
        var mailbox = mailEvent.Mailbox ?? throw new ArgumentException("event has no mailbox", nameof(mailEvent));
        if (mailEvent.Account.Value is not { } account || !_accounts.TryGetValue(account, out var root))
        {
            return;
        }
        var bit = EventBit(mailEvent.Type);
        var current = mailbox.SegmentSpan;
        Walk(root, current, bit, skipSubtreeThroughDepth: -1, results);
        if (mailEvent.OldMailbox is { } old)
        {
            var previous = old.SegmentSpan;
            var common = CommonPrefixLength(current, previous);
            if (common != current.Length || common != previous.Length)
            {
                // Subtree subscriptions at depth <= common are ancestors of both names: reported above.
                Walk(root, previous, bit, skipSubtreeThroughDepth: common, results);
            }
        }
    }

    /// <summary>The same for one (account, mailbox, type) triple.</summary>
    public void Match(AccountId account, MailboxPath mailbox, MailEventType type, List<Subscription> results)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(results);
        if (account.Value is { } key && _accounts.TryGetValue(key, out var root))
        {
            Walk(root, mailbox.SegmentSpan, EventBit(type), skipSubtreeThroughDepth: -1, results);
        }
    }

    /// <summary>Every subscription, for admin listings (not a hot path).</summary>
    public IReadOnlyList<Subscription> Snapshot()
    {
        var all = new List<Subscription>(Count);
        lock (_writeLock)
        {
            foreach (var root in _accounts.Values)
            {
                root.CollectAll(all);
            }
        }
        return all;
    }

    /// <summary>Number of distinct segment names the trie holds (for tests that check pruning).</summary>
    internal int SegmentNameCount()
    {
        lock (_writeLock)
        {
            return _segments.Count;
        }
    }

    /// <summary>Number of trie nodes, account roots included (for tests that check pruning).</summary>
    internal int NodeCount()
    {
        lock (_writeLock)
        {
            var count = 0;
            foreach (var root in _accounts.Values)
            {
                count += CountNodes(root);
            }
            return count;
        }

        static int CountNodes(MailboxTrieNode node)
        {
            var n = 1;
            foreach (var child in node.Children)
            {
                n += CountNodes(child.Node);
            }
            return n;
        }
    }

    /// <summary>
    /// Walks from the account root down <paramref name="segments"/>, reporting subtree entries on
    /// the way (except at depths up to <paramref name="skipSubtreeThroughDepth"/>) and, at the
    /// mailbox itself, its exact entries too.
    /// </summary>
    private static void Walk(
        MailboxTrieNode root, ReadOnlySpan<string> segments, uint bit, int skipSubtreeThroughDepth,
        List<Subscription> results)
    {
        var node = root;
        for (var depth = 0; ; depth++)
        {
            if ((node.BranchMask & bit) == 0)
            {
                return;
            }
            if (depth > skipSubtreeThroughDepth && (node.SubtreeMask & bit) != 0)
            {
                Emit(node.Subtree, bit, results);
            }
            if (depth == segments.Length)
            {
                if ((node.ExactMask & bit) != 0)
                {
                    Emit(node.Exact, bit, results);
                }
                return;
            }
            var child = node.FindChild(segments[depth]);
            if (child is null)
            {
                return;
            }
            node = child;
        }
    }

    private static void Emit(TrieEntry[] entries, uint bit, List<Subscription> results)
    {
        foreach (ref readonly var e in entries.AsSpan())
        {
            if ((e.Events & bit) != 0)
            {
                results.Add(e.Subscription);
            }
        }
    }

    /// <summary>The type's bit, computed exactly as <see cref="EventTypeSet.Contains"/> does.</summary>
    private static uint EventBit(MailEventType type) => 1u << (int)type;

    private static int CommonPrefixLength(ReadOnlySpan<string> a, ReadOnlySpan<string> b)
    {
        var n = Math.Min(a.Length, b.Length);
        var i = 0;
        while (i < n && string.Equals(a[i], b[i], StringComparison.Ordinal))
        {
            i++;
        }
        return i;
    }

    private static (string Account, MailboxPath Mailbox, bool Subtree) KeyOf(Subscription subscription)
    {
        var filter = subscription.Filter;
        var account = filter.Account.Value
            ?? throw new ArgumentException($"subscription #{subscription.Id} has no account", nameof(subscription));
        var mailbox = filter.Mailbox
            ?? throw new ArgumentException($"subscription #{subscription.Id} has no mailbox", nameof(subscription));
        return (account, mailbox, filter.Depth == SubscriptionDepth.Subtree);
    }
}
