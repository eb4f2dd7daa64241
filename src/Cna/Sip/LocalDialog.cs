using System.Net;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transport;

namespace Aggregators.Cna.Sip;

/// <summary>A NOTIFY body for a local subscriber.</summary>
internal sealed record LocalState(string ContentType, ReadOnlyMemory<byte> Body);

/// <summary>
/// One local subscriber's dialog (the CNA is its notifier, RFC 6665 §4.2): the SIP dialog, where
/// NOTIFYs go (the SUBSCRIBE's flow), and the NOTIFY queue (<see cref="NotifyQueue{TState}"/>).
/// Fields are guarded by <see cref="Gate"/>.
/// </summary>
internal sealed class LocalDialog(SipDialog dialog, string package, string user, ISipTransport transport, IPEndPoint remote)
{
    public Lock Gate { get; } = new();
    public SipDialog Dialog { get; } = dialog;
    public string Package { get; } = package;

    /// <summary>The authenticated local user.</summary>
    public string User { get; } = user;

    public ISipTransport Transport { get; } = transport;
    public IPEndPoint Remote { get; } = remote;

    /// <summary>TCP/TLS: the dialog's connection, pinned while the dialog lives, and where NOTIFYs go when the subscriber closed it.</summary>
    public SipDialogFlow? Flow { get; set; }
    public (string CallId, string LocalTag, string RemoteTag) Key => (Dialog.Id.CallId, Dialog.Id.LocalTag, Dialog.Id.RemoteTag);

    public UpstreamSubscription? Upstream { get; set; }
    public DateTimeOffset Expires { get; set; }
    public ITimer? ExpiryTimer { get; set; }

    /// <summary>The NOTIFY queue, held until the 200 to the SUBSCRIBE went out (§4.2.1.2: the NOTIFY follows it); a field: it is a mutable struct.</summary>
    public NotifyQueue<LocalState?> Queue = new(held: true);

    public string? TerminateReason => Queue.TerminateReason;
    public bool Ended => Queue.Ended;
}
