using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// The selected mailbox (INBOX) as a pure state machine: fed with the untagged responses the server
/// pushes (EXISTS, EXPUNGE, VANISHED, FETCH; RFC 3501 §7.3-7.4, RFC 7162 §3.2.10), it keeps the
/// sequence-number to UID map and each message's flags, and <see cref="Flush"/> turns what changed
/// into RFC 5423 events with totals. No I/O: when new messages arrived whose UID the server did not
/// push, <see cref="NeedsFetch"/> says so and the watcher answers with a UID FETCH fed to
/// <see cref="ApplyFetched"/>.
/// </summary>
/// <remarks>
/// Translation (RFC 5423 §4.2): \Seen set -> MessageRead (only that, not also FlagsSet); \Seen cleared
/// -> FlagsClear \Seen; \Deleted set -> MessageTrash; other flags -> FlagsSet / FlagsClear with their
/// names. \Recent is never reported (RFC 5423 §5). Changes of one kind in one burst are merged into
/// one event with a uidset. New messages give one MessageNew per UID (so a repeat after a reconnect
/// has the same id). Expunges of one burst give one MessageExpunge.
/// </remarks>
public sealed class SelectedMailbox
{
    private static readonly string[] NoFlags = [];

    private readonly EventFactory _factory;
    private readonly Dictionary<string, string[]> _flagSets = new(StringComparer.Ordinal);

    // Index i is message sequence number i + 1. UID 0 = not known yet (arrived, UID not learned).
    private readonly List<uint> _uids = [];
    private readonly List<string[]> _flags = [];

    private readonly List<uint> _expunged = [];
    private readonly List<NewMessage> _arrived = [];
    private readonly List<FlagChange> _changes = [];
    private ulong? _burstModSeq;

    public SelectedMailbox(EventFactory factory, string name, char? delimiter, uint uidValidity, uint uidNext, bool spamMailbox)
    {
        _factory = factory;
        Name = name;
        Delimiter = delimiter;
        UidValidity = uidValidity;
        UidNext = uidNext;
        IsJunk = spamMailbox;
    }

    public string Name { get; }
    public char? Delimiter { get; }
    public uint UidValidity { get; }

    /// <summary>Next UID to be assigned as far as we know: above every UID we have seen.</summary>
    public uint UidNext { get; private set; }

    /// <summary>The mailbox is the \Junk special-use mailbox: every event is Spam (piece 8).</summary>
    public bool IsJunk { get; }

    public int Messages => _uids.Count;

    public int Unseen
    {
        get
        {
            var n = 0;
            foreach (var f in _flags)
            {
                if (!Has(f, "\\Seen"))
                {
                    n++;
                }
            }
            return n;
        }
    }

    public MailboxTotals Totals => new((uint)Messages, (uint)Unseen, UidNext, UidValidity);

    /// <summary>Messages arrived whose UID is not known yet: a UID FETCH of <see cref="FetchRange"/> is due.</summary>
    public bool NeedsFetch => _uids.Contains(0u);

    /// <summary>What to fetch for <see cref="NeedsFetch"/>: every UID from the first we have not seen.</summary>
    public ImapSequenceSet FetchRange => ImapSequenceSet.From(Math.Max(1, UidNext));

    /// <summary>The message UIDs in sequence order (0 = not learned yet).</summary>
    public IReadOnlyList<uint> Uids => _uids;

    /// <summary>
    /// Loads the mailbox as it is after SELECT: the answer of UID FETCH 1:* (UID FLAGS), in any order.
    /// Produces no events.
    /// </summary>
    public void Load(IEnumerable<ImapFetchResponse> all, uint exists)
    {
        _uids.Clear();
        _flags.Clear();
        for (var i = 0; i < exists; i++)
        {
            _uids.Add(0);
            _flags.Add(NoFlags);
        }
        foreach (var f in all)
        {
            if (f.SequenceNumber >= 1 && f.SequenceNumber <= exists && f.Uid is { } uid)
            {
                _uids[(int)f.SequenceNumber - 1] = uid;
                _flags[(int)f.SequenceNumber - 1] = Intern(f.Flags ?? NoFlags);
                if (uid >= UidNext)
                {
                    UidNext = uid + 1;
                }
            }
        }
    }

    /// <summary>Feeds one pushed response. Returns false when it does not concern the selected mailbox.</summary>
    /// <exception cref="ResyncRequiredException">The server contradicted what we know (e.g. EXISTS went down).</exception>
    public bool Feed(ImapUntaggedResponse response)
    {
        switch (response)
        {
            case ImapExistsResponse exists:
                OnExists(exists.Count);
                return true;
            case ImapExpungeResponse expunge:
                OnExpunge(expunge.SequenceNumber);
                return true;
            case ImapVanishedResponse { Earlier: false } vanished:
                foreach (var uid in vanished.Uids.Enumerate())
                {
                    var i = _uids.IndexOf(uid);
                    if (i >= 0)
                    {
                        OnExpunge((uint)i + 1);
                    }
                }
                return true;
            case ImapFetchResponse fetch:
                OnFetch(fetch, fromNewFetch: false);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Feeds the answer of the UID FETCH asked for by <see cref="NeedsFetch"/>.</summary>
    public void ApplyFetched(IEnumerable<ImapFetchResponse> fetched)
    {
        foreach (var f in fetched)
        {
            OnFetch(f, fromNewFetch: true);
        }
    }

    /// <summary>
    /// The events for everything fed since the last flush, with the totals after it. New messages whose
    /// UID is still unknown stay pending (see <see cref="NeedsFetch"/>).
    /// </summary>
    public IReadOnlyList<MailEvent> Flush()
    {
        var events = new List<MailEvent>();
        var totals = Totals;
        var modKey = _burstModSeq is { } m ? "modseq:" + m.ToString(CultureInfo.InvariantCulture) : null;
        if (_expunged.Count > 0)
        {
            var set = UidSets.Format(_expunged);
            events.Add(_factory.Create(MailEventType.MessageExpunge, Name, Delimiter, UidValidity, "uid:" + set, totals, set, spam: IsJunk));
            _expunged.Clear();
        }
        foreach (var n in _arrived)
        {
            var set = n.Uid.ToString(CultureInfo.InvariantCulture);
            var e = _factory.Create(MailEventType.MessageNew, Name, Delimiter, UidValidity, "uid:" + set, totals, set,
                spam: IsJunk || Has(n.Flags, "$Junk"));
            events.Add(e with
            {
                MessageSize = n.Size is { } s and >= 0 ? (ulong)s : null,
                From = n.From,
                Subject = n.Subject,
            });
        }
        _arrived.Clear();

        // Merge changes by (event, flag names, spam), in the order first seen.
        foreach (var group in _changes.GroupBy(c => (c.Type, Names: string.Join(' ', c.FlagNames), c.Spam)))
        {
            var uids = group.Select(c => c.Uid).ToArray();
            var set = UidSets.Format(uids);
            // RFC 7162 MODSEQ identifies the change; without CONDSTORE the delivery generation does.
            var key = (modKey ?? _factory.GenerationKey()) + ":" + group.Key.Names + ":" + set;
            var flagNames = group.Key.Type is MailEventType.FlagsSet or MailEventType.FlagsClear ? group.First().FlagNames : null;
            events.Add(_factory.Create(group.Key.Type, Name, Delimiter, UidValidity, key, totals, set, flagNames, group.Key.Spam || IsJunk));
        }
        _changes.Clear();
        _burstModSeq = null;
        return events;
    }

    private void OnExists(uint count)
    {
        if (count < _uids.Count)
        {
            // RFC 3501 §7.3.1: EXISTS never goes down without EXPUNGE.
            throw new ResyncRequiredException(string.Create(CultureInfo.InvariantCulture,
                $"EXISTS {count} is below the {_uids.Count} messages known in {Name} without EXPUNGE"));
        }
        while (_uids.Count < count)
        {
            _uids.Add(0);
            _flags.Add(NoFlags);
        }
    }

    private void OnExpunge(uint seq)
    {
        if (seq < 1 || seq > _uids.Count)
        {
            throw new ResyncRequiredException(string.Create(CultureInfo.InvariantCulture,
                $"EXPUNGE {seq} is outside the {_uids.Count} messages known in {Name}"));
        }
        var i = (int)seq - 1;
        var uid = _uids[i];
        _uids.RemoveAt(i);
        _flags.RemoveAt(i);
        if (uid != 0)
        {
            _expunged.Add(uid);
            _arrived.RemoveAll(a => a.Uid == uid);
        }
    }

    private void OnFetch(ImapFetchResponse fetch, bool fromNewFetch)
    {
        if (fetch.ModSeq is { } ms && (_burstModSeq is null || ms > _burstModSeq))
        {
            _burstModSeq = ms;
        }
        int i;
        if (fromNewFetch)
        {
            // Answer of our UID FETCH: locate by UID among the unknown slots (sequence numbers may have
            // moved if expunges were pushed meanwhile, UIDs do not).
            if (fetch.Uid is not { } u || u < UidNext || _uids.Contains(u))
            {
                return; // "n:*" also returns the highest existing message (RFC 3501 §6.4.8): already known
            }
            i = fetch.SequenceNumber >= 1 && fetch.SequenceNumber <= _uids.Count && _uids[(int)fetch.SequenceNumber - 1] == 0
                ? (int)fetch.SequenceNumber - 1
                : _uids.IndexOf(0);
            if (i < 0)
            {
                return;
            }
        }
        else
        {
            if (fetch.SequenceNumber < 1 || fetch.SequenceNumber > _uids.Count)
            {
                throw new ResyncRequiredException(string.Create(CultureInfo.InvariantCulture,
                    $"FETCH for message {fetch.SequenceNumber} outside the {_uids.Count} messages known in {Name}"));
            }
            i = (int)fetch.SequenceNumber - 1;
        }

        var known = _uids[i];
        if (known == 0)
        {
            // A new message. Learn its UID (if given) and flags; report it once the UID is known.
            if (fetch.Flags is { } nf)
            {
                _flags[i] = Intern(nf);
            }
            if (fetch.Uid is { } uid && uid != 0)
            {
                if (uid < UidNext)
                {
                    // Already reported before (e.g. resync race); just record it.
                    _uids[i] = uid;
                    return;
                }
                _uids[i] = uid;
                UidNext = uid + 1;
                _arrived.Add(new NewMessage(uid, _flags[i], fetch.Rfc822Size, Envelopes.FormatFrom(fetch.Envelope), Envelopes.Clean(fetch.Envelope?.Subject)));
            }
            return;
        }
        if (fetch.Flags is not { } flags)
        {
            return;
        }
        var old = _flags[i];
        var now = Intern(flags);
        _flags[i] = now;
        if (ReferenceEquals(old, now))
        {
            return;
        }
        var spam = Has(now, "$Junk");
        var set = new List<string>();
        var cleared = new List<string>();
        foreach (var f in now)
        {
            if (!Has(old, f) && !IsRecent(f))
            {
                set.Add(f);
            }
        }
        foreach (var f in old)
        {
            if (!Has(now, f) && !IsRecent(f))
            {
                cleared.Add(f);
            }
        }
        // RFC 5423 §4.2: MessageRead for \Seen, MessageTrash for \Deleted; the rest as FlagsSet.
        var other = new List<string>();
        foreach (var f in set)
        {
            if (IsFlag(f, "\\Seen"))
            {
                _changes.Add(new FlagChange(MailEventType.MessageRead, known, [], spam));
            }
            else if (IsFlag(f, "\\Deleted"))
            {
                _changes.Add(new FlagChange(MailEventType.MessageTrash, known, [], spam));
            }
            else
            {
                other.Add(f);
            }
        }
        if (other.Count > 0)
        {
            _changes.Add(new FlagChange(MailEventType.FlagsSet, known, other.ToArray(), spam));
        }
        if (cleared.Count > 0)
        {
            _changes.Add(new FlagChange(MailEventType.FlagsClear, known, cleared.ToArray(), spam));
        }
    }

    private string[] Intern(IReadOnlyList<string> flags)
    {
        if (flags.Count == 0)
        {
            return NoFlags;
        }
        var sorted = flags.Distinct(StringComparer.OrdinalIgnoreCase).Order(StringComparer.OrdinalIgnoreCase).ToArray();
        var key = string.Join(' ', sorted);
        if (_flagSets.TryGetValue(key, out var existing))
        {
            return existing;
        }
        if (_flagSets.Count < 4096)
        {
            _flagSets[key] = sorted;
        }
        return sorted;
    }

    private static bool IsRecent(string flag) => IsFlag(flag, "\\Recent");

    private static bool IsFlag(string a, string b) => string.Equals(a, b, StringComparison.OrdinalIgnoreCase);

    internal static bool Has(IReadOnlyList<string> flags, string flag)
    {
        foreach (var f in flags)
        {
            if (IsFlag(f, flag))
            {
                return true;
            }
        }
        return false;
    }

    private sealed record NewMessage(uint Uid, string[] Flags, long? Size, string? From, string? Subject);

    private sealed record FlagChange(MailEventType Type, uint Uid, string[] FlagNames, bool Spam);
}

/// <summary>What the server said contradicts our state: drop it and resynchronise (STATUS + SELECT).</summary>
public sealed class ResyncRequiredException(string message) : Exception(message);
