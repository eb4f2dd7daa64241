namespace Aggregators.MailWatch.Model;

/// <summary>Why a count arrived: what the notifier said it was, or our own IMAP check.</summary>
public enum UpdateKind
{
    /// <summary>Current totals right after subscribing (XMPP last item, SIP first NOTIFY).</summary>
    Initial,

    /// <summary>An RFC 5423 event with the totals after it.</summary>
    Event,

    /// <summary>The notifier repeated the totals because nothing else was sent for the heartbeat interval.</summary>
    Heartbeat,

    /// <summary>Totals read on request (XEP-0060 items), not pushed.</summary>
    Current,
}

/// <summary>One mailbox's counts as a notification carried them (the mailbox path uses <c>/</c>, docs/events.md).</summary>
public sealed record MailboxUpdate(string Mailbox, uint Messages, uint Unseen, uint? UidNext, uint? UidValidity, UpdateKind Kind, string? EventType = null);

/// <summary>Counts read out of band with IMAP STATUS (RFC 3501 §6.3.10), the model's third reliability option.</summary>
public sealed record ImapCounts(string Mailbox, uint Messages, uint Unseen, uint? UidNext, DateTimeOffset At);
