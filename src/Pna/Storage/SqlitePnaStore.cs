using System.Globalization;
using Aggregators.EventModel;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Storage;

/// <summary>
/// <see cref="IPnaStore"/> on one SQLite file in WAL mode. One connection, serialised by a lock:
/// writes are small (a subscription) or batched (state flushes), so one writer is enough.
/// </summary>
public sealed partial class SqlitePnaStore : IPnaStore, IAlertStore
{
    /// <summary>
    /// Ordered migrations; index i brings the schema from version i to i + 1. Never edit a
    /// released step, only append.
    /// </summary>
    private static readonly string[] Migrations =
    [
        """
        CREATE TABLE subscriptions (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            subscriber TEXT NOT NULL,
            transport TEXT NOT NULL,
            account TEXT NOT NULL,
            mailbox TEXT NOT NULL,
            depth INTEGER NOT NULL,
            events INTEGER NOT NULL,
            heartbeat_ms INTEGER NULL,
            transport_state TEXT NULL,
            expires INTEGER NULL,
            created INTEGER NOT NULL
        );
        CREATE INDEX subscriptions_transport ON subscriptions(transport);
        CREATE TABLE mailbox_state (
            account TEXT NOT NULL,
            mailbox TEXT NOT NULL,
            messages INTEGER NULL,
            unseen INTEGER NULL,
            uidnext INTEGER NULL,
            uidvalidity INTEGER NULL,
            last_event_type TEXT NULL,
            last_event_time INTEGER NULL,
            last_event_id TEXT NULL,
            PRIMARY KEY (account, mailbox)
        ) WITHOUT ROWID;
        """,
        // 2: unsolicited alerts (src/Pna/Alerts, docs/alerts.md).
        SqlitePnaStoreAlerts.Schema,
    ];

    /// <summary>The schema version this code writes and understands.</summary>
    public static int CurrentSchemaVersion => Migrations.Length;

    private readonly string _path;
    private readonly ILogger<SqlitePnaStore> _logger;
    private readonly Lock _lock = new();
    private SqliteConnection? _connection;

    public SqlitePnaStore(string path, ILogger<SqlitePnaStore> logger)
    {
        _path = path;
        _logger = logger;
    }

    public string Path => _path;

    public bool IsOpen => _connection is not null;

    public void Open()
    {
        lock (_lock)
        {
            if (_connection is not null)
            {
                return;
            }
            var directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(_path));
            if (!string.IsNullOrEmpty(directory))
            {
                Directory.CreateDirectory(directory);
            }
            var connection = new SqliteConnection(new SqliteConnectionStringBuilder
            {
                DataSource = _path,
                Mode = SqliteOpenMode.ReadWriteCreate,
                Pooling = false,
            }.ToString());
            try
            {
                connection.Open();
                Execute(connection, null, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
                Migrate(connection);
            }
            catch
            {
                connection.Dispose();
                throw;
            }
            _connection = connection;
        }
    }

    private void Migrate(SqliteConnection connection)
    {
        Execute(connection, null, "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);");
        using var read = connection.CreateCommand();
        read.CommandText = "SELECT MAX(version) FROM schema_version;";
        var found = read.ExecuteScalar() is long v ? (int)v : 0;
        if (found > CurrentSchemaVersion)
        {
            throw new StoreSchemaException(
                $"The database '{_path}' has schema version {found}, newer than the {CurrentSchemaVersion} this PNA knows. " +
                "It was written by a newer PNA: run that version, or point Pna:DataDirectory at another directory.");
        }
        for (var version = found; version < CurrentSchemaVersion; version++)
        {
            using var tx = connection.BeginTransaction();
            Execute(connection, tx, Migrations[version]);
            Execute(connection, tx, "DELETE FROM schema_version;");
            using var write = connection.CreateCommand();
            write.Transaction = tx;
            write.CommandText = "INSERT INTO schema_version(version) VALUES ($v);";
            write.Parameters.AddWithValue("$v", version + 1);
            write.ExecuteNonQuery();
            tx.Commit();
            LogMigrated(_path, version + 1);
        }
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction? tx, string sql)
    {
        using var cmd = connection.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private SqliteConnection Connection =>
        _connection ?? throw new InvalidOperationException("the store is not open");

    public IReadOnlyList<StoredSubscription> LoadSubscriptions()
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = """
                SELECT id, subscriber, transport, account, mailbox, depth, events, heartbeat_ms, transport_state, expires, created
                FROM subscriptions ORDER BY id;
                """;
            using var reader = cmd.ExecuteReader();
            var result = new List<StoredSubscription>();
            while (reader.Read())
            {
                var id = reader.GetInt64(0);
                if (!AccountId.TryParse(reader.GetString(3), out var account, out _) ||
                    !MailboxPath.TryParse(reader.GetString(4), out var mailbox, out _))
                {
                    LogBadRow("subscriptions", id.ToString(CultureInfo.InvariantCulture));
                    continue;
                }
                var filter = new SubscriptionFilter
                {
                    Account = account,
                    Mailbox = mailbox,
                    Depth = (SubscriptionDepth)reader.GetInt32(5),
                    Events = new EventTypeSet((uint)reader.GetInt64(6)),
                    Heartbeat = reader.IsDBNull(7) ? null : TimeSpan.FromMilliseconds(reader.GetInt64(7)),
                };
                result.Add(new StoredSubscription(
                    id,
                    reader.GetString(1),
                    reader.GetString(2),
                    filter,
                    reader.IsDBNull(8) ? null : reader.GetString(8),
                    reader.IsDBNull(9) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(9)),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(10))));
            }
            return result;
        }
    }

    public long InsertSubscription(StoredSubscription subscription)
    {
        ArgumentNullException.ThrowIfNull(subscription);
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = """
                INSERT INTO subscriptions(subscriber, transport, account, mailbox, depth, events, heartbeat_ms, transport_state, expires, created)
                VALUES ($subscriber, $transport, $account, $mailbox, $depth, $events, $heartbeat, $state, $expires, $created)
                RETURNING id;
                """;
            var f = subscription.Filter;
            cmd.Parameters.AddWithValue("$subscriber", subscription.Subscriber);
            cmd.Parameters.AddWithValue("$transport", subscription.Transport);
            cmd.Parameters.AddWithValue("$account", f.Account.Value);
            cmd.Parameters.AddWithValue("$mailbox", f.Mailbox.Value);
            cmd.Parameters.AddWithValue("$depth", (int)f.Depth);
            cmd.Parameters.AddWithValue("$events", (long)f.Events.Bits);
            cmd.Parameters.AddWithValue("$heartbeat", f.Heartbeat is { } hb ? (long)hb.TotalMilliseconds : DBNull.Value);
            cmd.Parameters.AddWithValue("$state", (object?)subscription.TransportState ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$expires", subscription.Expires is { } e ? e.ToUnixTimeMilliseconds() : DBNull.Value);
            cmd.Parameters.AddWithValue("$created", subscription.Created.ToUnixTimeMilliseconds());
            return (long)cmd.ExecuteScalar()!;
        }
    }

    public bool UpdateSubscription(long id, DateTimeOffset? expires, string? transportState)
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "UPDATE subscriptions SET expires = $expires, transport_state = $state WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.Parameters.AddWithValue("$expires", expires is { } e ? e.ToUnixTimeMilliseconds() : DBNull.Value);
            cmd.Parameters.AddWithValue("$state", (object?)transportState ?? DBNull.Value);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    public bool DeleteSubscription(long id)
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = "DELETE FROM subscriptions WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            return cmd.ExecuteNonQuery() == 1;
        }
    }

    public IReadOnlyList<StoredMailboxState> LoadMailboxStates()
    {
        lock (_lock)
        {
            using var cmd = Connection.CreateCommand();
            cmd.CommandText = """
                SELECT account, mailbox, messages, unseen, uidnext, uidvalidity, last_event_type, last_event_time, last_event_id
                FROM mailbox_state ORDER BY account, mailbox;
                """;
            using var reader = cmd.ExecuteReader();
            var result = new List<StoredMailboxState>();
            while (reader.Read())
            {
                if (!AccountId.TryParse(reader.GetString(0), out var account, out _) ||
                    !MailboxPath.TryParse(reader.GetString(1), out var mailbox, out _))
                {
                    LogBadRow("mailbox_state", reader.GetString(0) + "/" + reader.GetString(1));
                    continue;
                }
                MailboxTotals? totals = reader.IsDBNull(2)
                    ? null
                    : new MailboxTotals((uint)reader.GetInt64(2), (uint)reader.GetInt64(3), (uint)reader.GetInt64(4), (uint)reader.GetInt64(5));
                MailEventType? type = !reader.IsDBNull(6) && MailEventTypes.TryParse(reader.GetString(6), out var t) ? t : null;
                result.Add(new StoredMailboxState(
                    account,
                    mailbox,
                    totals,
                    type,
                    reader.IsDBNull(7) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(7)),
                    reader.IsDBNull(8) ? null : reader.GetString(8)));
            }
            return result;
        }
    }

    public void WriteMailboxStates(
        IReadOnlyCollection<StoredMailboxState> upserts,
        IReadOnlyCollection<(AccountId Account, MailboxPath Mailbox)> deletes)
    {
        ArgumentNullException.ThrowIfNull(upserts);
        ArgumentNullException.ThrowIfNull(deletes);
        if (upserts.Count == 0 && deletes.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            var connection = Connection;
            using var tx = connection.BeginTransaction();
            if (deletes.Count > 0)
            {
                using var del = connection.CreateCommand();
                del.Transaction = tx;
                del.CommandText = "DELETE FROM mailbox_state WHERE account = $account AND mailbox = $mailbox;";
                var pa = del.Parameters.Add("$account", SqliteType.Text);
                var pm = del.Parameters.Add("$mailbox", SqliteType.Text);
                foreach (var (account, mailbox) in deletes)
                {
                    pa.Value = account.Value;
                    pm.Value = mailbox.Value;
                    del.ExecuteNonQuery();
                }
            }
            if (upserts.Count > 0)
            {
                using var up = connection.CreateCommand();
                up.Transaction = tx;
                up.CommandText = """
                    INSERT INTO mailbox_state(account, mailbox, messages, unseen, uidnext, uidvalidity, last_event_type, last_event_time, last_event_id)
                    VALUES ($account, $mailbox, $messages, $unseen, $uidnext, $uidvalidity, $type, $time, $id)
                    ON CONFLICT(account, mailbox) DO UPDATE SET
                        messages = excluded.messages, unseen = excluded.unseen, uidnext = excluded.uidnext,
                        uidvalidity = excluded.uidvalidity, last_event_type = excluded.last_event_type,
                        last_event_time = excluded.last_event_time, last_event_id = excluded.last_event_id;
                    """;
                var pa = up.Parameters.Add("$account", SqliteType.Text);
                var pm = up.Parameters.Add("$mailbox", SqliteType.Text);
                var pMessages = up.Parameters.Add("$messages", SqliteType.Integer);
                var pUnseen = up.Parameters.Add("$unseen", SqliteType.Integer);
                var pUidnext = up.Parameters.Add("$uidnext", SqliteType.Integer);
                var pUidvalidity = up.Parameters.Add("$uidvalidity", SqliteType.Integer);
                var pType = up.Parameters.Add("$type", SqliteType.Text);
                var pTime = up.Parameters.Add("$time", SqliteType.Integer);
                var pId = up.Parameters.Add("$id", SqliteType.Text);
                foreach (var s in upserts)
                {
                    pa.Value = s.Account.Value;
                    pm.Value = s.Mailbox.Value;
                    pMessages.Value = s.Totals is { } t1 ? (long)t1.Messages : DBNull.Value;
                    pUnseen.Value = s.Totals is { } t2 ? (long)t2.Unseen : DBNull.Value;
                    pUidnext.Value = s.Totals is { } t3 ? (long)t3.UidNext : DBNull.Value;
                    pUidvalidity.Value = s.Totals is { } t4 ? (long)t4.UidValidity : DBNull.Value;
                    pType.Value = s.LastEventType is { } type ? type.ToRfcName() : DBNull.Value;
                    pTime.Value = s.LastEventTime is { } time ? time.ToUnixTimeMilliseconds() : DBNull.Value;
                    pId.Value = (object?)s.LastEventId ?? DBNull.Value;
                    up.ExecuteNonQuery();
                }
            }
            tx.Commit();
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            if (_connection is { } c)
            {
                // Fold the WAL back into the main file so the directory holds one file at rest.
                try
                {
                    Execute(c, null, "PRAGMA wal_checkpoint(TRUNCATE);");
                }
                catch (SqliteException ex)
                {
                    LogCheckpointFailed(ex);
                }
                c.Dispose();
                _connection = null;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Store {Path} migrated to schema version {Version}")]
    private partial void LogMigrated(string path, int version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Store table {Table}: unreadable row {Key} skipped")]
    private partial void LogBadRow(string table, string key);

    [LoggerMessage(Level = LogLevel.Warning, Message = "WAL checkpoint at close failed")]
    private partial void LogCheckpointFailed(Exception exception);
}
