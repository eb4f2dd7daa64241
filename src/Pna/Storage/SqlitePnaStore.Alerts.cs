using Aggregators.Pna.Alerts;
using Microsoft.Data.Sqlite;

namespace Aggregators.Pna.Storage;

/// <summary>The alerts table's schema step (migration 2 of <see cref="SqlitePnaStore"/>).</summary>
internal static class SqlitePnaStoreAlerts
{
    public const string Schema = """
        CREATE TABLE alerts (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            source TEXT NOT NULL,
            client_id TEXT NULL,
            target TEXT NOT NULL,
            text TEXT NOT NULL,
            importance INTEGER NOT NULL,
            account TEXT NULL,
            mailbox TEXT NULL,
            imap_url TEXT NULL,
            sender TEXT NULL,
            subject TEXT NULL,
            status INTEGER NOT NULL,
            reason TEXT NULL,
            folded_into INTEGER NULL,
            attempts INTEGER NOT NULL,
            created INTEGER NOT NULL,
            updated INTEGER NOT NULL,
            expires INTEGER NOT NULL
        );
        CREATE INDEX alerts_client ON alerts(source, client_id) WHERE client_id IS NOT NULL;
        CREATE INDEX alerts_status ON alerts(status, id);
        """;
}

public sealed partial class SqlitePnaStore
{
    private const string AlertColumns =
        "id, source, client_id, target, text, importance, account, mailbox, imap_url, sender, subject, status, reason, folded_into, attempts, created, updated, expires";

    public long InsertAlert(AlertRecord alert)
    {
        ArgumentNullException.ThrowIfNull(alert);
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = """
                INSERT INTO alerts(source, client_id, target, text, importance, account, mailbox, imap_url, sender, subject, status, reason, folded_into, attempts, created, updated, expires)
                VALUES ($source, $client, $target, $text, $importance, $account, $mailbox, $url, $sender, $subject, $status, $reason, $folded, $attempts, $created, $updated, $expires)
                RETURNING id;
                """;
            var p = cmd.Parameters;
            p.AddWithValue("$source", alert.Source);
            p.AddWithValue("$client", (object?)alert.ClientId ?? DBNull.Value);
            p.AddWithValue("$target", alert.Target);
            p.AddWithValue("$text", alert.Text);
            p.AddWithValue("$importance", (int)alert.Importance);
            p.AddWithValue("$account", (object?)alert.Account ?? DBNull.Value);
            p.AddWithValue("$mailbox", (object?)alert.Mailbox ?? DBNull.Value);
            p.AddWithValue("$url", (object?)alert.ImapUrl ?? DBNull.Value);
            p.AddWithValue("$sender", (object?)alert.From ?? DBNull.Value);
            p.AddWithValue("$subject", (object?)alert.Subject ?? DBNull.Value);
            p.AddWithValue("$status", (int)alert.Status);
            p.AddWithValue("$reason", (object?)alert.Reason ?? DBNull.Value);
            p.AddWithValue("$folded", alert.FoldedInto is { } f ? f : DBNull.Value);
            p.AddWithValue("$attempts", alert.Attempts);
            p.AddWithValue("$created", alert.Created.ToUnixTimeMilliseconds());
            p.AddWithValue("$updated", alert.Updated.ToUnixTimeMilliseconds());
            p.AddWithValue("$expires", alert.Expires.ToUnixTimeMilliseconds());
            return (long)cmd.ExecuteScalar()!;
        }
    }

    public bool UpdateAlert(long id, AlertStatus status, string? reason, long? foldedInto, int attempts, DateTimeOffset updated)
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "UPDATE alerts SET status = $status, reason = $reason, folded_into = $folded, attempts = $attempts, updated = $updated WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$status", (int)status);
            cmd.Parameters.AddWithValue("$reason", (object?)reason ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$folded", foldedInto is { } f ? f : DBNull.Value);
            cmd.Parameters.AddWithValue("$attempts", attempts);
            cmd.Parameters.AddWithValue("$updated", updated.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    public AlertRecord? GetAlert(long id) =>
        QueryAlerts($"SELECT {AlertColumns} FROM alerts WHERE id = $id;", c => c.Parameters.AddWithValue("$id", id)).FirstOrDefault();

    public AlertRecord? FindAlertByClientId(string source, string clientId, string target) =>
        QueryAlerts($"SELECT {AlertColumns} FROM alerts WHERE source = $source AND client_id = $client AND target = $target ORDER BY id LIMIT 1;", c =>
        {
            c.Parameters.AddWithValue("$source", source);
            c.Parameters.AddWithValue("$client", clientId);
            c.Parameters.AddWithValue("$target", target);
        }).FirstOrDefault();

    public IReadOnlyList<AlertRecord> ListAlerts(AlertStatus? status, string? target, long? before, int limit) =>
        QueryAlerts($"""
            SELECT {AlertColumns} FROM alerts
            WHERE ($status IS NULL OR status = $status) AND ($target IS NULL OR target = $target) AND ($before IS NULL OR id < $before)
            ORDER BY id DESC LIMIT $limit;
            """, c =>
        {
            c.Parameters.AddWithValue("$status", status is { } s ? (int)s : DBNull.Value);
            c.Parameters.AddWithValue("$target", (object?)target ?? DBNull.Value);
            c.Parameters.AddWithValue("$before", before is { } b ? b : DBNull.Value);
            c.Parameters.AddWithValue("$limit", limit);
        });

    public IReadOnlyList<AlertRecord> LoadQueuedAlerts() =>
        QueryAlerts($"SELECT {AlertColumns} FROM alerts WHERE status = $status ORDER BY id;",
            c => c.Parameters.AddWithValue("$status", (int)AlertStatus.Queued));

    public IReadOnlyDictionary<AlertStatus, long> CountAlerts()
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "SELECT status, COUNT(*) FROM alerts GROUP BY status;";
            using var reader = cmd.ExecuteReader();
            var counts = Enum.GetValues<AlertStatus>().ToDictionary(s => s, _ => 0L);
            while (reader.Read())
            {
                var status = (AlertStatus)reader.GetInt32(0);
                if (counts.ContainsKey(status))
                {
                    counts[status] = reader.GetInt64(1);
                }
            }
            return counts;
        }
    }

    public int DeleteAlertsBefore(DateTimeOffset cutoff)
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "DELETE FROM alerts WHERE status <> $queued AND updated < $cutoff;";
            cmd.Parameters.AddWithValue("$queued", (int)AlertStatus.Queued);
            cmd.Parameters.AddWithValue("$cutoff", cutoff.ToUnixTimeMilliseconds());
            return cmd.ExecuteNonQuery();
        }
    }

    private List<AlertRecord> QueryAlerts(string sql, Action<SqliteCommand> bind)
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = sql;
            bind(cmd);
            using var r = cmd.ExecuteReader();
            var result = new List<AlertRecord>();
            while (r.Read())
            {
                result.Add(new AlertRecord
                {
                    Id = r.GetInt64(0),
                    Source = r.GetString(1),
                    ClientId = r.IsDBNull(2) ? null : r.GetString(2),
                    Target = r.GetString(3),
                    Text = r.GetString(4),
                    Importance = (AlertImportance)r.GetInt32(5),
                    Account = r.IsDBNull(6) ? null : r.GetString(6),
                    Mailbox = r.IsDBNull(7) ? null : r.GetString(7),
                    ImapUrl = r.IsDBNull(8) ? null : r.GetString(8),
                    From = r.IsDBNull(9) ? null : r.GetString(9),
                    Subject = r.IsDBNull(10) ? null : r.GetString(10),
                    Status = (AlertStatus)r.GetInt32(11),
                    Reason = r.IsDBNull(12) ? null : r.GetString(12),
                    FoldedInto = r.IsDBNull(13) ? null : r.GetInt64(13),
                    Attempts = r.GetInt32(14),
                    Created = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(15)),
                    Updated = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(16)),
                    Expires = DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(17)),
                });
            }
            return result;
        }
    }
}
