using System.Net;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Transport;

namespace Aggregators.Cna.Sip;

/// <summary>A NOTIFY body for a local subscriber.</summary>
internal sealed record LocalState(string ContentType, ReadOnlyMemory<byte> Body);

/// <summary>
/// One local subscriber's dialog (the CNA is its notifier, RFC 6665 §4.2): the SIP dialog, where
/// NOTIFYs go (the SUBSCRIBE's flow), and the NOTIFY queue: at most one in flight, later states
/// collapse into one pending (RFC 3842 §6's rate limit), so NOTIFYs of one dialog never overtake.
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

    /// <summary>The newest state (a refresh or the final NOTIFY sends it again).</summary>
    public LocalState? Latest { get; set; }

    public LocalState? Pending { get; set; }
    public bool InFlight { get; set; }

    /// <summary>True until the 200 to the SUBSCRIBE went out (§4.2.1.2: the NOTIFY follows it).</summary>
    public bool Held { get; set; } = true;

    public string? TerminateReason { get; set; }
    public bool Ended { get; set; }
}
