namespace Aggregators.EventModel;

/// <summary>
/// The counts that make one notification enough to know the truth about a mailbox (our addition
/// to RFC 5423: every mailbox event we emit carries them). Same meaning as the IMAP STATUS items
/// MESSAGES, UNSEEN, UIDNEXT and UIDVALIDITY (RFC 3501 §6.3.10).
/// </summary>
public readonly record struct MailboxTotals(uint Messages, uint Unseen, uint UidNext, uint UidValidity)
{
    public override string ToString() =>
        $"messages={Messages} unseen={Unseen} uidnext={UidNext} uidvalidity={UidValidity}";
}
