using Aggregators.EventModel;

namespace Aggregators.Pna.Subscriptions;

/// <summary>
/// Index of live subscriptions: a trie per account over mailbox path segments, with exact and
/// subtree subscriptions and event-type bitmasks at each node. STUB: the signatures are the
/// contract; the implementation lands with the matcher work.
/// </summary>
public sealed class SubscriptionRegistry
{
    /// <summary>Number of subscriptions indexed.</summary>
    public int Count => throw new NotImplementedException();

    /// <summary>Adds a subscription. Thread-safe.</summary>
    public void Add(Subscription subscription) => throw new NotImplementedException();

    /// <summary>Removes a subscription; false when it was not there. Thread-safe.</summary>
    public bool Remove(Subscription subscription) => throw new NotImplementedException();

    /// <summary>
    /// Appends to <paramref name="results"/> every subscription <paramref name="mailEvent"/> matches
    /// (a rename matches under both names; each subscription at most once). Cost O(depth + matches);
    /// no allocation once <paramref name="results"/> has grown. Thread-safe.
    /// </summary>
    public void Match(MailEvent mailEvent, List<Subscription> results) => throw new NotImplementedException();

    /// <summary>The same for one (account, mailbox, type) triple.</summary>
    public void Match(AccountId account, MailboxPath mailbox, MailEventType type, List<Subscription> results) =>
        throw new NotImplementedException();

    /// <summary>Every subscription, for admin listings (not a hot path).</summary>
    public IReadOnlyList<Subscription> Snapshot() => throw new NotImplementedException();
}
