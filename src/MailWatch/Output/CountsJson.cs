using System.Text;
using System.Text.Json;
using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Output;

/// <summary>
/// The <c>--once</c> output: one JSON object (docs/mailwatch.md):
/// <c>{"account", "transport", "status", "mailboxes": [{"mailbox", "messages", "unseen", "uidnext", "uidvalidity", "updated"}]}</c>.
/// </summary>
internal static class CountsJson
{
    public static string Write(string account, WatchTransport transport, WatchSnapshot snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteString("account", account);
            json.WriteString("transport", transport == WatchTransport.Xmpp ? "xmpp" : "sip");
            json.WriteString("status", snapshot.Status.ToString().ToLowerInvariant());
            json.WriteStartArray("mailboxes");
            foreach (var m in snapshot.Mailboxes.Where(m => m.Notified))
            {
                json.WriteStartObject();
                json.WriteString("mailbox", m.Mailbox);
                json.WriteNumber("messages", m.Messages);
                json.WriteNumber("unseen", m.Unseen);
                if (m.UidNext is { } next)
                {
                    json.WriteNumber("uidnext", next);
                }
                if (m.UidValidity is { } validity)
                {
                    json.WriteNumber("uidvalidity", validity);
                }
                json.WriteString("updated", m.UpdatedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture));
                json.WriteEndObject();
            }
            json.WriteEndArray();
            json.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
