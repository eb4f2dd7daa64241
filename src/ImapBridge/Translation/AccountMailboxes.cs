using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;

namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// The watched mailboxes of one account other than the selected one, as a pure state machine: fed
/// with LIST and STATUS responses (pushed by NOTIFY, RFC 5465 §5.4-5.5, or polled), it produces
/// MailboxCreate/Delete/Rename, MailboxSubscribe/UnSubscribe and the count-derived message events
/// of <see cref="StatusDelta"/>, each with totals. Also reconciles a fresh LIST + STATUS with the stored
/// state after a (re)connect (resync, <see cref="Reconcile"/>).
/// </summary>
public sealed class AccountMailboxes
{
    private readonly EventFactory _factory;
    private readonly MailboxFilter _filter;
    private readonly Dictionary<string, MailboxSnapshot> _known = new(StringComparer.Ordinal);
    private readonly HashSet<string> _junk = new(StringComparer.Ordinal);
    private readonly HashSet<string> _pendingStatus = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ImapStatusItems> _partial = new(StringComparer.Ordinal);

    public AccountMailboxes(EventFactory factory, MailboxFilter filter, string selected = "INBOX")
    {
        _factory = factory;
        _filter = filter;
        Selected = selected;
    }

    /// <summary>The selected mailbox's name; its messages are handled by <see cref="SelectedMailbox"/>.</summary>
    public string Selected { get; }

    /// <summary>The server's hierarchy delimiter (from LIST), null for a flat namespace.</summary>
    public char? Delimiter { get; set; } = '/';

    /// <summary>What we know now, by IMAP name (the selected mailbox included, as last set with <see cref="SetSnapshot"/>).</summary>
    public IReadOnlyDictionary<string, MailboxSnapshot> Known => _known;

    /// <summary>Mailboxes that appeared (LIST push) whose totals are needed: the watcher answers with STATUS fed to <see cref="OnStatus"/>.</summary>
    public IReadOnlyCollection<string> PendingStatus => _pendingStatus;

    public bool IsJunk(string name) => _junk.Contains(name);

    public bool IsWatched(string name) => _filter.IsWatched(name, Delimiter);

    public void SetSnapshot(MailboxSnapshot snapshot) => _known[snapshot.Mailbox] = snapshot;

    /// <summary>
    /// Resync: compares the stored state with a fresh LIST (+ STATUS of each watched mailbox) and returns
    /// only the corrective events, then adopts the fresh state. An account with no stored state at all
    /// (first start) gets no events: what exists is the baseline. Rename while away shows as delete + create.
    /// The selected mailbox is left to the caller (it knows the new UIDs exactly).
    /// </summary>
    public List<MailEvent> Reconcile(
        IReadOnlyDictionary<string, MailboxSnapshot> stored, IReadOnlyList<ImapListResponse> list,
        IReadOnlyDictionary<string, ImapStatusItems> status)
    {
        var events = new List<MailEvent>();
        var firstStart = stored.Count == 0;
        var fresh = new Dictionary<string, MailboxSnapshot>(StringComparer.Ordinal);
        var listed = new HashSet<string>(StringComparer.Ordinal);
        _junk.Clear();
        foreach (var l in list)
        {
            if (l.Delimiter is { } d)
            {
                Delimiter = d;
            }
        }
        foreach (var l in list)
        {
            if (l.HasAttribute("\\NonExistent") || l.HasAttribute("\\Noselect") || !IsWatched(l.Mailbox))
            {
                continue;
            }
            listed.Add(l.Mailbox);
            if (l.HasAttribute("\\Junk"))
            {
                _junk.Add(l.Mailbox);
            }
            if (status.TryGetValue(l.Mailbox, out var st) && ToSnapshot(l.Mailbox, st, l.HasAttribute("\\Subscribed")) is { } snap)
            {
                fresh[l.Mailbox] = snap;
            }
            else if (stored.TryGetValue(l.Mailbox, out var keep))
            {
                fresh[l.Mailbox] = keep; // listed but no STATUS (refused?): keep what we knew, no events
            }
        }
        _known.Clear();
        var created = new List<MailboxSnapshot>();
        foreach (var (name, now) in fresh)
        {
            _known[name] = now;
            if (firstStart)
            {
                continue;
            }
            if (!stored.TryGetValue(name, out var old))
            {
                created.Add(now);
                continue;
            }
            if (!IsSelected(name))
            {
                events.AddRange(StatusDelta.Compute(_factory, old, now, Delimiter, IsJunk(name)));
            }
            if (old.Subscribed != now.Subscribed)
            {
                events.Add(Subscription(now, now.Subscribed));
            }
        }
        if (firstStart)
        {
            return events;
        }
        var deleted = stored.Values.Where(old => !listed.Contains(old.Mailbox) && IsWatched(old.Mailbox)).ToList();
        foreach (var now in created)
        {
            // A mailbox gone and one new with the same UIDVALIDITY (unique on both sides): a rename
            // (RFC 3501 §6.3.5 keeps the UIDs; Dovecot and Cyrus keep UIDVALIDITY).
            var from = deleted.Where(d => d.UidValidity == now.UidValidity).ToList();
            if (from.Count == 1 && created.Count(c => c.UidValidity == now.UidValidity) == 1)
            {
                var old = from[0];
                deleted.Remove(old);
                events.Add(Renamed(old.Mailbox, now.Mailbox, now.UidValidity));
                events.AddRange(StatusDelta.Compute(_factory, old with { Mailbox = now.Mailbox }, now, Delimiter, IsJunk(now.Mailbox)));
                if (old.Subscribed != now.Subscribed)
                {
                    events.Add(Subscription(now, now.Subscribed));
                }
                continue;
            }
            events.Add(Created(now));
            if (now.Subscribed)
            {
                events.Add(Subscription(now, subscribed: true));
            }
        }
        foreach (var old in deleted)
        {
            events.Add(Deleted(old));
        }
        return events;
    }

    /// <summary>A STATUS pushed (NOTIFY, only the changed items) or asked for. Events for a watched, non-selected mailbox.</summary>
    public List<MailEvent> OnStatus(string name, ImapStatusItems items)
    {
        var events = new List<MailEvent>();
        if (!IsWatched(name) || IsSelected(name))
        {
            return events;
        }
        if (_known.TryGetValue(name, out var old))
        {
            var merged = ToSnapshot(name, Items(old).Merge(items), old.Subscribed) ?? old;
            _known[name] = merged;
            events.AddRange(StatusDelta.Compute(_factory, old, merged, Delimiter, IsJunk(name)));
            return events;
        }
        // Not known yet: a mailbox that appeared. Complete once all four counts are there.
        var partial = _partial.TryGetValue(name, out var p) ? p.Merge(items) : items;
        if (ToSnapshot(name, partial, subscribed: false) is { } created)
        {
            _partial.Remove(name);
            _pendingStatus.Remove(name);
            _known[name] = created;
            events.Add(Created(created));
        }
        else
        {
            _partial[name] = partial;
            _pendingStatus.Add(name);
        }
        return events;
    }

    /// <summary>A LIST pushed by NOTIFY (RFC 5465 §5.4: MailboxName, SubscriptionChange).</summary>
    public List<MailEvent> OnList(ImapListResponse l)
    {
        var events = new List<MailEvent>();
        if (l.Delimiter is { } d)
        {
            Delimiter = d;
        }
        var name = l.Mailbox;
        if (l.OldName is { } oldName && !string.Equals(oldName, name, StringComparison.Ordinal))
        {
            var wasKnown = _known.Remove(oldName, out var oldSnap);
            var isJunk = _junk.Remove(oldName) | l.HasAttribute("\\Junk");
            if (isJunk)
            {
                _junk.Add(name);
            }
            if (wasKnown || IsWatched(name) || IsWatched(oldName))
            {
                events.Add(Renamed(oldName, name, oldSnap?.UidValidity ?? 0));
            }
            if (oldSnap is not null && IsWatched(name))
            {
                _known[name] = oldSnap with { Mailbox = name };
            }
            else if (IsWatched(name) && !l.HasAttribute("\\Noselect"))
            {
                _pendingStatus.Add(name);
            }
            return events;
        }
        if (l.HasAttribute("\\NonExistent"))
        {
            _pendingStatus.Remove(name);
            _partial.Remove(name);
            _junk.Remove(name);
            if (_known.Remove(name, out var gone))
            {
                events.Add(Deleted(gone));
            }
            return events;
        }
        if (!IsWatched(name) || l.HasAttribute("\\Noselect"))
        {
            return events;
        }
        if (l.HasAttribute("\\Junk"))
        {
            _junk.Add(name);
        }
        var subscribed = l.HasAttribute("\\Subscribed");
        if (_known.TryGetValue(name, out var known))
        {
            if (known.Subscribed != subscribed)
            {
                _known[name] = known with { Subscribed = subscribed };
                events.Add(Subscription(known, subscribed));
            }
            return events;
        }
        if (!_partial.ContainsKey(name))
        {
            _partial[name] = new ImapStatusItems();
        }
        _pendingStatus.Add(name);
        return events;
    }

    private bool IsSelected(string name) => string.Equals(name, Selected, StringComparison.Ordinal)
        || (MailboxFilter.IsInbox(name) && MailboxFilter.IsInbox(Selected));

    private MailEvent Created(MailboxSnapshot s) =>
        _factory.Create(MailEventType.MailboxCreate, s.Mailbox, Delimiter, s.UidValidity, "create", Totals(s), spam: IsJunk(s.Mailbox));

    private MailEvent Renamed(string oldName, string newName, uint uidValidity) =>
        _factory.Create(MailEventType.MailboxRename, newName, Delimiter, uidValidity, "rename:" + oldName + ":" + _factory.GenerationKey(), null) with
        {
            OldMailbox = EventFactory.ToPath(oldName, Delimiter),
        };

    private MailEvent Deleted(MailboxSnapshot s) =>
        _factory.Create(MailEventType.MailboxDelete, s.Mailbox, Delimiter, s.UidValidity, "delete", null);

    private MailEvent Subscription(MailboxSnapshot s, bool subscribed) =>
        _factory.Create(subscribed ? MailEventType.MailboxSubscribe : MailEventType.MailboxUnSubscribe, s.Mailbox, Delimiter,
            s.UidValidity, _factory.GenerationKey(), null);

    public static MailboxTotals Totals(MailboxSnapshot s) => new(s.Messages, s.Unseen, s.UidNext, s.UidValidity);

    private static ImapStatusItems Items(MailboxSnapshot s) => new()
    {
        Messages = s.Messages,
        Unseen = s.Unseen,
        UidNext = s.UidNext,
        UidValidity = s.UidValidity,
        HighestModSeq = s.HighestModSeq,
    };

    /// <summary>A snapshot from STATUS items when MESSAGES, UNSEEN, UIDNEXT and UIDVALIDITY are all there.</summary>
    public static MailboxSnapshot? ToSnapshot(string name, ImapStatusItems s, bool subscribed) =>
        s is { Messages: { } m, Unseen: { } u, UidNext: { } n, UidValidity: { } v }
            ? new MailboxSnapshot(name, v, n, m, u, subscribed, s.HighestModSeq)
            : null;

    internal static string Describe(MailboxSnapshot s) =>
        string.Create(CultureInfo.InvariantCulture, $"{s.Mailbox}: {s.Messages}/{s.Unseen}/{s.UidNext}/{s.UidValidity}");
}
