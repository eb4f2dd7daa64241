using Aggregators.EventModel;

namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// Builds the <see cref="MailEvent"/>s of one account: account id, mailbox path conversion (IMAP name
/// and hierarchy delimiter to the notification-side path, docs/events.md), timestamps, spam marking
/// (piece 8) and deterministic ids (<see cref="EventIds"/>).
/// </summary>
public sealed class EventFactory
{
    private readonly TimeProvider _time;

    public EventFactory(AccountId account, TimeProvider? time = null)
    {
        Account = account;
        _time = time ?? TimeProvider.System;
    }

    public AccountId Account { get; }

    public static MailboxPath ToPath(string imapName, char? delimiter) =>
        string.Equals(imapName, "INBOX", StringComparison.OrdinalIgnoreCase)
            ? MailboxPath.Inbox
            : MailboxPath.TryFromImap(imapName, delimiter, out var p, out _) ? p : MailboxPath.FromSegments([imapName.Replace('\0', '?')]);

    /// <summary>An event about a mailbox; <paramref name="key"/> makes the id (see <see cref="EventIds"/>).</summary>
    public MailEvent Create(
        MailEventType type, string imapName, char? delimiter, uint uidValidity, string key, MailboxTotals? totals,
        string? uidset = null, IReadOnlyList<string>? flagNames = null, bool spam = false) =>
        new()
        {
            Type = type,
            Account = Account,
            Mailbox = ToPath(imapName, delimiter),
            Id = EventIds.Create(Account.Value, imapName, uidValidity, type, key),
            Totals = totals,
            Uidset = uidset,
            FlagNames = flagNames,
            Spam = spam,
            Timestamp = _time.GetUtcNow(),
            Service = "imap",
        };

    /// <summary>A unique key for live changes that have no stable identity (no MODSEQ): never a duplicate.</summary>
    public static string Nonce() => Guid.NewGuid().ToString("N");
}
