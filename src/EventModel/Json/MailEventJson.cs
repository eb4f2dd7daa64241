namespace Aggregators.EventModel.Json;

/// <summary>What is wrong with one event of a batch: its 0-based index, the JSON field, and why.</summary>
/// <param name="Index">0-based position of the event in the batch (array element or NDJSON line).</param>
/// <param name="Field">The field path, e.g. <c>totals.unseen</c>; null when the event as a whole is bad.</param>
/// <param name="Message">Why, in words an admin understands.</param>
public sealed record EventError(int Index, string? Field, string Message);

/// <summary>How a batch body is framed.</summary>
public enum BatchFormat
{
    /// <summary>One JSON array of event objects (application/json).</summary>
    JsonArray,

    /// <summary>One event object per line (application/x-ndjson).</summary>
    NdJson,
}

/// <summary>The outcome of decoding a batch: good events with their index, and one error per bad one.</summary>
public sealed class DecodedBatch
{
    public List<(int Index, MailEvent Event)> Events { get; } = [];
    public List<EventError> Errors { get; } = [];

    /// <summary>
    /// Set when the body could not be framed past some point (a JSON array broken mid-way):
    /// events before it are in <see cref="Events"/>/<see cref="Errors"/>, nothing after was read.
    /// </summary>
    public EventError? FramingError { get; set; }
}

/// <summary>
/// JSON codec for <see cref="MailEvent"/> (docs/events.md). STUB: signatures are the contract;
/// the implementation lands with the EventModel work.
/// </summary>
public static class MailEventJson
{
    /// <summary>Decodes one event object. On failure <paramref name="error"/> names the field and why.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8Json, int index, out MailEvent? mailEvent, out EventError? error) =>
        throw new NotImplementedException();

    /// <summary>Decodes a batch; each bad event is reported and skipped, never fatal to the rest.</summary>
    public static DecodedBatch DecodeBatch(ReadOnlySpan<byte> body, BatchFormat format, int maxEvents) =>
        throw new NotImplementedException();

    /// <summary>Writes one event as a JSON object (strict form: RFC spellings, IMAP URLs normalised).</summary>
    public static void Write(System.Text.Json.Utf8JsonWriter writer, MailEvent mailEvent) =>
        throw new NotImplementedException();

    /// <summary>One event as UTF-8 JSON.</summary>
    public static byte[] Encode(MailEvent mailEvent) => throw new NotImplementedException();
}
