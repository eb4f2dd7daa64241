using System.Net;
using Aggregators.Pna.Subscriptions;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// One subscription's dialog and its NOTIFY queue (<see cref="NotifyQueue{TState}"/>, RFC 6665
/// §4.2.2). All fields are guarded by <see cref="Gate"/>.
/// </summary>
internal sealed class NotifierDialog(SipDialogState state, ISipTransport transport)
{
    public Lock Gate { get; } = new();

    public SipDialogState State { get; } = state;

    public ISipTransport Transport { get; } = transport;

    public IPEndPoint Remote { get; set; } = state.RemoteEndPoint;

    /// <summary>TCP/TLS: the dialog's connection, pinned while the dialog lives, and where NOTIFYs go when the subscriber closed it.</summary>
    public SipDialogFlow? Flow { get; set; }

    public Subscription? Subscription { get; set; }

    /// <summary>The dialog's NOTIFY queue (one in flight, newest pending, held until the 200, final last); a field: it is a mutable struct.</summary>
    public NotifyQueue<Notification?> Queue;

    public bool Ended => Queue.Ended;

    public string? TerminateReason => Queue.TerminateReason;

    public ITimer? ExpiryTimer { get; set; }

    /// <summary>The parts of every NOTIFY that do not change between NOTIFYs of this dialog (see <see cref="NotifyHeaders"/>).</summary>
    public NotifyHeaders? Headers { get; set; }

    /// <summary>UDP: the dialog's NOTIFY parts as bytes (see <see cref="NotifyDatagramParts"/>), rebuilt with <see cref="Headers"/>.</summary>
    public NotifyDatagramParts? Datagram { get; set; }

    /// <summary>UDP: the reusable client transaction of the dialog's NOTIFYs (one in flight, RFC 6665 §4.2.2); given back when the dialog ends.</summary>
    public Aggregators.Sip.Transactions.SipClientTransactionSlot? Slot { get; set; }

    /// <summary>UDP: <see cref="Remote"/> in socket form, made once.</summary>
    public System.Net.SocketAddress? RemoteAddress { get; set; }

    /// <summary>UDP: whether the NOTIFY in flight is the final one.</summary>
    public bool FinalInFlight { get; set; }

    /// <summary>UDP: told when the slot's NOTIFY transaction ends (one object per dialog).</summary>
    public Aggregators.Sip.Transactions.ISipClientSlotUser? SlotUser { get; set; }

    /// <summary>The dialog's CSeq reservations (made at its first NOTIFY in this process; see <see cref="SipNotifier"/>'s NextCSeq).</summary>
    public SequenceWindow? CSeqs { get; set; }

        public (string, string, string) Key => (State.CallId, State.LocalTag, State.RemoteTag);
}

/// <summary>
/// A dialog's constant NOTIFY parts, built once instead of per NOTIFY: the parsed remote target
/// (re-parsed only after a target refresh changes <see cref="SipDialogState.RemoteTarget"/>) and
/// the Via prefix and the From, To, Call-ID, Contact and Event values as the bytes sent. The request URI is shared between NOTIFYs
/// and only ever read.
/// </summary>
internal sealed record NotifyHeaders(string RemoteTarget, Aggregators.Sip.SipUri Target, byte[] ViaPrefix, byte[] From, byte[] To, byte[] CallId, byte[] Contact, byte[] Event, MessageSummaryBytes? Summary);
