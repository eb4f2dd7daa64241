using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aggregators.EventModel.Json;
using Aggregators.Pna.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Aggregators.Pna.Ingest;

/// <summary>
/// POST /v1/events (docs/ingest.md): authenticate, check media type and size, decode the batch
/// with the event model's codec, queue the good events, answer what happened to each bad one.
/// </summary>
public sealed class IngestEndpoint
{
    public const string Path = "/v1/events";

    /// <summary>Responses are JSON bodies, never embedded in HTML: quotes and apostrophes stay legible.</summary>
    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly IngestTokens _tokens;
    private readonly EventIngest _ingest;
    private readonly IngestOptions _options;

    public IngestEndpoint(IngestTokens tokens, EventIngest ingest, IOptions<PnaOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _tokens = tokens;
        _ingest = ingest;
        _options = options.Value.Ingest;
    }

    public async Task HandleAsync(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var request = context.Request;
        var response = context.Response;

        // RFC 6750 §3: an unauthenticated request gets 401 with a Bearer challenge and no hint
        // about which tokens exist.
        var source = _tokens.Authenticate(IngestTokens.BearerToken(request.Headers.Authorization));
        if (source is null)
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"pna\"";
            await WriteErrorAsync(response, StatusCodes.Status401Unauthorized, "missing or invalid bearer token").ConfigureAwait(false);
            return;
        }

        if (!TryGetFormat(request.ContentType, out var format))
        {
            await WriteErrorAsync(response, StatusCodes.Status415UnsupportedMediaType,
                "Content-Type must be application/x-ndjson, application/jsonl or application/json").ConfigureAwait(false);
            return;
        }

        if (!_ingest.Accepting)
        {
            await WriteUnavailableAsync(response, "the PNA is shutting down").ConfigureAwait(false);
            return;
        }

        // Our own limit replaces Kestrel's default, so MaxBodyBytes may be larger or smaller.
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }
        var max = _options.MaxBodyBytes;
        if (request.ContentLength > max)
        {
            await WriteTooLargeAsync(response, max).ConfigureAwait(false);
            return;
        }

        var initial = (int)Math.Min(request.ContentLength ?? 64 * 1024, max + 1);
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(initial, 4096));
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    if (length > max)
                    {
                        break;
                    }
                    var bigger = ArrayPool<byte>.Shared.Rent((int)Math.Min((long)buffer.Length * 2, max + 1));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }
                var read = await request.Body.ReadAsync(buffer.AsMemory(length), context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                length += read;
                if (length > max)
                {
                    break; // stop reading: the body is too large, whatever follows
                }
            }
            if (length > max)
            {
                await WriteTooLargeAsync(response, max).ConfigureAwait(false);
                return;
            }

            var batch = Decode(buffer.AsSpan(0, length), format);
            if (batch.Events.Count == 0 && batch.Errors.Count == 0 && batch.FramingError is null)
            {
                await WriteErrorAsync(response, StatusCodes.Status400BadRequest, "the body contains no events").ConfigureAwait(false);
                return;
            }
            var result = await _ingest.AcceptAsync(batch, source, context.RequestAborted).ConfigureAwait(false);
            await WriteResultAsync(response, result).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private DecodedBatch Decode(ReadOnlySpan<byte> body, BatchFormat format)
    {
        if (format == BatchFormat.JsonArray && FirstNonWhitespace(body) == (byte)'{')
        {
            // application/json with one object instead of an array: a batch of one.
            var single = new DecodedBatch();
            if (MailEventJson.TryDecode(body, 0, out var e, out var error) && e is not null)
            {
                single.Events.Add((0, e));
            }
            else
            {
                single.Errors.Add(error ?? new EventError(0, null, "event is invalid"));
            }
            return single;
        }
        return MailEventJson.DecodeBatch(body, format, _options.MaxEventsPerRequest);
    }

    private static byte FirstNonWhitespace(ReadOnlySpan<byte> body)
    {
        foreach (var b in body)
        {
            if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
            {
                return b;
            }
        }
        return 0;
    }

    internal static bool TryGetFormat(string? contentType, out BatchFormat format)
    {
        format = default;
        if (!MediaTypeHeaderValue.TryParse(contentType, out var media) || media.MediaType.Value is not { } type)
        {
            return false;
        }
        if (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase))
        {
            return false; // JSON text is UTF-8 (RFC 8259 §8.1)
        }
        if (type.Equals("application/x-ndjson", StringComparison.OrdinalIgnoreCase) ||
            type.Equals("application/jsonl", StringComparison.OrdinalIgnoreCase))
        {
            format = BatchFormat.NdJson;
            return true;
        }
        if (type.Equals("application/json", StringComparison.OrdinalIgnoreCase))
        {
            format = BatchFormat.JsonArray;
            return true;
        }
        return false;
    }

    private async Task WriteResultAsync(HttpResponse response, IngestResult result)
    {
        switch (result.Status)
        {
            case IngestStatus.Busy:
                await WriteUnavailableAsync(response, "the dispatch queue is full; nothing from this request was accepted, retry later").ConfigureAwait(false);
                return;
            case IngestStatus.ShuttingDown:
                await WriteUnavailableAsync(response, "the PNA is shutting down; nothing from this request was accepted").ConfigureAwait(false);
                return;
        }
        var accepted = result.Status == IngestStatus.Accepted;
        response.StatusCode = accepted ? StatusCodes.Status202Accepted : StatusCodes.Status400BadRequest;
        response.ContentType = "application/json";
        var output = new ArrayBufferWriter<byte>(256 + (result.Rejected.Count * 96));
        using (var w = new Utf8JsonWriter(output, WriterOptions))
        {
            w.WriteStartObject();
            if (!accepted)
            {
                w.WriteString("error", "no event was accepted");
            }
            w.WriteNumber("accepted", result.Accepted);
            w.WriteNumber("duplicates", result.Duplicates);
            w.WriteStartArray("rejected");
            foreach (var r in result.Rejected)
            {
                w.WriteStartObject();
                w.WriteNumber("index", r.Index);
                if (r.Field is null)
                {
                    w.WriteNull("field");
                }
                else
                {
                    w.WriteString("field", r.Field);
                }
                w.WriteString("error", r.Message);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        response.ContentLength = output.WrittenCount;
        await response.Body.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
    }

    private Task WriteUnavailableAsync(HttpResponse response, string message)
    {
        response.Headers.RetryAfter = _options.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return WriteErrorAsync(response, StatusCodes.Status503ServiceUnavailable, message);
    }

    private static Task WriteTooLargeAsync(HttpResponse response, long max)
    {
        // The rest of the body is not read: close the connection rather than drain it.
        response.Headers.Connection = "close";
        return WriteErrorAsync(response, StatusCodes.Status413PayloadTooLarge,
            $"the body is larger than Pna:Ingest:MaxBodyBytes ({max.ToString(CultureInfo.InvariantCulture)} bytes); send smaller batches");
    }

    internal static async Task WriteErrorAsync(HttpResponse response, int status, string message)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var output = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(output, WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("error", message);
            w.WriteEndObject();
        }
        response.ContentLength = output.WrittenCount;
        await response.Body.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
    }
}
