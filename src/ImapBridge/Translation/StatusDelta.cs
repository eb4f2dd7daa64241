using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.State;

namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// Events for a mailbox the watcher only sees as counts (STATUS, RFC 3501 §6.3.10): a NOTIFY STATUS
/// push or a poll for a non-selected mailbox, and resync after a (re)connect. Pure.
/// </summary>
/// <remarks>
/// From the stored snapshot <c>old</c> to the current <c>now</c>, same UIDVALIDITY:
/// <list type="bullet">
/// <item>UIDNEXT went up: the UIDs old.UidNext .. now.UidNext-1 were assigned, so <c>arrived</c> =
/// their number; one MessageNew with that uidset (some of those UIDs may be gone again), or, when
/// the caller knows the exact UIDs (<paramref name="newUids"/>, the selected mailbox), one MessageNew per UID.</item>
/// <item><c>expunged</c> = old.Messages + arrived - now.Messages; when positive, one MessageExpunge without uidset.</item>
/// <item>Unseen can only be explained by arrivals (unseen ones: exactly known with <paramref name="newUids"/>,
/// else 0 to arrived) and expunges (at most -expunged). Below old.Unseen - expunged + (fewest unseen arrivals):
/// MessageRead (no uidset; messages were read). Above old.Unseen + (most unseen arrivals): FlagsClear \Seen
/// (no uidset; messages were marked unread). Otherwise nothing: a read and an unread in the same interval
/// cancel out in the counts.</item>
/// <item>Other flag changes (only HIGHESTMODSEQ moves) are not visible in counts: nothing.</item>
/// </list>
/// UIDVALIDITY changed (RFC 3501 §2.3.1.1: the old UIDs mean nothing any more): one MailboxCreate with
/// the new totals and the vendor parameter <c>vnd.aggregators.uidvalidity-reset</c> holding the old
/// UIDVALIDITY; nothing else. Every event carries the current totals. Ids are derived from the old and
/// new state and the delivery generation (<see cref="EventFactory.GenerationKey"/>), so the same
/// catch-up computed again after a crash has the same ids, and the same counts moving the same way
/// again later do not.
/// </remarks>
public static class StatusDelta
{
    public const string UidValidityResetParameter = "vnd.aggregators.uidvalidity-reset";

    public static List<MailEvent> Compute(
        EventFactory factory, MailboxSnapshot old, MailboxSnapshot now, char? delimiter, bool junk,
        IReadOnlyList<NewUid>? newUids = null)
    {
        var events = new List<MailEvent>();
        var totals = new MailboxTotals(now.Messages, now.Unseen, now.UidNext, now.UidValidity);
        var name = now.Mailbox;
        if (old.UidValidity != now.UidValidity)
        {
            var reset = factory.Create(MailEventType.MailboxCreate, name, delimiter, now.UidValidity,
                "uidvalidity-reset:" + old.UidValidity.ToString(CultureInfo.InvariantCulture), totals, spam: junk);
            events.Add(reset with
            {
                Vendor = [new VendorParameter(UidValidityResetParameter, old.UidValidity.ToString(CultureInfo.InvariantCulture))],
            });
            return events;
        }
        // The same counts can move the same way twice (read, unread, read): the generation tells them apart.
        var transition = string.Create(CultureInfo.InvariantCulture,
            $"{factory.GenerationKey()}:{old.Messages}/{old.Unseen}/{old.UidNext}>{now.Messages}/{now.Unseen}/{now.UidNext}/{now.HighestModSeq}");
        long arrived = now.UidNext > old.UidNext ? now.UidNext - old.UidNext : 0;
        long expunged = (long)old.Messages + arrived - now.Messages;
        if (expunged > 0)
        {
            events.Add(factory.Create(MailEventType.MessageExpunge, name, delimiter, now.UidValidity, "count:" + transition, totals, spam: junk));
        }
        else
        {
            expunged = 0;
        }
        if (newUids is not null)
        {
            foreach (var n in newUids)
            {
                if (n.Uid < old.UidNext)
                {
                    continue; // reported before the disconnect: no duplicate MessageNew
                }
                var set = n.Uid.ToString(CultureInfo.InvariantCulture);
                events.Add(factory.Create(MailEventType.MessageNew, name, delimiter, now.UidValidity, "uid:" + set, totals, set, spam: junk || n.Junk) with
                {
                    MessageSize = n.Size is { } s and >= 0 ? (ulong)s : null,
                    From = n.From,
                    Subject = n.Subject,
                });
            }
        }
        else if (arrived > 0)
        {
            var set = UidSets.Range(old.UidNext == 0 ? 1 : old.UidNext, now.UidNext - 1);
            events.Add(factory.Create(MailEventType.MessageNew, name, delimiter, now.UidValidity, "uid:" + set, totals, set, spam: junk));
        }
        // Arrivals that are unseen: exactly known when the UIDs (and flags) are, else 0 to arrived.
        long arrivedUnseenMin = 0, arrivedUnseenMax = arrived;
        if (newUids is not null)
        {
            arrivedUnseenMin = arrivedUnseenMax = newUids.Count(n => n.Uid >= old.UidNext && !n.Seen);
        }
        if (now.Unseen < (long)old.Unseen - expunged + arrivedUnseenMin)
        {
            events.Add(factory.Create(MailEventType.MessageRead, name, delimiter, now.UidValidity, "count:" + transition, totals, spam: junk));
        }
        else if (now.Unseen > (long)old.Unseen + arrivedUnseenMax)
        {
            events.Add(factory.Create(MailEventType.FlagsClear, name, delimiter, now.UidValidity, "count:" + transition, totals,
                flagNames: ["\\Seen"], spam: junk));
        }
        return events;
    }
}

/// <summary>A new message whose UID the watcher learned (selected mailbox).</summary>
public sealed record NewUid(uint Uid, long? Size = null, string? From = null, string? Subject = null, bool Junk = false, bool Seen = false);
