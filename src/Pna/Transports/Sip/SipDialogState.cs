using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// The notifier's side of one subscription dialog (RFC 3261 §12, RFC 6665 §4.1.2), persisted as
/// JSON in <see cref="Subscriptions.Subscription.TransportState"/> so NOTIFYs resume after a
/// restart. <see cref="CSeqReserved"/> is the highest local CSeq that may have been used: CSeqs
/// are reserved in blocks and the block is stored before it is used, so a restarted PNA never
/// repeats one (RFC 3261 §12.2.1.1 needs them to increase) without a store write per NOTIFY.
/// </summary>
public sealed record SipDialogState
{
    public required string CallId { get; init; }
    public required string LocalTag { get; init; }
    public required string RemoteTag { get; init; }

    /// <summary>Our URI (the SUBSCRIBE's To, without tag): From of every NOTIFY.</summary>
    public required string LocalUri { get; init; }

    /// <summary>The subscriber's URI (the SUBSCRIBE's From, without tag): To of every NOTIFY.</summary>
    public required string RemoteUri { get; init; }

    /// <summary>The subscriber's Contact: Request-URI of every NOTIFY (RFC 3261 §12.2.1.1).</summary>
    public required string RemoteTarget { get; set; }

    /// <summary>Record-Route of the SUBSCRIBE, in order (RFC 3261 §12.1.1).</summary>
    public List<string> RouteSet { get; init; } = [];

    /// <summary>The Event header's package and id (RFC 6665 §8.2.1).</summary>
    public required string Event { get; init; }
    public string? EventId { get; init; }

    /// <summary>udp, tcp or tls: the transport the SUBSCRIBE came over, used for NOTIFYs.</summary>
    public required string Transport { get; init; }

    /// <summary>Where the SUBSCRIBE came from (the flow NOTIFYs go back over).</summary>
    public required string Remote { get; set; }

    /// <summary>The message-summary Message-Account (the subscribed AOR).</summary>
    public string? Account { get; init; }

    public uint CSeq { get; set; }
    public uint CSeqReserved { get; set; }
    public uint? RemoteCSeq { get; set; }

    [JsonIgnore]
    public IPEndPoint RemoteEndPoint => IPEndPoint.Parse(Remote);

    public string ToJson() => JsonSerializer.Serialize(this, SipDialogStateJson.Default.SipDialogState);

    public static SipDialogState? FromJson(string? json)
    {
        if (string.IsNullOrEmpty(json))
        {
            return null;
        }
        try
        {
            var s = JsonSerializer.Deserialize(json, SipDialogStateJson.Default.SipDialogState);
            return s is not null && IPEndPoint.TryParse(s.Remote, out _) ? s : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SipDialogState))]
internal sealed partial class SipDialogStateJson : JsonSerializerContext;
