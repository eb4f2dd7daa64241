using System.Security.Cryptography;
using System.Text;
using Aggregators.EventModel;

namespace Aggregators.ImapBridge.Translation;

/// <summary>
/// Deterministic event ids (docs/events.md "id"): the same change seen again after a crash or a
/// reconnect gets the same id, so the PNA's duplicate filter drops the repeat.
/// The id is <c>ib1-</c> plus 32 hex digits of SHA-256 over (account, mailbox, uidvalidity, event type,
/// key), where the key says what the event is about: the uidset for MessageNew/MessageExpunge by UID,
/// the MODSEQ (RFC 7162) of a flag change, else the account's delivery generation
/// (<see cref="EventFactory.GenerationKey"/>) with the flags, the count transition or the old name
/// (docs/ingest.md "How the IMAP bridge makes its ids"). Fixed length, printable ASCII, no spaces,
/// whatever the mailbox name.
/// </summary>
public static class EventIds
{
    public const string Prefix = "ib1-";

    public static string Create(string account, string mailbox, uint uidValidity, MailEventType type, string key)
    {
        var text = string.Join('\0', account, mailbox, uidValidity.ToString(System.Globalization.CultureInfo.InvariantCulture), type.ToRfcName(), key);
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return Prefix + Convert.ToHexStringLower(hash[..16]);
    }
}
