using System.Globalization;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Sources;

/// <summary>
/// The SIP bodies MailWatch sends and reads (docs/sip.md), without I/O: the <c>mail-event</c>
/// filter body of its SUBSCRIBE, and counts from a NOTIFY body of either package.
/// </summary>
internal static class SipBodies
{
    public const int MaxBodyBytes = 64 * 1024;

    /// <summary><c>application/mail-event-filter+json</c>: mailbox, depth, heartbeat (all events).</summary>
    public static byte[] Filter(string mailbox, bool subtree, TimeSpan heartbeat) =>
        Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture,
            $"{{\"mailbox\": {JsonSerializer.Serialize(mailbox)}, \"depth\": \"{(subtree ? "infinity" : "1")}\", \"heartbeat\": {(long)heartbeat.TotalSeconds}}}"));

    /// <summary>What one NOTIFY body says.</summary>
    /// <param name="Heartbeat">The interval the notifier granted, when an <c>initial</c> mail-event body says so (docs/sip.md).</param>
    public sealed record Reading(MailboxUpdate? Update, bool Stale, string? Error, TimeSpan? Heartbeat = null);

    /// <summary>
    /// Reads a NOTIFY body. <paramref name="subscribedMailbox"/> names the counts of a
    /// message-summary body (which does not name its mailbox). An empty body is a sign of life.
    /// </summary>
    public static Reading Read(string? contentType, ReadOnlySpan<byte> body, string subscribedMailbox)
    {
        if (body.IsEmpty)
        {
            return new Reading(null, false, null);
        }
        if (body.Length > MaxBodyBytes)
        {
            return new Reading(null, false, $"body of {body.Length} bytes exceeds {MaxBodyBytes}");
        }
        var media = contentType?.Split(';')[0].Trim();
        if (string.Equals(media, MailEventNotifyBody.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return ReadMailEvent(body);
        }
        if (string.Equals(media, MessageSummary.MediaType, StringComparison.OrdinalIgnoreCase))
        {
            return ReadSummary(body, subscribedMailbox);
        }
        return new Reading(null, false, $"unexpected body type '{contentType}'");
    }

    private static Reading ReadMailEvent(ReadOnlySpan<byte> body)
    {
        if (!MailEventNotifyBody.TryDecode(body, out _, out var kind, out var totals, out var error))
        {
            return new Reading(null, false, "mail-event body: " + error);
        }
        string? mailbox;
        try
        {
            using var doc = JsonDocument.Parse(body.ToArray());
            mailbox = doc.RootElement.TryGetProperty("mailbox", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
        }
        catch (JsonException ex)
        {
            return new Reading(null, false, "mail-event body: " + ex.Message);
        }
        if (mailbox is null || !MailboxPath.TryParse(mailbox, out var path, out error))
        {
            return new Reading(null, false, "mail-event body: mailbox " + (error ?? "missing"));
        }
        var stale = MailEventNotifyBody.IsStale(body);
        var granted = kind == "initial" ? MailEventNotifyBody.GrantedHeartbeat(body) : null;
        if (totals is not { } t || path.IsRoot)
        {
            return new Reading(null, stale, null, granted); // account-level event, or nothing known yet
        }
        var updateKind = kind switch
        {
            "event" => UpdateKind.Event,
            "heartbeat" => UpdateKind.Heartbeat,
            "initial" => UpdateKind.Initial,
            _ => UpdateKind.Current,
        };
        return new Reading(new MailboxUpdate(path.ToString(), t.Messages, t.Unseen, t.UidNext, t.UidValidity, updateKind), stale, null, granted);
    }

    private static Reading ReadSummary(ReadOnlySpan<byte> body, string mailbox)
    {
        string text;
        try
        {
            text = new UTF8Encoding(false, true).GetString(body);
        }
        catch (DecoderFallbackException)
        {
            return new Reading(null, false, "message-summary body is not UTF-8");
        }
        if (!MessageSummary.TryParse(text, out var summary, out var error))
        {
            return new Reading(null, false, "message-summary body: " + error);
        }
        // RFC 3842 §5.2: new/old per message class; mail is text-message (docs/sip.md), any class counts.
        uint unseen = 0, old = 0;
        foreach (var line in summary!.Lines)
        {
            unseen += line.New;
            old += line.Old;
        }
        // Kind Event: a message-summary NOTIFY does not say why it was sent (refresh or change).
        return new Reading(new MailboxUpdate(mailbox, unseen + old, unseen, null, null, UpdateKind.Event), false, null);
    }
}
