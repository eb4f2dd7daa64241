using Aggregators.EventModel;

namespace Aggregators.Pna.Storage;

/// <summary>A subscription as stored: everything needed to rebuild it after a restart.</summary>
public sealed record StoredSubscription(
    long Id,
    string Subscriber,
    string Transport,
    SubscriptionFilter Filter,
    string? TransportState,
    DateTimeOffset? Expires,
    DateTimeOffset Created);

/// <summary>One mailbox's persisted state.</summary>
public sealed record StoredMailboxState(
    AccountId Account,
    MailboxPath Mailbox,
    MailboxTotals? Totals,
    MailEventType? LastEventType,
    DateTimeOffset? LastEventTime,
    string? LastEventId);

/// <summary>
/// The PNA's persistent store: subscriptions (written synchronously) and mailbox state (written
/// behind in batches). SQLite is the embedded default; a PostgreSQL store shares this contract.
/// Calls are thread-safe.
/// </summary>
public interface IPnaStore : IDisposable
{
    /// <summary>True once the store is open and its schema current.</summary>
    bool IsOpen { get; }

    /// <summary>Opens the store, creating or migrating its schema; throws <see cref="StoreSchemaException"/> on a newer schema.</summary>
    void Open();

    IReadOnlyList<StoredSubscription> LoadSubscriptions();

    /// <summary>Stores a new subscription and returns its id (the <c>Id</c> of the argument is ignored).</summary>
    long InsertSubscription(StoredSubscription subscription);

    /// <summary>Rewrites expiry and transport state; false when the id is unknown.</summary>
    bool UpdateSubscription(long id, DateTimeOffset? expires, string? transportState);

    bool DeleteSubscription(long id);

    IReadOnlyList<StoredMailboxState> LoadMailboxStates();

    /// <summary>Upserts and deletes mailbox state rows in one transaction.</summary>
    void WriteMailboxStates(IReadOnlyCollection<StoredMailboxState> upserts, IReadOnlyCollection<(AccountId Account, MailboxPath Mailbox)> deletes);
}

/// <summary>The store's schema cannot be used by this version of the PNA.</summary>
public sealed class StoreSchemaException : Exception
{
    public StoreSchemaException()
    {
    }

    public StoreSchemaException(string message) : base(message)
    {
    }

    public StoreSchemaException(string message, Exception innerException) : base(message, innerException)
    {
    }
}
