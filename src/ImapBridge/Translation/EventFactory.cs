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

    /// <summary>
    /// The notification-side path of an IMAP mailbox name (docs/events.md). A name that cannot be
    /// expressed as is (empty segments, control characters, too deep or long) is mapped leniently
    /// (such characters become U+FFFD, empty segments "_") rather than dropping the event.
    /// </summary>
    public static MailboxPath ToPath(string imapName, char? delimiter)
    {
        if (string.Equals(imapName, "INBOX", StringComparison.OrdinalIgnoreCase))
        {
            return MailboxPath.Inbox;
        }
        if (MailboxPath.TryFromImap(imapName, delimiter, out var p, out _))
        {
            return p;
        }
        var segments = (delimiter is { } d ? imapName.Split(d) : [imapName])
            .Select(seg => seg.Length == 0 ? "_" : new string(seg.Select(c => char.IsControl(c) ? '\uFFFD' : c).ToArray()))
            .ToList();
        while (segments.Count > MailboxPath.MaxDepth)
        {
            segments[^2] += "_" + segments[^1];
            segments.RemoveAt(segments.Count - 1);
        }
        try
        {
            return MailboxPath.FromSegments(segments.ToArray());
        }
        catch (FormatException)
        {
            // Still too long: a stable stand-in derived from the name.
            return MailboxPath.FromSegments([Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(imapName)))]);
        }
    }

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

    /// <summary>
    /// The account's delivery generation: how many batches of events the watcher delivered and
    /// saved (persisted with the state, <see cref="State.MailboxSnapshot.Generation"/>). Events
    /// computed from the same saved state, e.g. again after a crash before the save, are made in
    /// the same generation; the next batch is in the next one.
    /// </summary>
    public ulong Generation { get; private set; }

    private uint _inGeneration;

    /// <summary>Starts <paramref name="generation"/>: after loading the state, and after each delivered batch.</summary>
    public void StartGeneration(ulong generation)
    {
        Generation = generation;
        _inGeneration = 0;
    }

    /// <summary>
    /// An id key for a change that has no identity of its own (a flag change without MODSEQ, a
    /// SUBSCRIBE, counts that moved): the generation and the key's position in it
    /// (<c>gen:G.n</c>). Deterministic for the same saved state and the same server responses.
    /// </summary>
    public string GenerationKey() =>
        string.Create(System.Globalization.CultureInfo.InvariantCulture, $"gen:{Generation}.{_inGeneration++}");
}
