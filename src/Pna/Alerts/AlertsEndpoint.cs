using System.Buffers;
using System.Globalization;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace Aggregators.Pna.Alerts;

/// <summary>The bearer tokens that may post alerts: Pna:Alerts:Sources, or else the ingest sources.</summary>
public sealed class AlertTokens
{
    private readonly IngestTokens _tokens;

    public AlertTokens(IOptions<AlertOptions> alerts, IOptions<PnaOptions> pna, IServiceProvider services, ILogger<IngestTokens> logger)
    {
        ArgumentNullException.ThrowIfNull(alerts);
        ArgumentNullException.ThrowIfNull(pna);
        _tokens = alerts.Value.Sources.Count > 0
            ? new IngestTokens(Options.Create(new PnaOptions
            {
                DataDirectory = pna.Value.DataDirectory,
                Ingest = new IngestOptions { Sources = alerts.Value.Sources },
            }), logger)
            : services.GetRequiredService<IngestTokens>();
    }

    public string? Authenticate(ReadOnlySpan<char> token) => _tokens.Authenticate(token);
}

/// <summary>
/// <c>POST /v1/alerts</c> (a source's bearer token) and the admin views <c>GET /v1/alerts</c>,
/// <c>GET /v1/alerts/{id}</c>, <c>GET /v1/alerts/counts</c> (docs/alerts.md).
/// </summary>
public static class AlertsEndpoint
{
    public const string Path = "/v1/alerts";

    private static readonly JsonWriterOptions WriterOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    public static void Map(WebApplication app, Func<EndpointFilterInvocationContext, EndpointFilterDelegate, ValueTask<object?>> adminOnly)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost(Path, (HttpContext context) => PostAsync(context));
        var group = app.MapGroup(Path).AddEndpointFilter(adminOnly);
        group.MapGet("", (HttpContext context, AlertService alerts) => ListAsync(context, alerts));
        group.MapGet("/counts", (AlertService alerts) =>
        {
            var counts = alerts.Counts();
            var body = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (status, n) in counts)
            {
                body[AlertRecord.StatusName(status)] = n;
            }
            body["pending"] = alerts.Pending;
            return Results.Json(body);
        });
        group.MapGet("/{id:long}", (long id, HttpContext context, AlertService alerts) =>
            alerts.Get(id) is { } record
                ? WriteJsonAsync(context.Response, StatusCodes.Status200OK, w => WriteRecord(w, record), wrap: false)
                : IngestEndpoint.WriteErrorAsync(context.Response, StatusCodes.Status404NotFound, $"no alert {id}"));
    }

    private static async Task ListAsync(HttpContext context, AlertService alerts)
    {
        var q = context.Request.Query;
        AlertStatus? status = null;
        if (q["status"].ToString() is { Length: > 0 } s)
        {
            if (!AlertRecord.TryParseStatus(s, out var parsed))
            {
                await IngestEndpoint.WriteErrorAsync(context.Response, 400, "status must be queued, delivered, refused, expired or folded").ConfigureAwait(false);
                return;
            }
            status = parsed;
        }
        string? target = null;
        if (q["target"].ToString() is { Length: > 0 } t)
        {
            if (!AlertTarget.TryParse(t, out var parsed, out var error))
            {
                await IngestEndpoint.WriteErrorAsync(context.Response, 400, "target: " + error).ConfigureAwait(false);
                return;
            }
            target = parsed.Key;
        }
        var limit = 100;
        if (q["limit"].ToString() is { Length: > 0 } l && (!int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out limit) || limit is < 1 or > 1000))
        {
            await IngestEndpoint.WriteErrorAsync(context.Response, 400, "limit must be 1 to 1000").ConfigureAwait(false);
            return;
        }
        long? before = null;
        if (q["before"].ToString() is { Length: > 0 } b)
        {
            if (!long.TryParse(b, NumberStyles.None, CultureInfo.InvariantCulture, out var id))
            {
                await IngestEndpoint.WriteErrorAsync(context.Response, 400, "before must be an alert id").ConfigureAwait(false);
                return;
            }
            before = id;
        }
        var list = alerts.List(status, target, before, limit);
        await WriteJsonAsync(context.Response, 200, w =>
        {
            w.WriteStartArray("alerts");
            foreach (var r in list)
            {
                WriteRecord(w, r);
            }
            w.WriteEndArray();
        }).ConfigureAwait(false);
    }

    private static async Task PostAsync(HttpContext context)
    {
        var request = context.Request;
        var response = context.Response;
        var services = context.RequestServices;
        // RFC 6750 §3: 401 with a Bearer challenge.
        var source = services.GetRequiredService<AlertTokens>().Authenticate(IngestTokens.BearerToken(request.Headers.Authorization));
        if (source is null)
        {
            response.Headers.WWWAuthenticate = "Bearer realm=\"pna\"";
            await IngestEndpoint.WriteErrorAsync(response, 401, "missing or invalid bearer token").ConfigureAwait(false);
            return;
        }
        if (!MediaTypeHeaderValue.TryParse(request.ContentType, out var media)
            || !string.Equals(media.MediaType.Value, "application/json", StringComparison.OrdinalIgnoreCase)
            || (media.Charset.HasValue && !media.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            await IngestEndpoint.WriteErrorAsync(response, 415, "Content-Type must be application/json (UTF-8)").ConfigureAwait(false);
            return;
        }
        var options = services.GetRequiredService<IOptions<AlertOptions>>().Value;
        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeFeature)
        {
            sizeFeature.MaxRequestBodySize = null;
        }
        var max = options.MaxBodyBytes;
        var tooLarge = $"the body is larger than Pna:Alerts:MaxBodyBytes ({max.ToString(CultureInfo.InvariantCulture)} bytes)";
        if (request.ContentLength > max)
        {
            response.Headers.Connection = "close";
            await IngestEndpoint.WriteErrorAsync(response, 413, tooLarge).ConfigureAwait(false);
            return;
        }
        var buffer = ArrayPool<byte>.Shared.Rent((int)max + 1);
        try
        {
            var length = 0;
            while (length <= max)
            {
                var read = await request.Body.ReadAsync(buffer.AsMemory(length, (int)max + 1 - length), context.RequestAborted).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }
                length += read;
            }
            if (length > max)
            {
                response.Headers.Connection = "close";
                await IngestEndpoint.WriteErrorAsync(response, 413, tooLarge).ConfigureAwait(false);
                return;
            }
            var errors = new List<AlertFieldError>();
            var alert = AlertRequestDecoder.Decode(buffer.AsSpan(0, length), options.MaxTargets, options.MaxTextLength, errors);
            if (alert is null)
            {
                await WriteJsonAsync(response, 400, w =>
                {
                    w.WriteString("error", "the alert is invalid");
                    w.WriteStartArray("errors");
                    foreach (var e in errors)
                    {
                        w.WriteStartObject();
                        if (e.Field is null)
                        {
                            w.WriteNull("field");
                        }
                        else
                        {
                            w.WriteString("field", e.Field);
                        }
                        w.WriteString("error", e.Error);
                        w.WriteEndObject();
                    }
                    w.WriteEndArray();
                }).ConfigureAwait(false);
                return;
            }
            var outcomes = services.GetRequiredService<AlertService>().Submit(alert, source);
            await WriteJsonAsync(response, 202, w =>
            {
                w.WriteStartArray("alerts");
                foreach (var o in outcomes)
                {
                    w.WriteStartObject();
                    w.WriteString("target", o.Target);
                    w.WriteNumber("id", o.Id);
                    w.WriteString("status", AlertRecord.StatusName(o.Status));
                    if (o.Reason is not null)
                    {
                        w.WriteString("reason", o.Reason);
                    }
                    if (o.FoldedInto is { } f)
                    {
                        w.WriteNumber("foldedInto", f);
                    }
                    if (o.Repeat)
                    {
                        w.WriteBoolean("repeat", true);
                    }
                    w.WriteEndObject();
                }
                w.WriteEndArray();
            }).ConfigureAwait(false);
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static void WriteRecord(Utf8JsonWriter w, AlertRecord r)
    {
        w.WriteStartObject();
        w.WriteNumber("id", r.Id);
        w.WriteString("target", r.Target);
        w.WriteString("source", r.Source);
        w.WriteString("status", AlertRecord.StatusName(r.Status));
        WriteOptional(w, "reason", r.Reason);
        if (r.FoldedInto is { } f)
        {
            w.WriteNumber("foldedInto", f);
        }
        w.WriteNumber("attempts", r.Attempts);
        w.WriteString("text", r.Text);
        w.WriteString("importance", r.Importance.ToString().ToLowerInvariant());
        WriteOptional(w, "account", r.Account);
        WriteOptional(w, "mailbox", r.Mailbox);
        WriteOptional(w, "imapUrl", r.ImapUrl);
        WriteOptional(w, "from", r.From);
        WriteOptional(w, "subject", r.Subject);
        WriteOptional(w, "clientId", r.ClientId);
        w.WriteString("created", r.Created);
        w.WriteString("updated", r.Updated);
        w.WriteString("expires", r.Expires);
        w.WriteEndObject();
    }

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static async Task WriteJsonAsync(HttpResponse response, int status, Action<Utf8JsonWriter> write, bool wrap = true)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        var output = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(output, WriterOptions))
        {
            if (!wrap)
            {
                write(w);
            }
            else
            {
                w.WriteStartObject();
                write(w);
                w.WriteEndObject();
            }
        }
        response.ContentLength = output.WrittenCount;
        await response.Body.WriteAsync(output.WrittenMemory).ConfigureAwait(false);
    }
}
