using System.Text.Json;
using System.Text.Json.Serialization;

namespace Aggregators.EventModel.Json;

/// <summary>
/// Source-generated System.Text.Json context for the event model's wire types, for callers that
/// serialize through a context (ASP.NET Core minimal APIs, other DTOs): <see cref="MailEvent"/>
/// (its [JsonConverter] is <see cref="MailEventJsonConverter"/>, i.e. the hand-written codec) and the ingest
/// reply pieces (<see cref="EventError"/>). AOT-safe: no reflection-based serialization.
/// </summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(MailEvent))]
[JsonSerializable(typeof(MailEvent[]))]
[JsonSerializable(typeof(List<MailEvent>))]
[JsonSerializable(typeof(EventError))]
[JsonSerializable(typeof(EventError[]))]
[JsonSerializable(typeof(List<EventError>))]
public sealed partial class MailEventJsonContext : JsonSerializerContext;

/// <summary>
/// Lets System.Text.Json (de)serialize <see cref="MailEvent"/> with the codec of docs/events.md.
/// Reading throws <see cref="JsonException"/> with the field and reason of an invalid event.
/// </summary>
public sealed class MailEventJsonConverter : JsonConverter<MailEvent>
{
    public override MailEvent? Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        // The codec needs the event's bytes in one span (vendor values are kept verbatim);
        // a converter may see a segmented reader, so copy the value out first.
        using var document = JsonDocument.ParseValue(ref reader);
        var bytes = System.Text.Encoding.UTF8.GetBytes(document.RootElement.GetRawText());
        if (MailEventJson.TryDecode(bytes, 0, out var mailEvent, out var error))
        {
            return mailEvent;
        }
        throw new JsonException(error!.Field is null ? error.Message : $"{error.Field}: {error.Message}");
    }

    public override void Write(Utf8JsonWriter writer, MailEvent value, JsonSerializerOptions options) =>
        MailEventJson.Write(writer, value);
}
