namespace Aggregators.Pna.Tests.Ingest;

/// <summary>Event JSON lines for tests (docs/events.md wire format).</summary>
internal static class Events
{
    public static string MessageNew(string account, string mailbox, uint messages, uint unseen, uint uidnext, string? id = null) =>
        "{\"event\":\"MessageNew\",\"account\":\"" + account + "\",\"mailbox\":\"" + mailbox + "\"," +
        (id is null ? "" : "\"id\":\"" + id + "\",") +
        "\"totals\":{\"messages\":" + messages + ",\"unseen\":" + unseen + ",\"uidnext\":" + uidnext + ",\"uidvalidity\":7}}";

    public static string Ndjson(params string[] lines) => string.Join('\n', lines) + "\n";
}
