using System.Text.Json;

namespace Aggregators.EventModel.Json;

/// <summary>Writes the strict wire form of docs/events.md, members in a fixed order.</summary>
internal static class MailEventEncoder
{
    public static void Write(Utf8JsonWriter w, MailEvent e)
    {
        w.WriteStartObject();
        w.WriteString("event"u8, e.Type.ToRfcName());
        w.WriteString("account"u8, e.Account.Value);
        if (!e.Mailbox.IsRoot)
        {
            w.WriteString("mailbox"u8, e.Mailbox.Value);
        }
        if (e.OldMailbox is { } old)
        {
            w.WriteString("oldMailbox"u8, old.Value);
        }
        if (e.Totals is { } t)
        {
            w.WriteStartObject("totals"u8);
            w.WriteNumber("messages"u8, t.Messages);
            w.WriteNumber("unseen"u8, t.Unseen);
            w.WriteNumber("uidnext"u8, t.UidNext);
            w.WriteNumber("uidvalidity"u8, t.UidValidity);
            w.WriteEndObject();
        }
        if (e.Spam)
        {
            w.WriteBoolean("spam"u8, true);
        }
        WriteString(w, "id"u8, e.Id);
        if (e.Timestamp is { } ts)
        {
            w.WriteString("timestamp"u8, ts); // ISO 8601 extended form with offset: a valid RFC 3339 date-time
        }
        WriteString(w, "service"u8, e.Service);
        WriteString(w, "serverDomain"u8, e.ServerDomain);
        WriteString(w, "serverFQDN"u8, e.ServerFqdn);
        WriteNumber(w, "serverPort"u8, e.ServerPort);
        WriteString(w, "clientIP"u8, e.ClientIp);
        WriteNumber(w, "clientPort"u8, e.ClientPort);
        WriteString(w, "user"u8, e.User);
        WriteString(w, "admin"u8, e.Admin);
        WriteNumber(w, "pid"u8, e.Pid);
        WriteString(w, "process"u8, e.Process);
        WriteUrl(w, "uri"u8, e.Uri);
        WriteUrl(w, "mailboxID"u8, e.MailboxId);
        WriteUrl(w, "oldMailboxID"u8, e.OldMailboxId);
        WriteNumber(w, "uidnext"u8, e.Uidnext);
        WriteNumber(w, "uidvalidity"u8, e.UidValidity);
        WriteString(w, "uidset"u8, e.Uidset);
        WriteNumber(w, "messages"u8, e.Messages);
        WriteNumber(w, "modseq"u8, e.Modseq);
        WriteNumber(w, "maxMessages"u8, e.MaxMessages);
        WriteNumber(w, "messageSize"u8, e.MessageSize);
        WriteNumber(w, "diskQuota"u8, e.DiskQuota);
        WriteNumber(w, "diskUsed"u8, e.DiskUsed);
        if (e.FlagNames is { Count: > 0 } flags)
        {
            // Written as one space-separated string, as Cyrus sends it (docs/events.md).
            w.WriteString("flagNames"u8, string.Join(' ', flags));
        }
        if (e.Tags is { } tags)
        {
            w.WriteStartArray("tags"u8);
            foreach (var tag in tags)
            {
                w.WriteStringValue(tag);
            }
            w.WriteEndArray();
        }
        WriteString(w, "envelope"u8, e.Envelope);
        WriteString(w, "bodyStructure"u8, e.BodyStructure);
        WriteString(w, "messageContent"u8, e.MessageContent);
        WriteString(w, "from"u8, e.From);
        WriteString(w, "subject"u8, e.Subject);
        if (e.Vendor is { } vendor)
        {
            foreach (var p in vendor)
            {
                w.WritePropertyName(p.Name);
                w.WriteRawValue(p.RawJson, skipInputValidation: false);
            }
        }
        w.WriteEndObject();
    }

    private static void WriteString(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteUrl(Utf8JsonWriter w, ReadOnlySpan<byte> name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, ImapUrl.TryParse(value, out var url, out _) ? url.ToString() : value);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, ReadOnlySpan<byte> name, int? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, ReadOnlySpan<byte> name, uint? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }

    private static void WriteNumber(Utf8JsonWriter w, ReadOnlySpan<byte> name, ulong? value)
    {
        if (value is { } v)
        {
            w.WriteNumber(name, v);
        }
    }
}
