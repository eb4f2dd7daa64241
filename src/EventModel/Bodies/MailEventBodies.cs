using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using Aggregators.EventModel.Json;

namespace Aggregators.EventModel.Bodies;

/// <summary>
/// The SUBSCRIBE body of the rich <c>mail-event</c> package (docs/sip.md), media type
/// <c>application/mail-event-filter+json</c>: <c>{"mailbox":"INBOX","depth":"1"|"infinity",
/// "events":["MessageNew",...],"heartbeat":300}</c>, every member optional (defaults: the account
/// root, depth infinity, all events, no heartbeat).
/// </summary>
public sealed record MailEventFilterBody(MailboxPath Mailbox, SubscriptionDepth Depth, EventTypeSet Events, TimeSpan? Heartbeat)
{
    public const string MediaType = "application/mail-event-filter+json";
    public const int MaxBodyLength = 16 * 1024;
    public const int MaxHeartbeatSeconds = 86_400;

    public static MailEventFilterBody Default { get; } = new(MailboxPath.Root, SubscriptionDepth.Subtree, EventTypeSet.All, null);

    public SubscriptionFilter ToFilter(AccountId account) => new()
    {
        Account = account,
        Mailbox = Mailbox,
        Depth = Depth,
        Events = Events,
        Heartbeat = Heartbeat,
    };

    /// <summary>Parses a body; an empty body is <see cref="Default"/>. False with a reason for anything malformed.</summary>
    public static bool TryParse(ReadOnlySpan<byte> utf8, out MailEventFilterBody? body, out string? error)
    {
        body = null;
        if (utf8.Trim(" \t\r\n"u8).IsEmpty)
        {
            body = Default;
            error = null;
            return true;
        }
        if (utf8.Length > MaxBodyLength)
        {
            error = $"body longer than {MaxBodyLength} bytes";
            return false;
        }
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray(), new JsonDocumentOptions { MaxDepth = 4 });
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                error = "the body must be a JSON object";
                return false;
            }
            var result = Default;
            foreach (var p in root.EnumerateObject())
            {
                switch (p.Name)
                {
                    case "mailbox":
                        if (p.Value.ValueKind != JsonValueKind.String)
                        {
                            error = "'mailbox' must be a mailbox name (a string)";
                            return false;
                        }
                        if (!MailboxPath.TryParse(p.Value.GetString(), out var mailbox, out var why))
                        {
                            error = "'mailbox': " + why;
                            return false;
                        }
                        result = result with { Mailbox = mailbox };
                        break;
                    case "depth":
                        var depth = p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString() : p.Value.ValueKind == JsonValueKind.Number ? p.Value.GetRawText() : null;
                        if (depth is not ("1" or "infinity"))
                        {
                            error = "'depth' must be \"1\" or \"infinity\"";
                            return false;
                        }
                        result = result with { Depth = depth == "1" ? SubscriptionDepth.One : SubscriptionDepth.Subtree };
                        break;
                    case "events":
                        if (p.Value.ValueKind != JsonValueKind.Array || p.Value.GetArrayLength() == 0)
                        {
                            error = "'events' must be a non-empty array of RFC 5423 event names";
                            return false;
                        }
                        var set = EventTypeSet.None;
                        foreach (var e in p.Value.EnumerateArray())
                        {
                            if (e.ValueKind != JsonValueKind.String || !MailEventTypes.TryParse(e.GetString(), out var type))
                            {
                                error = $"'events': {e.GetRawText()} is not an RFC 5423 event name";
                                return false;
                            }
                            set = set.With(type);
                        }
                        result = result with { Events = set };
                        break;
                    case "heartbeat":
                        if (p.Value.ValueKind != JsonValueKind.Number || !p.Value.TryGetInt32(out var seconds) || seconds is < 1 or > MaxHeartbeatSeconds)
                        {
                            error = $"'heartbeat' must be whole seconds, 1-{MaxHeartbeatSeconds}";
                            return false;
                        }
                        result = result with { Heartbeat = TimeSpan.FromSeconds(seconds) };
                        break;
                    default:
                        error = $"unknown member '{p.Name}'";
                        return false;
                }
            }
            body = result;
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = "not JSON: " + e.Message;
            return false;
        }
    }

    public byte[] ToBytes()
    {
        var buffer = new ArrayBufferWriter<byte>(128);
        using (var w = new Utf8JsonWriter(buffer, MailEventJson.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("mailbox", Mailbox.Value);
            w.WriteString("depth", Depth == SubscriptionDepth.One ? "1" : "infinity");
            if (!Events.IsAll)
            {
                w.WriteStartArray("events");
                foreach (var t in Events.Types())
                {
                    w.WriteStringValue(t.ToRfcName());
                }
                w.WriteEndArray();
            }
            if (Heartbeat is { } hb)
            {
                w.WriteNumber("heartbeat", (int)hb.TotalSeconds);
            }
            w.WriteEndObject();
        }
        return buffer.WrittenSpan.ToArray();
    }
}

/// <summary>
/// The NOTIFY body of the rich <c>mail-event</c> package, media type
/// <c>application/mail-event+json</c>: <c>{"sequence":7,"kind":"event"|"initial"|"heartbeat"|"refresh",
/// "mailbox":"INBOX","totals":{...},"event":{RFC 5423 event as docs/events.md}}</c>. The sequence
/// number is per subscription and increases by one per notification the PNA produced; a gap means
/// states were collapsed while a NOTIFY was in flight (the totals are always the latest).
/// </summary>
public static class MailEventNotifyBody
{
    public const string MediaType = "application/mail-event+json";
    public const string EventPackage = "mail-event";

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public static byte[] Encode(long sequence, string kind, MailboxPath mailbox, MailboxTotals? totals, MailEvent? mailEvent) =>
        Encode(sequence, kind, mailbox, totals, mailEvent, heartbeat: null);

    /// <summary>
    /// As above; <paramref name="heartbeat"/> (the interval the notifier granted, docs/sip.md) goes
    /// into <c>initial</c> bodies as <c>"heartbeat": &lt;seconds&gt;</c>.
    /// </summary>
    public static byte[] Encode(long sequence, string kind, MailboxPath mailbox, MailboxTotals? totals, MailEvent? mailEvent, TimeSpan? heartbeat)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var buffer = t_buffer ??= new ArrayBufferWriter<byte>(512);
        buffer.ResetWrittenCount();
        var w = t_writer ??= new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping, SkipValidation = true });
        w.Reset(buffer);
        w.WriteStartObject();
        w.WriteNumber("sequence", sequence);
        w.WriteString("kind", kind);
        w.WriteString("mailbox", mailbox.Value);
        if (heartbeat is { } hb && hb >= TimeSpan.FromSeconds(1))
        {
            w.WriteNumber("heartbeat", (long)hb.TotalSeconds);
        }
        if (totals is { } t)
        {
            w.WriteStartObject("totals");
            w.WriteNumber("messages", t.Messages);
            w.WriteNumber("unseen", t.Unseen);
            w.WriteNumber("uidnext", t.UidNext);
            w.WriteNumber("uidvalidity", t.UidValidity);
            w.WriteEndObject();
        }
        if (mailEvent is not null)
        {
            w.WritePropertyName("event");
            MailEventJson.Write(w, mailEvent);
        }
        w.WriteEndObject();
        w.Flush();
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>
    /// A CNA's snapshot of a cached NOTIFY body (docs/cna.md): the same sequence, mailbox and totals,
    /// <c>kind</c> <c>initial</c>, no event (it was delivered already), and <c>"stale": true</c> when
    /// the CNA has not heard from the PNA for two heartbeat intervals (absent means fresh). False
    /// when <paramref name="utf8"/> is not a mail-event NOTIFY body.
    /// </summary>
    public static bool TrySnapshot(ReadOnlySpan<byte> utf8, bool stale, out byte[]? snapshot) =>
        TrySnapshot(utf8, stale, heartbeat: null, out snapshot);

    /// <summary>
    /// As above, with <paramref name="heartbeat"/> as the snapshot's <c>"heartbeat"</c> (the interval
    /// the CNA itself grants its local subscriber, docs/cna.md) in place of the cached body's.
    /// </summary>
    public static bool TrySnapshot(ReadOnlySpan<byte> utf8, bool stale, TimeSpan? heartbeat, out byte[]? snapshot)
    {
        snapshot = null;
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sequence", out var seq) || !seq.TryGetInt64(out var sequence)
                || !root.TryGetProperty("mailbox", out var m) || m.ValueKind != JsonValueKind.String
                || !MailboxPath.TryParse(m.GetString()!, out var mailbox, out _))
            {
                return false;
            }
            MailboxTotals? totals = null;
            if (TryDecode(utf8, out _, out _, out var t, out _))
            {
                totals = t;
            }
            var body = Encode(sequence, "initial", mailbox, totals, null, heartbeat);
            snapshot = stale ? [.. body.AsSpan(0, body.Length - 1), .. ",\"stale\":true}"u8] : body;
            return true;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>True when a mail-event NOTIFY body carries <c>"stale": true</c> (docs/cna.md).</summary>
    public static bool IsStale(ReadOnlySpan<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray());
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("stale", out var s) && s.ValueKind == JsonValueKind.True;
        }
        catch (JsonException)
        {
            return false;
        }
    }

    /// <summary>
    /// The heartbeat interval the notifier granted, from an <c>initial</c> body's <c>"heartbeat"</c>
    /// (whole seconds, 1-86400); null when absent, malformed or not a JSON object.
    /// </summary>
    public static TimeSpan? GrantedHeartbeat(ReadOnlySpan<byte> utf8)
    {
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray());
            return doc.RootElement.ValueKind == JsonValueKind.Object
                && doc.RootElement.TryGetProperty("heartbeat", out var hb) && hb.ValueKind == JsonValueKind.Number
                && hb.TryGetInt32(out var seconds) && seconds is >= 1 and <= MailEventFilterBody.MaxHeartbeatSeconds
                    ? TimeSpan.FromSeconds(seconds)
                    : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>Reads the parts a subscriber needs (sequence, kind, mailbox, totals); the event stays as raw JSON.</summary>
    public static bool TryDecode(ReadOnlySpan<byte> utf8, out long sequence, out string? kind, out MailboxTotals? totals, out string? error)
    {
        sequence = 0;
        kind = null;
        totals = null;
        try
        {
            using var doc = JsonDocument.Parse(utf8.ToArray());
            var root = doc.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("sequence", out var seq) || !seq.TryGetInt64(out sequence)
                || !root.TryGetProperty("kind", out var k) || k.ValueKind != JsonValueKind.String)
            {
                error = "needs 'sequence' (number) and 'kind' (string)";
                return false;
            }
            kind = k.GetString();
            if (root.TryGetProperty("totals", out var t))
            {
                if (!t.TryGetProperty("messages", out var m) || !m.TryGetUInt32(out var messages)
                    || !t.TryGetProperty("unseen", out var u) || !u.TryGetUInt32(out var unseen)
                    || !t.TryGetProperty("uidnext", out var n) || !n.TryGetUInt32(out var uidnext)
                    || !t.TryGetProperty("uidvalidity", out var v) || !v.TryGetUInt32(out var uidvalidity))
                {
                    error = "'totals' needs messages, unseen, uidnext, uidvalidity";
                    return false;
                }
                totals = new MailboxTotals(messages, unseen, uidnext, uidvalidity);
            }
            error = null;
            return true;
        }
        catch (JsonException e)
        {
            error = "not JSON: " + e.Message;
            return false;
        }
    }
}
