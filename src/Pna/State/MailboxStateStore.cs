using Aggregators.EventModel;
using Aggregators.Pna.Storage;

namespace Aggregators.Pna.State;

/// <summary>What the PNA knows about one mailbox now.</summary>
/// <param name="Account">The account.</param>
/// <param name="Mailbox">The mailbox.</param>
/// <param name="Totals">Its totals, when any event has told them.</param>
/// <param name="LastEventType">Type of the last event about it.</param>
/// <param name="LastEventTime">The event's timestamp, or when the PNA received it.</param>
/// <param name="LastEventId">The producer's id of that event.</param>
public sealed record MailboxState(
    AccountId Account,
    MailboxPath Mailbox,
    MailboxTotals? Totals,
    MailEventType? LastEventType,
    DateTimeOffset? LastEventTime,
    string? LastEventId);

/// <summary>
/// Per-account mailbox list and per-mailbox state, updated by events on the dispatcher thread
/// and read by anyone (new subscribers, admin pages, the flusher). Changes are remembered in a
/// dirty set that <see cref="TakeDirty"/> hands to the write-behind flusher.
/// </summary>
public sealed class MailboxStateStore
{
    private readonly Lock _lock = new();
    private readonly Dictionary<AccountId, Dictionary<MailboxPath, MailboxState>> _accounts = [];
    private HashSet<(AccountId, MailboxPath)> _dirty = [];

    /// <summary>Number of mailboxes known.</summary>
    public int MailboxCount
    {
        get
        {
            lock (_lock)
            {
                var n = 0;
                foreach (var a in _accounts.Values)
                {
                    n += a.Count;
                }
                return n;
            }
        }
    }

    /// <summary>Loads persisted state (at start, before any event); not marked dirty.</summary>
    public void Load(IEnumerable<StoredMailboxState> rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        lock (_lock)
        {
            foreach (var r in rows)
            {
                MailboxesOf(r.Account)[r.Mailbox] =
                    new MailboxState(r.Account, r.Mailbox, r.Totals, r.LastEventType, r.LastEventTime, r.LastEventId);
            }
        }
    }

    /// <summary>
    /// Applies one event and returns the totals of the event's mailbox after it (null for
    /// account-level events or when no totals are known).
    /// </summary>
    public MailboxTotals? Apply(MailEvent mailEvent, DateTimeOffset receivedAt)
    {
        ArgumentNullException.ThrowIfNull(mailEvent);
        if (mailEvent.Mailbox.IsRoot)
        {
            // Account-level events (quota, login/logout, RFC 5423 §4.2, §4.4) change no mailbox.
            return null;
        }
        var when = mailEvent.Timestamp ?? receivedAt;
        lock (_lock)
        {
            var mailboxes = MailboxesOf(mailEvent.Account);
            switch (mailEvent.Type)
            {
                case MailEventType.MailboxDelete:
                    // RFC 3501 §6.3.4: deleting a mailbox does not delete its inferiors.
                    if (mailboxes.Remove(mailEvent.Mailbox))
                    {
                        _dirty.Add((mailEvent.Account, mailEvent.Mailbox));
                    }
                    return null;
                case MailEventType.MailboxRename when mailEvent.OldMailbox is { IsRoot: false } old:
                    Rename(mailEvent.Account, mailboxes, old, mailEvent.Mailbox);
                    break;
            }
            mailboxes.TryGetValue(mailEvent.Mailbox, out var current);
            var totals = NextTotals(current?.Totals, mailEvent);
            var next = new MailboxState(mailEvent.Account, mailEvent.Mailbox, totals, mailEvent.Type, when, mailEvent.Id);
            mailboxes[mailEvent.Mailbox] = next;
            _dirty.Add((mailEvent.Account, mailEvent.Mailbox));
            return totals;
        }
    }

    /// <summary>
    /// Totals from the event when it carries them; otherwise the RFC 5423 §4 "messages",
    /// "uidnext" and "uidvalidity" parameters update totals already known (unseen cannot be
    /// guessed, so nothing is invented for a mailbox without known totals).
    /// </summary>
    private static MailboxTotals? NextTotals(MailboxTotals? known, MailEvent e)
    {
        if (e.Totals is { } given)
        {
            return given;
        }
        if (known is not { } k)
        {
            return null;
        }
        var messages = e.Messages ?? k.Messages;
        return new MailboxTotals(
            messages,
            Math.Min(k.Unseen, messages),
            e.Uidnext ?? k.UidNext,
            e.UidValidity ?? k.UidValidity);
    }

    /// <summary>
    /// RFC 3501 §6.3.5: RENAME moves the mailbox and all its inferiors. Renaming INBOX is special:
    /// its messages move to the new name, INBOX stays (empty) and its inferiors are not renamed.
    /// </summary>
    private void Rename(AccountId account, Dictionary<MailboxPath, MailboxState> mailboxes, MailboxPath from, MailboxPath to)
    {
        if (from.Equals(to))
        {
            return;
        }
        if (from.Equals(MailboxPath.Inbox))
        {
            if (mailboxes.TryGetValue(from, out var inbox))
            {
                mailboxes[to] = inbox with { Mailbox = to };
                mailboxes[from] = inbox with
                {
                    Totals = inbox.Totals is { } t ? new MailboxTotals(0, 0, t.UidNext, t.UidValidity) : null,
                };
                _dirty.Add((account, to));
                _dirty.Add((account, from));
            }
            return;
        }
        List<MailboxState>? moving = null;
        foreach (var (path, state) in mailboxes)
        {
            if (from.IsAncestorOrSelfOf(path))
            {
                (moving ??= []).Add(state);
            }
        }
        if (moving is null)
        {
            return;
        }
        foreach (var state in moving)
        {
            mailboxes.Remove(state.Mailbox);
            _dirty.Add((account, state.Mailbox));
        }
        foreach (var state in moving)
        {
            var segments = state.Mailbox.SegmentSpan[from.Depth..];
            var target = MailboxPath.FromSegments([.. to.SegmentSpan, .. segments]);
            mailboxes[target] = state with { Mailbox = target };
            _dirty.Add((account, target));
        }
    }

    private Dictionary<MailboxPath, MailboxState> MailboxesOf(AccountId account)
    {
        if (!_accounts.TryGetValue(account, out var mailboxes))
        {
            mailboxes = [];
            _accounts[account] = mailboxes;
        }
        return mailboxes;
    }

    public MailboxState? Get(AccountId account, MailboxPath mailbox)
    {
        lock (_lock)
        {
            return _accounts.TryGetValue(account, out var m) && m.TryGetValue(mailbox, out var s) ? s : null;
        }
    }

    /// <summary>The accounts with any known mailbox state, ordered.</summary>
    public IReadOnlyList<AccountId> GetAccounts()
    {
        lock (_lock)
        {
            var list = _accounts.Where(a => a.Value.Count > 0).Select(a => a.Key).ToList();
            list.Sort((a, b) => string.CompareOrdinal(a.Value, b.Value));
            return list;
        }
    }

    /// <summary>The account's mailboxes ordered by path; empty for an unknown account.</summary>
    public IReadOnlyList<MailboxState> GetAccount(AccountId account)
    {
        lock (_lock)
        {
            if (!_accounts.TryGetValue(account, out var m))
            {
                return [];
            }
            var list = m.Values.ToList();
            list.Sort((a, b) => string.CompareOrdinal(a.Mailbox.Value, b.Mailbox.Value));
            return list;
        }
    }

    /// <summary>Takes the changes since the last call: rows to upsert and keys to delete.</summary>
    public (List<StoredMailboxState> Upserts, List<(AccountId, MailboxPath)> Deletes) TakeDirty()
    {
        lock (_lock)
        {
            var upserts = new List<StoredMailboxState>();
            var deletes = new List<(AccountId, MailboxPath)>();
            if (_dirty.Count == 0)
            {
                return (upserts, deletes);
            }
            foreach (var key in _dirty)
            {
                if (_accounts.TryGetValue(key.Item1, out var m) && m.TryGetValue(key.Item2, out var s))
                {
                    upserts.Add(new StoredMailboxState(s.Account, s.Mailbox, s.Totals, s.LastEventType, s.LastEventTime, s.LastEventId));
                }
                else
                {
                    deletes.Add(key);
                }
            }
            _dirty = [];
            return (upserts, deletes);
        }
    }

    /// <summary>Puts keys back after a failed flush so the next flush retries them.</summary>
    public void MarkDirty(IEnumerable<(AccountId, MailboxPath)> keys)
    {
        ArgumentNullException.ThrowIfNull(keys);
        lock (_lock)
        {
            foreach (var k in keys)
            {
                _dirty.Add(k);
            }
        }
    }
}
