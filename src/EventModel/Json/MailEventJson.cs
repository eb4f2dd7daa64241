using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Aggregators.EventModel.Json;

/// <summary>What is wrong with one event of a batch: its 0-based index, the JSON field, and why.</summary>
/// <param name="Index">0-based position of the event in the batch (array element or NDJSON line).</param>
/// <param name="Field">The field path, e.g. <c>totals.unseen</c>; null when the event as a whole is bad.</param>
/// <param name="Message">Why, in words an admin understands.</param>
public sealed record EventError(int Index, string? Field, string Message)
{
    public override string ToString() =>
        Field is null ? $"event {Index}: {Message}" : $"event {Index}, {Field}: {Message}";
}

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
    /// Set when the body could not be framed past some point (a JSON array broken mid-way), or
    /// when it holds more events than allowed: events before it are in
    /// <see cref="Events"/>/<see cref="Errors"/>, nothing after was read.
    /// <see cref="EventError.Index"/> is the index of the first event not decoded.
    /// </summary>
    public EventError? FramingError { get; set; }
}

/// <summary>
/// JSON codec for <see cref="MailEvent"/>; the wire format is docs/events.md.
/// Decoding is a hand-written <see cref="Utf8JsonReader"/> pass (see MailEventDecoder for why);
/// <see cref="MailEventJsonContext"/> is the source-generated System.Text.Json context that
/// exposes this codec to serializer-based callers. No reflection anywhere.
/// </summary>
public static class MailEventJson
{
    /// <summary>Largest accepted event object, in bytes of UTF-8 JSON.</summary>
    public const int MaxEventBytes = MailEventDecoder.MaxEventBytes;

    /// <summary>Largest accepted string value in UTF-8 bytes (messageContent: <see cref="MaxMessageContentBytes"/>).</summary>
    public const int MaxStringBytes = MailEventDecoder.MaxStringBytes;

    public const int MaxMessageContentBytes = MailEventDecoder.MaxMessageContentBytes;

    /// <summary>Decodes one event object. On failure <paramref name="error"/> names the field and why.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8Json, int index, out MailEvent? mailEvent, out EventError? error)
    {
        mailEvent = null;
        if (utf8Json.Length > MaxEventBytes)
        {
            error = new EventError(index, null, $"the event is {utf8Json.Length} bytes long; at most {MaxEventBytes / 1024 / 1024} MiB is accepted");
            return false;
        }
        utf8Json = SkipBom(utf8Json);
        var reader = new Utf8JsonReader(utf8Json, MailEventDecoder.ReaderOptions);
        try
        {
            if (utf8Json.Trim(" \t\r\n"u8).IsEmpty)
            {
                error = new EventError(index, null, "the event is empty; expected a JSON object");
                return false;
            }
            reader.Read();
            var ok = MailEventDecoder.TryRead(ref reader, utf8Json, index, out mailEvent, out error);
            // Anything but whitespace after the value makes the reader throw: a syntax error
            // outranks what was wrong with the event's content.
            reader.Read();
            return ok;
        }
        catch (JsonException ex)
        {
            mailEvent = null;
            error = new EventError(index, null, SyntaxMessage(ex, utf8Json));
            return false;
        }
    }

    /// <summary>
    /// Checks an event object as <see cref="TryDecode"/> checks the JSON <see cref="Encode"/> writes for it,
    /// without the JSON: the same rules in the same order, the same <paramref name="error"/>, and the same
    /// normalised event in <paramref name="normalised"/> (IMAP URLs normalised, the mailbox taken from an
    /// IMAP URL when absent). The in-process ingest's check, so it judges an event as HTTP ingest does.
    /// </summary>
    public static bool TryValidate(MailEvent mailEvent, int index, out MailEvent? normalised, out EventError? error)
    {
        ArgumentNullException.ThrowIfNull(mailEvent);
        return MailEventDecoder.TryValidate(mailEvent, index, out normalised, out error);
    }

    /// <summary>
    /// Decodes a batch; each bad event is reported and skipped, never fatal to the rest.
    /// At most <paramref name="maxEvents"/> events are read; if the body holds more,
    /// <see cref="DecodedBatch.FramingError"/> says so and the rest is not read (docs/events.md).
    /// </summary>
    public static DecodedBatch DecodeBatch(ReadOnlySpan<byte> body, BatchFormat format, int maxEvents)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        var batch = new DecodedBatch();
        body = SkipBom(body);
        if (format == BatchFormat.NdJson)
        {
            DecodeNdJson(body, maxEvents, batch);
        }
        else
        {
            DecodeArray(body, maxEvents, batch);
        }
        return batch;
    }

    // NDJSON: one event per line (LF or CRLF); blank lines are ignored and do not count as events.
    private static void DecodeNdJson(ReadOnlySpan<byte> body, int maxEvents, DecodedBatch batch)
    {
        var index = 0;
        var offset = 0;
        while (offset < body.Length)
        {
            var rest = body[offset..];
            var newline = rest.IndexOf((byte)'\n');
            var line = newline < 0 ? rest : rest[..newline];
            var lineStart = offset;
            offset += newline < 0 ? rest.Length : newline + 1;
            if (line.EndsWith("\r"u8))
            {
                line = line[..^1];
            }
            if (line.TrimStart(" \t\r"u8).IsEmpty)
            {
                continue;
            }
            if (index == maxEvents)
            {
                batch.FramingError = new EventError(index, null,
                    $"the batch holds more than {maxEvents} events; reading stopped at byte {lineStart}, and events from index {maxEvents} on were not read");
                return;
            }
            if (TryDecode(line, index, out var mailEvent, out var error))
            {
                batch.Events.Add((index, mailEvent!));
            }
            else
            {
                batch.Errors.Add(error!);
            }
            index++;
        }
    }

    private static void DecodeArray(ReadOnlySpan<byte> body, int maxEvents, DecodedBatch batch)
    {
        var reader = new Utf8JsonReader(body, MailEventDecoder.ReaderOptions);
        var index = 0;
        try
        {
            if (body.Trim(" \t\r\n"u8).IsEmpty)
            {
                batch.FramingError = new EventError(0, null, "the body is empty; expected a JSON array of events");
                return;
            }
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartArray)
            {
                batch.FramingError = new EventError(0, null,
                    $"the body must be a JSON array of events, not {MailEventDecoder.Describe(reader.TokenType)} (send a single event as [{{...}}] or use NDJSON)");
                return;
            }
            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            {
                var start = reader.TokenStartIndex;
                if (index == maxEvents)
                {
                    batch.FramingError = new EventError(index, null,
                        $"the batch holds more than {maxEvents} events; reading stopped at byte {start}, and events from index {maxEvents} on were not read");
                    return;
                }
                var ok = MailEventDecoder.TryRead(ref reader, body, index, out var mailEvent, out var error);
                if (reader.BytesConsumed - start > MaxEventBytes)
                {
                    ok = false;
                    error = new EventError(index, null, $"the event is {reader.BytesConsumed - start} bytes long; at most {MaxEventBytes / 1024 / 1024} MiB is accepted");
                }
                if (ok)
                {
                    batch.Events.Add((index, mailEvent!));
                }
                else
                {
                    batch.Errors.Add(error!);
                }
                index++;
            }
            reader.Read(); // throws on anything but whitespace after the array
        }
        catch (JsonException ex)
        {
            batch.FramingError = new EventError(index, null,
                $"the JSON array is broken at event {index}, after byte {reader.BytesConsumed}: {Describe(ex, body)}; nothing after it was read");
        }
    }

    /// <summary>Writes one event as a JSON object (strict form: RFC spellings, IMAP URLs normalised).</summary>
    public static void Write(Utf8JsonWriter writer, MailEvent mailEvent)
    {
        ArgumentNullException.ThrowIfNull(writer);
        ArgumentNullException.ThrowIfNull(mailEvent);
        MailEventEncoder.Write(writer, mailEvent);
    }

    [ThreadStatic]
    private static (ArrayBufferWriter<byte> Buffer, Utf8JsonWriter Writer)? t_encoder;

    /// <summary>The writer options <see cref="Encode"/> uses: compact, non-ASCII left unescaped.</summary>
    public static JsonWriterOptions WriterOptions { get; } = new()
    {
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, // the output is a JSON body, never HTML
        Indented = false,
        SkipValidation = true,
    };

    /// <summary>One event as UTF-8 JSON.</summary>
    public static byte[] Encode(MailEvent mailEvent)
    {
        ArgumentNullException.ThrowIfNull(mailEvent);
        var (buffer, writer) = t_encoder ??= CreateEncoder();
        buffer.ResetWrittenCount();
        writer.Reset(buffer);
        MailEventEncoder.Write(writer, mailEvent);
        writer.Flush();
        var bytes = buffer.WrittenSpan.ToArray();
        if (buffer.Capacity > 256 * 1024)
        {
            t_encoder = null; // do not keep a huge buffer alive per thread
        }
        return bytes;
    }

    private static (ArrayBufferWriter<byte>, Utf8JsonWriter) CreateEncoder()
    {
        var buffer = new ArrayBufferWriter<byte>(1024);
        return (buffer, new Utf8JsonWriter(buffer, WriterOptions));
    }

    // A UTF-8 byte order mark is tolerated at the start (RFC 8259 §8.1 lets parsers ignore it).
    private static ReadOnlySpan<byte> SkipBom(ReadOnlySpan<byte> utf8) =>
        utf8.StartsWith("\uFEFF"u8) ? utf8[3..] : utf8;

    private static string SyntaxMessage(JsonException ex, ReadOnlySpan<byte> input) =>
        $"not valid JSON: {Describe(ex, input)}";

    private static string Describe(JsonException ex, ReadOnlySpan<byte> input)
    {
        var message = ex.Message;
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        if (cut > 0)
        {
            message = message[..cut];
        }
        var where = ex.LineNumber is 0 or null
            ? $"at byte {ex.BytePositionInLine + 1}"
            : $"at line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1}";
        if (IsAtEnd(ex, input) || message.Contains("reached end of data", StringComparison.Ordinal))
        {
            return $"the JSON text ends in the middle of a value or object (truncated?) {where}";
        }
        if (message.Contains("depth", StringComparison.OrdinalIgnoreCase) && message.Contains("maximum", StringComparison.OrdinalIgnoreCase))
        {
            return $"nested deeper than {MailEventDecoder.ReaderMaxDepth} levels {where}";
        }
        return $"{message.TrimEnd('.')} ({where})";
    }

    // True when the reader failed at the very end of the input: the text was cut short.
    private static bool IsAtEnd(JsonException ex, ReadOnlySpan<byte> input)
    {
        if (ex.LineNumber is not { } line || ex.BytePositionInLine is not { } column)
        {
            return false;
        }
        var lastLineStart = input.LastIndexOf((byte)'\n') + 1;
        var lines = input.Count((byte)'\n');
        return line == lines && column >= input.Length - lastLineStart;
    }
}
