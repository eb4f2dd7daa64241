using System.Net;
using Aggregators.Sip;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Transports.Sip;

public sealed partial class SipNotifier
{
    /// <summary>
    /// TCP/TLS: gives the dialog its <see cref="SipDialogFlow"/>: the connection the SUBSCRIBE came
    /// on is pinned (not idle-closed) while the subscription lives, and when the subscriber has
    /// closed it, NOTIFYs open a connection to the dialog's next hop (RFC 3261 §12.2.1.1).
    /// </summary>
    private void AttachFlow(NotifierDialog dialog)
    {
        if (dialog.Transport is not SipStreamTransport stream || dialog.Flow is not null)
        {
            return;
        }
        var state = dialog.State;
        dialog.Flow = new SipDialogFlow(stream, dialog.Remote, () => NextHop(state), remote => OnFlowMoved(dialog, remote), _logger);
    }

    /// <summary>RFC 3261 §12.2.1.1: the first Route of the route set, else the remote target (the Contact).</summary>
    private static SipUri NextHop(SipDialogState state) =>
        state.RouteSet.Count > 0 ? SipNameAddress.Parse(state.RouteSet[0]).Uri : SipUri.Parse(state.RemoteTarget);

    /// <summary>NOTIFYs now go over a new connection: remembered, and stored for a restart.</summary>
    private void OnFlowMoved(NotifierDialog dialog, IPEndPoint remote)
    {
        string json;
        lock (dialog.Gate)
        {
            if (dialog.Ended)
            {
                return;
            }
            dialog.Remote = remote;
            dialog.State.Remote = remote.ToString();
            json = dialog.State.ToJson();
        }
        if (dialog.Subscription is { } subscription)
        {
            _host.UpdateTransportState(subscription.Id, json);
        }
    }
}
