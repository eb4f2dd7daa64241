using Microsoft.Data.Sqlite;

namespace Aggregators.ImapBridge.Delivery;

/// <summary>One queued event: its position, its id (for logs) and its JSON text (one NDJSON line, no newline).</summary>
public sealed record QueuedEvent(long Sequence, string? Id, byte[] Json);

/// <summary>
/// The HTTP delivery's durable FIFO of encoded events: a SQLite file (default
/// <c>&lt;bridge data dir&gt;/delivery.db</c>, WAL, synchronous=FULL so an append that returned
/// survives a crash or power loss). Bounded by the total size of the queued JSON:
/// <see cref="TryAppend"/> takes a whole batch or nothing. One connection serialised by a lock.
/// </summary>
public sealed class DurableEventQueue : IDisposable
{
    public const string DefaultFileName = "delivery.db";

    private const string Schema = """
        CREATE TABLE IF NOT EXISTS queue (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            id TEXT NULL,
            json BLOB NOT NULL
        );
        """;

    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;
    private long _bytes;
    private long _count;

    public DurableEventQueue(string path, long maxBytes)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBytes, 1);
        var directory = Path.GetDirectoryName(Path.GetFullPath(path));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }
        FilePath = path;
        MaxBytes = maxBytes;
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        _connection.Open();
        using (var setup = _connection.CreateCommand())
        {
            setup.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; " + Schema;
            setup.ExecuteNonQuery();
        }
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = "SELECT COUNT(*), COALESCE(SUM(LENGTH(json)), 0) FROM queue";
        using var r = cmd.ExecuteReader();
        r.Read();
        _count = r.GetInt64(0);
        _bytes = r.GetInt64(1);
    }

    public string FilePath { get; }

    /// <summary>The bound on the sum of the queued events' JSON sizes.</summary>
    public long MaxBytes { get; }

    public long Bytes
    {
        get
        {
            lock (_lock)
            {
                return _bytes;
            }
        }
    }

    public long Count
    {
        get
        {
            lock (_lock)
            {
                return _count;
            }
        }
    }

    /// <summary>
    /// Appends every event, durably, in one transaction; false (nothing appended) when they would
    /// take the queue over <see cref="MaxBytes"/>. A batch larger than the whole bound is an
    /// <see cref="ArgumentException"/>: it could never be taken.
    /// </summary>
    public bool TryAppend(IReadOnlyList<(string? Id, byte[] Json)> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        var size = 0L;
        foreach (var (_, json) in events)
        {
            size += json.Length;
        }
        if (size > MaxBytes)
        {
            throw new ArgumentException($"a batch of {size} bytes can never fit a queue bounded at {MaxBytes} bytes", nameof(events));
        }
        lock (_lock)
        {
            if (_bytes + size > MaxBytes)
            {
                return false;
            }
            using var tx = _connection.BeginTransaction();
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "INSERT INTO queue (id, json) VALUES ($id, $json)";
            var id = cmd.Parameters.Add("$id", SqliteType.Text);
            var json = cmd.Parameters.Add("$json", SqliteType.Blob);
            foreach (var e in events)
            {
                id.Value = (object?)e.Id ?? DBNull.Value;
                json.Value = e.Json;
                cmd.ExecuteNonQuery();
            }
            tx.Commit();
            _bytes += size;
            _count += events.Count;
            return true;
        }
    }

    /// <summary>The oldest events, at most <paramref name="maxEvents"/> and <paramref name="maxBytes"/> (but at least one when any).</summary>
    public IReadOnlyList<QueuedEvent> Peek(int maxEvents, long maxBytes)
    {
        var result = new List<QueuedEvent>();
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT seq, id, json FROM queue ORDER BY seq LIMIT $n";
            cmd.Parameters.AddWithValue("$n", maxEvents);
            using var r = cmd.ExecuteReader();
            var size = 0L;
            while (r.Read())
            {
                var json = (byte[])r.GetValue(2);
                if (result.Count > 0 && size + json.Length > maxBytes)
                {
                    break;
                }
                size += json.Length;
                result.Add(new QueuedEvent(r.GetInt64(0), r.IsDBNull(1) ? null : r.GetString(1), json));
            }
        }
        return result;
    }

    /// <summary>Removes the given events (acknowledged or given up), durably.</summary>
    public void Remove(IReadOnlyList<QueuedEvent> events)
    {
        ArgumentNullException.ThrowIfNull(events);
        if (events.Count == 0)
        {
            return;
        }
        lock (_lock)
        {
            using var tx = _connection.BeginTransaction();
            using var cmd = _connection.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM queue WHERE seq = $seq";
            var seq = cmd.Parameters.Add("$seq", SqliteType.Integer);
            var removed = 0L;
            var bytes = 0L;
            foreach (var e in events)
            {
                seq.Value = e.Sequence;
                if (cmd.ExecuteNonQuery() == 1)
                {
                    removed++;
                    bytes += e.Json.Length;
                }
            }
            tx.Commit();
            _count -= removed;
            _bytes -= bytes;
        }
    }

    public void Dispose()
    {
        lock (_lock)
        {
            _connection.Dispose();
        }
    }
}
