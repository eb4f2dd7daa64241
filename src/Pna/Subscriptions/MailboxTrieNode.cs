using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// One shared string per distinct segment name in the trie, counted by the nodes using it, so
/// the few names most nodes carry (INBOX, Sent, Work, ...) stay hot in the CPU cache when a
/// lookup compares them, and a name leaves the pool with its last node (churn does not leak).
/// Used only under the registry's lock.
/// </summary>
internal sealed class SegmentPool
{
    private readonly Dictionary<string, (string Value, int Nodes)> _names = new(StringComparer.Ordinal);

    /// <summary>Number of distinct names in use.</summary>
    public int Count => _names.Count;

    /// <summary>The pooled instance equal to <paramref name="segment"/>, counting one more user.</summary>
    public string Acquire(string segment)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrAddDefault(_names, segment, out var exists);
        if (!exists)
        {
            entry.Value = segment;
        }
        entry.Nodes++;
        return entry.Value;
    }

    /// <summary>One user fewer of <paramref name="segment"/>; the name leaves with its last user.</summary>
    public void Release(string segment)
    {
        ref var entry = ref CollectionsMarshal.GetValueRefOrNullRef(_names, segment);
        if (!Unsafe.IsNullRef(ref entry) && --entry.Nodes == 0)
        {
            _names.Remove(segment);
        }
    }
}

/// <summary>
/// A subscription as a trie node keeps it: the subscription and its event-type bits, so the
/// match loop tests the mask without dereferencing the filter.
/// </summary>
internal readonly struct TrieEntry(Subscription subscription, uint events)
{
    public readonly Subscription Subscription = subscription;
    public readonly uint Events = events;
}

/// <summary>
/// A child link: the child's segment hash beside the child, so a lookup compares integers in one
/// array and dereferences only the candidate (fewer cache misses in a large trie).
/// </summary>
internal readonly struct TrieChild(int hash, MailboxTrieNode node)
{
    public readonly int Hash = hash;
    public readonly MailboxTrieNode Node = node;
}

/// <summary>
/// One mailbox of one account in the <see cref="SubscriptionRegistry"/> trie: the node for the
/// path <c>Work/Reports</c> is the child "Reports" of the child "Work" of the account's root.
/// <para>
/// Publication rules (see <see cref="SubscriptionRegistry"/>): every array a node points to is
/// immutable once published. Writers, serialised by the registry's lock, build a new array and
/// publish it with a volatile write; the matcher reads each array reference once and walks that
/// snapshot without a lock. Masks only let the matcher skip work: each entry's own bits are
/// checked again, so a mask briefly wider than the truth costs a little time and never a wrong
/// match, and a mask lags only for the entry being added (published before its bits) or removed.
/// </para>
/// </summary>
internal sealed class MailboxTrieNode(string segment)
{
    /// <summary>Up to this many children are scanned linearly; more are binary-searched by hash.</summary>
    private const int LinearSearchLimit = 8;

    private static readonly TrieChild[] NoChildren = [];
    private static readonly TrieEntry[] NoEntries = [];

    /// <summary>This node's segment, the <see cref="SegmentPool"/>'s instance; "" at the root.</summary>
    public readonly string Segment = segment;

    /// <summary>
    /// Children sorted by segment hash (<see cref="string.GetHashCode()"/>: randomised per process,
    /// so mailbox names chosen by a user cannot force collisions).
    /// </summary>
    private TrieChild[] _children = NoChildren;

    /// <summary>Subscriptions with depth One on exactly this mailbox.</summary>
    private TrieEntry[] _exact = NoEntries;

    /// <summary>Subscriptions with depth Subtree on this mailbox.</summary>
    private TrieEntry[] _subtree = NoEntries;

    /// <summary>OR of <see cref="_exact"/>'s event bits.</summary>
    private uint _exactMask;

    /// <summary>OR of <see cref="_subtree"/>'s event bits.</summary>
    private uint _subtreeMask;

    /// <summary>OR of every event bit in this node and all nodes below it: zero means "skip the branch".</summary>
    private uint _branchMask;

    public TrieChild[] Children => Volatile.Read(ref _children);
    public TrieEntry[] Exact => Volatile.Read(ref _exact);
    public TrieEntry[] Subtree => Volatile.Read(ref _subtree);
    public uint ExactMask => Volatile.Read(ref _exactMask);
    public uint SubtreeMask => Volatile.Read(ref _subtreeMask);
    public uint BranchMask => Volatile.Read(ref _branchMask);

    public bool IsEmpty => _children.Length == 0 && _exact.Length == 0 && _subtree.Length == 0;

    /// <summary>The child for <paramref name="segment"/> (ordinal), or null.</summary>
    public MailboxTrieNode? FindChild(string segment)
    {
        var children = Volatile.Read(ref _children);
        var index = Search(children, segment, segment.GetHashCode());
        return index >= 0 ? children[index].Node : null;
    }

    /// <summary>The child's index, or the complement of where a child with this hash would go.</summary>
    private static int Search(TrieChild[] children, string segment, int hash)
    {
        var i = 0;
        if (children.Length > LinearSearchLimit)
        {
            // Lower bound of the hash.
            int lo = 0, hi = children.Length;
            while (lo < hi)
            {
                var mid = (int)((uint)(lo + hi) >> 1);
                if (children[mid].Hash < hash)
                {
                    lo = mid + 1;
                }
                else
                {
                    hi = mid;
                }
            }
            i = lo;
        }
        for (; i < children.Length; i++)
        {
            ref readonly var c = ref children[i];
            if (c.Hash > hash)
            {
                break;
            }
            if (c.Hash == hash && string.Equals(c.Node.Segment, segment, StringComparison.Ordinal))
            {
                return i;
            }
        }
        return ~i;
    }

    // ---- writers: called only under the registry's lock ------------------------------------

    /// <summary>The child for <paramref name="segment"/>, created (empty) and published when missing.</summary>
    public MailboxTrieNode GetOrAddChild(string segment, SegmentPool pool)
    {
        var children = _children;
        var hash = segment.GetHashCode();
        var index = Search(children, segment, hash);
        if (index >= 0)
        {
            return children[index].Node;
        }
        index = ~index;
        var child = new MailboxTrieNode(pool.Acquire(segment));
        var grown = new TrieChild[children.Length + 1];
        Array.Copy(children, 0, grown, 0, index);
        grown[index] = new TrieChild(hash, child);
        Array.Copy(children, index, grown, index + 1, children.Length - index);
        Volatile.Write(ref _children, grown);
        return child;
    }

    /// <summary>Unlinks the (empty) child <paramref name="child"/>.</summary>
    public void RemoveChild(MailboxTrieNode child, SegmentPool pool)
    {
        var children = _children;
        var index = Search(children, child.Segment, child.Segment.GetHashCode());
        if (index < 0 || !ReferenceEquals(children[index].Node, child))
        {
            return;
        }
        Volatile.Write(ref _children, children.Length == 1 ? NoChildren : RemoveAt(children, index));
        pool.Release(child.Segment);
    }

    /// <summary>Adds an entry; false when the subscription is already here.</summary>
    public bool AddEntry(Subscription subscription, bool subtree)
    {
        ref var slot = ref subtree ? ref _subtree : ref _exact;
        var entries = slot;
        foreach (var e in entries)
        {
            if (ReferenceEquals(e.Subscription, subscription))
            {
                return false;
            }
        }
        var bits = subscription.Filter.Events.Bits;
        var grown = new TrieEntry[entries.Length + 1];
        Array.Copy(entries, grown, entries.Length);
        grown[^1] = new TrieEntry(subscription, bits);
        // Publish the entry before the mask that announces it.
        Volatile.Write(ref slot, grown);
        if (subtree)
        {
            Volatile.Write(ref _subtreeMask, _subtreeMask | bits);
        }
        else
        {
            Volatile.Write(ref _exactMask, _exactMask | bits);
        }
        return true;
    }

    /// <summary>Removes an entry; false when the subscription is not here.</summary>
    public bool RemoveEntry(Subscription subscription, bool subtree)
    {
        ref var slot = ref subtree ? ref _subtree : ref _exact;
        var entries = slot;
        var index = -1;
        for (var i = 0; i < entries.Length; i++)
        {
            if (ReferenceEquals(entries[i].Subscription, subscription))
            {
                index = i;
                break;
            }
        }
        if (index < 0)
        {
            return false;
        }
        var shrunk = entries.Length == 1 ? NoEntries : RemoveAt(entries, index);
        uint mask = 0;
        foreach (var e in shrunk)
        {
            mask |= e.Events;
        }
        // The remaining entries' bits stay in the mask throughout; only the leaving entry's
        // bits may drop out early, and a racing match may then miss it, which is a match
        // ordered after the removal.
        if (subtree)
        {
            Volatile.Write(ref _subtreeMask, mask);
        }
        else
        {
            Volatile.Write(ref _exactMask, mask);
        }
        Volatile.Write(ref slot, shrunk);
        return true;
    }

    /// <summary>Widens the branch mask by <paramref name="bits"/> (after an add below or here).</summary>
    public void WidenBranchMask(uint bits) => Volatile.Write(ref _branchMask, _branchMask | bits);

    /// <summary>Recomputes the branch mask from this node's entries and its children's branch masks.</summary>
    public void RecomputeBranchMask()
    {
        var mask = _exactMask | _subtreeMask;
        foreach (var child in _children)
        {
            mask |= child.Node._branchMask;
        }
        Volatile.Write(ref _branchMask, mask);
    }

    /// <summary>Appends every subscription held here and below (for snapshots; not a hot path).</summary>
    public void CollectAll(List<Subscription> into)
    {
        foreach (var e in Exact)
        {
            into.Add(e.Subscription);
        }
        foreach (var e in Subtree)
        {
            into.Add(e.Subscription);
        }
        foreach (var child in Children)
        {
            child.Node.CollectAll(into);
        }
    }

    private static T[] RemoveAt<T>(T[] source, int index)
    {
        var shrunk = new T[source.Length - 1];
        Array.Copy(source, 0, shrunk, 0, index);
        Array.Copy(source, index + 1, shrunk, index, source.Length - index - 1);
        return shrunk;
    }
}
