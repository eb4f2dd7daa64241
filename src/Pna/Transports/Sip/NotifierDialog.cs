using System.Net;
using Aggregators.Pna.Subscriptions;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// One subscription's dialog and its NOTIFY queue (RFC 6665 §4.2.2): at most one NOTIFY in
/// flight; states arriving meanwhile collapse into one pending latest state (RFC 3842 §6's rate
/// rule), sent when the previous transaction completes, so the last state always goes out and
/// NOTIFYs never overtake each other. All fields are guarded by <see cref="Gate"/>.
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

    /// <summary>Before the 200 to the SUBSCRIBE went out: NOTIFYs wait (the 200 goes first).</summary>
    public bool Held { get; set; }

    public bool InFlight { get; set; }

    /// <summary>The latest state not yet sent.</summary>
    public Notification? Pending { get; set; }

    /// <summary>The latest state known (sent or pending): the body of refresh and final NOTIFYs.</summary>
    public Notification? Latest { get; set; }

    /// <summary>Set when the subscription is ending: the RFC 6665 §4.1.3 reason of the final NOTIFY.</summary>
    public string? TerminateReason { get; set; }

    /// <summary>The final NOTIFY has been sent (or the subscription ended without one).</summary>
    public bool Ended { get; set; }

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

    public (string, string, string) Key => (State.CallId, State.LocalTag, State.RemoteTag);
}

/// <summary>
/// A dialog's constant NOTIFY parts, built once instead of per NOTIFY: the parsed remote target
/// (re-parsed only after a target refresh changes <see cref="SipDialogState.RemoteTarget"/>) and
/// the Via prefix and the From, To, Call-ID, Contact and Event values as the bytes sent. The request URI is shared between NOTIFYs
/// and only ever read.
/// </summary>
internal sealed record NotifyHeaders(string RemoteTarget, Aggregators.Sip.SipUri Target, byte[] ViaPrefix, byte[] From, byte[] To, byte[] CallId, byte[] Contact, byte[] Event, MessageSummaryBytes? Summary);
