using Microsoft.Data.Sqlite;

namespace Aggregators.ImapBridge.State;

/// <summary>
/// <see cref="IWatcherStateStore"/> on its own SQLite file (by default <c>&lt;data dir&gt;/bridge.db</c>,
/// separate from the PNA's database so the standalone bridge host uses the same store). WAL mode,
/// one connection serialised by a lock: writes are one small transaction per delivered batch.
/// </summary>
public sealed class SqliteWatcherStateStore : IWatcherStateStore, IDisposable
{
    public const string DefaultFileName = "bridge.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS mailbox_state (
            account TEXT NOT NULL,
            mailbox TEXT NOT NULL,
            uidvalidity INTEGER NOT NULL,
            uidnext INTEGER NOT NULL,
            messages INTEGER NOT NULL,
            unseen INTEGER NOT NULL,
            subscribed INTEGER NOT NULL,
            highestmodseq INTEGER NULL,
            generation INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (account, mailbox)
        ) WITHOUT ROWID;
        """;

    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;

    public SqliteWatcherStateStore(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        FilePath = path;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; " + Schema;
        cmd.ExecuteNonQuery();
        AddGenerationColumn();
    }

    /// <summary>A bridge.db written before the delivery generation existed gets the column (generation 0).</summary>
    private void AddGenerationColumn()
    {
        using var info = _connection.CreateCommand();
        info.CommandText = "SELECT COUNT(*) FROM pragma_table_info('mailbox_state') WHERE name = 'generation'";
        if ((long)info.ExecuteScalar()! == 0)
        {
            using var alter = _connection.CreateCommand();
            alter.CommandText = "ALTER TABLE mailbox_state ADD COLUMN generation INTEGER NOT NULL DEFAULT 0";
            alter.ExecuteNonQuery();
        }
    }

    /// <summary>The file.</summary>
    public string FilePath { get; }

    public ValueTask<IReadOnlyDictionary<string, MailboxSnapshot>> LoadAsync(string account, CancellationToken cancellationToken)
    {
        var result = new Dictionary<string, MailboxSnapshot>(StringComparer.Ordinal);
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT mailbox, uidvalidity, uidnext, messages, unseen, subscribed, highestmodseq, generation FROM mailbox_state WHERE account = $a";
            cmd.Parameters.AddWithValue("$a", account);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var name = r.GetString(0);
                result[name] = new MailboxSnapshot(
                    name,
                    (uint)r.GetInt64(1),
                    (uint)r.GetInt64(2),
                    (uint)r.GetInt64(3),
                    (uint)r.GetInt64(4),
                    r.GetInt64(5) != 0,
                    r.IsDBNull(6) ? null : unchecked((ulong)r.GetInt64(6)),
                    unchecked((ulong)r.GetInt64(7)));
            }
        }
        return ValueTask.FromResult<IReadOnlyDictionary<string, MailboxSnapshot>>(result);
    }

    public ValueTask SaveAsync(string account, IReadOnlyCollection<MailboxSnapshot> changed, IReadOnlyCollection<string> removed, CancellationToken cancellationToken)
    {
        if (changed.Count == 0 && removed.Count == 0)
        {
            return ValueTask.CompletedTask;
        }
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            foreach (var name in removed)
            {
                using var del = _connection.CreateCommand();
                del.Transaction = tx;
                del.CommandText = "DELETE FROM mailbox_state WHERE account = $a AND mailbox = $m";
                del.Parameters.AddWithValue("$a", account);
                del.Parameters.AddWithValue("$m", name);
                del.ExecuteNonQuery();
            }
            foreach (var s in changed)
            {
                using var up = _connection.CreateCommand();
                up.Transaction = tx;
                up.CommandText = """
                    INSERT INTO mailbox_state (account, mailbox, uidvalidity, uidnext, messages, unseen, subscribed, highestmodseq, generation)
                    VALUES ($a, $m, $v, $n, $c, $u, $s, $h, $g)
                    ON CONFLICT (account, mailbox) DO UPDATE SET uidvalidity = $v, uidnext = $n, messages = $c, unseen = $u,
                        subscribed = $s, highestmodseq = $h, generation = $g
                    """;
                up.Parameters.AddWithValue("$a", account);
                up.Parameters.AddWithValue("$m", s.Mailbox);
                up.Parameters.AddWithValue("$v", (long)s.UidValidity);
                up.Parameters.AddWithValue("$n", (long)s.UidNext);
                up.Parameters.AddWithValue("$c", (long)s.Messages);
                up.Parameters.AddWithValue("$u", (long)s.Unseen);
                up.Parameters.AddWithValue("$s", s.Subscribed ? 1 : 0);
                up.Parameters.AddWithValue("$h", s.HighestModSeq is { } h ? unchecked((long)h) : DBNull.Value);
                up.Parameters.AddWithValue("$g", unchecked((long)s.Generation));
                up.ExecuteNonQuery();
            }
            tx.Commit();
        }
        return ValueTask.CompletedTask;
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
        }
    }
}
