namespace Aggregators.ImapBridge.State;

/// <summary>
/// What a watcher last knew (and delivered) about one mailbox: the STATUS values (RFC 3501 §6.3.10)
/// that resync compares against after a (re)connect. <see cref="Mailbox"/> is the IMAP name, decoded
/// from modified UTF-7. <see cref="Generation"/> is the account's delivery generation
/// (<see cref="Translation.EventFactory.Generation"/>), kept in the INBOX row: ids of events that
/// have no identity of their own are derived from it, so a batch computed again after a crash has
/// the same ids and a later, equal-looking change does not.
/// </summary>
public sealed record MailboxSnapshot(
    string Mailbox,
    uint UidValidity,
    uint UidNext,
    uint Messages,
    uint Unseen,
    bool Subscribed = false,
    ulong? HighestModSeq = null,
    ulong Generation = 0);

/// <summary>
/// Durable per-account, per-mailbox watcher state (shared contract, see <see cref="IEventSink"/>).
/// A watcher saves only after the events that led to the new state were delivered, so the stored
/// state never runs ahead of what the PNA has.
/// </summary>
public interface IWatcherStateStore
{
    /// <summary>Everything known about <paramref name="account"/>, by mailbox name; empty for a new account.</summary>
    ValueTask<IReadOnlyDictionary<string, MailboxSnapshot>> LoadAsync(string account, CancellationToken cancellationToken);

    /// <summary>Upserts <paramref name="changed"/> and removes <paramref name="removed"/> in one transaction.</summary>
    ValueTask SaveAsync(string account, IReadOnlyCollection<MailboxSnapshot> changed, IReadOnlyCollection<string> removed, CancellationToken cancellationToken);
}

/// <summary>A non-durable <see cref="IWatcherStateStore"/> for tests and for running without a data directory.</summary>
public sealed class InMemoryWatcherStateStore : IWatcherStateStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, Dictionary<string, MailboxSnapshot>> _accounts = new(StringComparer.Ordinal);

    public ValueTask<IReadOnlyDictionary<string, MailboxSnapshot>> LoadAsync(string account, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            IReadOnlyDictionary<string, MailboxSnapshot> copy = _accounts.TryGetValue(account, out var m)
                ? new Dictionary<string, MailboxSnapshot>(m, StringComparer.Ordinal)
                : new Dictionary<string, MailboxSnapshot>(StringComparer.Ordinal);
            return ValueTask.FromResult(copy);
        }
    }

    public ValueTask SaveAsync(string account, IReadOnlyCollection<MailboxSnapshot> changed, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(account, out var m))
            {
                _accounts[account] = m = new Dictionary<string, MailboxSnapshot>(StringComparer.Ordinal);
            }
            foreach (var r in removed)
            {
                m.Remove(r);
            }
            foreach (var c in changed)
            {
                m[c.Mailbox] = c;
            }
        }
        return ValueTask.CompletedTask;
    }
}
