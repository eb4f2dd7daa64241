using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>The PNA's side of <see cref="PubsubSubscribeOptions"/>: the options a stored subscription was made with.</summary>
internal static class SubscribeOptionsExtensions
{
    public static PubsubSubscribeOptions ToSubscribeOptions(this SubscriptionFilter filter)
    {
        ArgumentNullException.ThrowIfNull(filter);
        return new PubsubSubscribeOptions(filter.Depth, filter.Events, filter.Heartbeat);
    }
}
