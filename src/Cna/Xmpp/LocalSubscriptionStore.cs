using System.Globalization;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Microsoft.Data.Sqlite;

namespace Aggregators.Cna.Xmpp;

/// <summary>A local subscription as stored: who, at which CNA account JID and node, with which options.</summary>
public sealed record StoredLocalSubscription(long Id, Jid Subscriber, Jid Service, string Node, PubsubSubscribeOptions Options);

/// <summary>
/// Local subscriptions in SQLite (<c>cna-xmpp.db</c> in Cna:DataDirectory), so they survive a
/// CNA restart; the upstream subscriptions are derived from them (one per <see cref="UpstreamKey"/>).
/// One connection in WAL mode, serialised by a lock. Schema version in <c>PRAGMA user_version</c>.
/// </summary>
public sealed class LocalSubscriptionStore : IDisposable
{
    public const string FileName = "cna-xmpp.db";
    private const int SchemaVersion = 1;

    private readonly Lock _lock = new();
    private readonly SqliteConnection _connection;

    public LocalSubscriptionStore(string dataDirectory)
    {
        ArgumentException.ThrowIfNullOrEmpty(dataDirectory);
        Directory.CreateDirectory(dataDirectory);
        Path = System.IO.Path.Combine(dataDirectory, FileName);
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false,
        }.ToString());
        try
        {
            _connection.Open();
            Execute("PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=5000;");
            using var read = _connection.CreateCommand();
            read.CommandText = "PRAGMA user_version;";
            var version = Convert.ToInt32(read.ExecuteScalar(), CultureInfo.InvariantCulture);
            if (version > SchemaVersion)
            {
                throw new InvalidOperationException($"'{Path}' has schema version {version}, newer than the {SchemaVersion} this CNA knows: run the newer CNA or use another Cna:DataDirectory.");
            }
            if (version < 1)
            {
                Execute("""
                    CREATE TABLE IF NOT EXISTS xmpp_local_subscription (
                        id INTEGER PRIMARY KEY AUTOINCREMENT,
                        subscriber TEXT NOT NULL,
                        service TEXT NOT NULL,
                        node TEXT NOT NULL,
                        depth INTEGER NOT NULL,
                        events INTEGER NOT NULL,
                        heartbeat_seconds INTEGER,
                        created TEXT NOT NULL,
                        UNIQUE (subscriber, service, node));
                    PRAGMA user_version = 1;
                    """);
            }
        }
        catch
        {
            _connection.Dispose();
            throw;
        }
    }

    public string Path { get; }

    /// <summary>Stores a new subscription; returns its id (the local subid).</summary>
    public long Insert(Jid subscriber, Jid service, string node, PubsubSubscribeOptions options, DateTimeOffset created)
    {
        ArgumentNullException.ThrowIfNull(options);
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = """
                INSERT INTO xmpp_local_subscription (subscriber, service, node, depth, events, heartbeat_seconds, created)
                VALUES ($s, $v, $n, $d, $e, $h, $c) RETURNING id;
                """;
            cmd.Parameters.AddWithValue("$s", subscriber.ToString());
            cmd.Parameters.AddWithValue("$v", service.ToString());
            cmd.Parameters.AddWithValue("$n", node);
            cmd.Parameters.AddWithValue("$d", (int)options.Depth);
            cmd.Parameters.AddWithValue("$e", (long)options.Events.Bits);
            cmd.Parameters.AddWithValue("$h", options.Heartbeat is { } h ? (long)h.TotalSeconds : DBNull.Value);
            cmd.Parameters.AddWithValue("$c", created.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            return (long)cmd.ExecuteScalar()!;
        }
    }

    public void Delete(long id)
    {
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "DELETE FROM xmpp_local_subscription WHERE id = $id;";
            cmd.Parameters.AddWithValue("$id", id);
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>Every stored subscription; rows that no longer parse are skipped and reported through <paramref name="skipped"/>.</summary>
    public IReadOnlyList<StoredLocalSubscription> LoadAll(Action<long, string>? skipped = null)
    {
        var list = new List<StoredLocalSubscription>();
        lock (_lock)
        {
            using var cmd = _connection.CreateCommand();
            cmd.CommandText = "SELECT id, subscriber, service, node, depth, events, heartbeat_seconds FROM xmpp_local_subscription ORDER BY id;";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                var id = r.GetInt64(0);
                if (!Jid.TryParse(r.GetString(1), out var subscriber) || !Jid.TryParse(r.GetString(2), out var service)
                    || r.GetInt32(4) is not (0 or 1))
                {
                    skipped?.Invoke(id, "unreadable subscriber, service or depth");
                    continue;
                }
                var options = new PubsubSubscribeOptions((SubscriptionDepth)r.GetInt32(4), new EventTypeSet((uint)r.GetInt64(5)),
                    r.IsDBNull(6) ? null : TimeSpan.FromSeconds(r.GetInt64(6)));
                list.Add(new StoredLocalSubscription(id, subscriber, service, r.GetString(3), options));
            }
        }
        return list;
    }

    private void Execute(string sql)
    {
        using var cmd = _connection.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => _connection.Dispose();
}
