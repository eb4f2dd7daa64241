using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Aggregators.Xmpp;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Where an XMPP pubsub subscription delivers: the subscribed JID (bare or full, XEP-0060
/// §6.1.1 'jid'), the account's service JID it subscribed at, and the node. Persisted as the
/// subscription's TransportState (JSON) so a restarted PNA resumes it, with the sequence numbers
/// reserved so far (<c>seq</c>, see <see cref="SequenceWindow"/>).
/// </summary>
public sealed record XmppSubscriptionTarget(Jid Subscriber, Jid Service, string Node)
{
    /// <param name="reservedSequence">The highest wire sequence number that may have been sent (0: none; not written).</param>
    public string ToState(long reservedSequence = 0)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("jid", Subscriber.ToString());
            w.WriteString("service", Service.ToString());
            w.WriteString("node", Node);
            if (reservedSequence > 0)
            {
                w.WriteNumber("seq", reservedSequence);
            }
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

    /// <summary>The <c>seq</c> reservation of a stored state; 0 when absent or unreadable.</summary>
    public static long ReservedSequenceOf(string? state)
    {
        if (string.IsNullOrEmpty(state))
        {
            return 0;
        }
        try
        {
            using var doc = JsonDocument.Parse(state);
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("seq", out var seq) && seq.ValueKind == JsonValueKind.Number && seq.TryGetInt64(out var value) && value > 0 ? value : 0;
        }
        catch (JsonException)
        {
            return 0;
        }
    }
}
