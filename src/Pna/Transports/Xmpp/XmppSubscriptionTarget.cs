using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Aggregators.Xmpp;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Where an XMPP pubsub subscription delivers: the subscribed JID (bare or full, XEP-0060
/// §6.1.1 'jid'), the account's service JID it subscribed at, and the node. Persisted as the
/// subscription's TransportState (JSON) so a restarted PNA resumes it.
/// </summary>
public sealed record XmppSubscriptionTarget(Jid Subscriber, Jid Service, string Node)
{
    public string ToState()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jid", Subscriber.ToString());
            w.WriteString("service", Service.ToString());
            w.WriteString("node", Node);
            w.WriteEndObject();
        }
        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    public static bool TryFromState(string? state, [NotNullWhen(true)] out XmppSubscriptionTarget? target)
    {
        target = null;
        if (string.IsNullOrEmpty(state))
        {
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(state);
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object
                || !root.TryGetProperty("jid", out var jid) || jid.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("service", out var service) || service.ValueKind != JsonValueKind.String
                || !root.TryGetProperty("node", out var node) || node.ValueKind != JsonValueKind.String
                || !Jid.TryParse(jid.GetString(), out var subscriber) || !Jid.TryParse(service.GetString(), out var serviceJid))
            {
                return false;
            }
            target = new XmppSubscriptionTarget(subscriber, serviceJid, node.GetString()!);
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }
}
