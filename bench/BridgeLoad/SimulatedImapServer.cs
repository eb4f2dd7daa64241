using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.BridgeLoad;

/// <summary>
/// Just enough of an IMAP4rev1 server (RFC 3501) for the account watcher in IDLE-only mode: LOGIN,
/// CAPABILITY, LIST, STATUS, SELECT, UID FETCH, IDLE/DONE, NOOP, LOGOUT; one mailbox (INBOX) per user.
/// While a user idles, <see cref="PushNewMessage"/> and <see cref="PushSeen"/> send untagged EXISTS /
/// FETCH and return the timestamp taken just before the bytes are written. Lean per connection: a
/// 512-byte line buffer, no per-connection timers.
/// </summary>
public sealed class SimulatedImapServer : IAsyncDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly ConcurrentDictionary<string, Session> _idling = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stop = new();
    private Task? _accept;

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public int Connections;

    public void Start()
    {
        _listener.Start(4096);
        _accept = AcceptLoopAsync();
    }

    public bool IsIdling(string user) => _idling.ContainsKey(user);

    /// <summary>Delivers a message to the user's INBOX while it idles: "* n EXISTS".</summary>
    public async Task<long> PushNewMessage(string user)
    {
        var s = _idling[user];
        var n = s.Mailbox.Messages + 1;
        s.Mailbox.Messages = n;
        s.Mailbox.UidNext++;
        var t = Stopwatch.GetTimestamp();
        await s.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"* {n} EXISTS\r\n")).ConfigureAwait(false);
        return t;
    }

    /// <summary>Marks the newest message \Seen while the user idles: "* n FETCH (UID u FLAGS (\Seen))".</summary>
    public async Task<long> PushSeen(string user)
    {
        var s = _idling[user];
        var m = s.Mailbox;
        m.Seen.Add(m.UidNext - 1);
        var t = Stopwatch.GetTimestamp();
        await s.WriteAsync(string.Create(CultureInfo.InvariantCulture, $"* {m.Messages} FETCH (UID {m.UidNext - 1} FLAGS (\\Seen))\r\n")).ConfigureAwait(false);
        return t;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            Socket socket;
            try
            {
                socket = await _listener.AcceptSocketAsync(_stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or SocketException or ObjectDisposedException)
            {
                return;
            }
            // Like a real server's interactive socket: no Nagle delay on small untagged responses.
            socket.NoDelay = true;
            Interlocked.Increment(ref Connections);
            _ = Task.Run(() => new Session(this, socket).RunAsync(_stop.Token));
        }
    }

    private sealed class MailboxModel
    {
        public uint Messages;
        public uint UidNext = 1;
        public readonly HashSet<uint> Seen = [];
        public uint Unseen => (uint)(Messages - Seen.Count);
    }

    private static readonly ConcurrentDictionary<string, MailboxModel> Mailboxes = new(StringComparer.Ordinal);

    private sealed class Session(SimulatedImapServer server, Socket socket)
    {
        private const string Caps = "IMAP4rev1 IDLE";
        private readonly NetworkStream _stream = new(socket, ownsSocket: true);
        private readonly SemaphoreSlim _write = new(1, 1);
        private string _user = "";

        public MailboxModel Mailbox { get; private set; } = new();

        public async Task WriteAsync(string text)
        {
            var bytes = Encoding.ASCII.GetBytes(text);
            await _write.WaitAsync().ConfigureAwait(false);
            try
            {
                await _stream.WriteAsync(bytes).ConfigureAwait(false);
            }
            finally
            {
                _write.Release();
            }
        }

        public async Task RunAsync(CancellationToken ct)
        {
            var buffer = new byte[512];
            var filled = 0;
            try
            {
                await WriteAsync($"* OK [CAPABILITY {Caps}] simulated\r\n").ConfigureAwait(false);
                while (true)
                {
                    var eol = Array.IndexOf(buffer, (byte)'\n', 0, filled);
                    if (eol < 0)
                    {
                        if (filled == buffer.Length)
                        {
                            return;
                        }
                        var n = await _stream.ReadAsync(buffer.AsMemory(filled), ct).ConfigureAwait(false);
                        if (n == 0)
                        {
                            return;
                        }
                        filled += n;
                        continue;
                    }
                    var line = Encoding.ASCII.GetString(buffer, 0, eol).TrimEnd('\r');
                    Array.Copy(buffer, eol + 1, buffer, 0, filled - eol - 1);
                    filled -= eol + 1;
                    if (!await HandleAsync(line).ConfigureAwait(false))
                    {
                        return;
                    }
                }
            }
            catch (Exception e) when (e is IOException or SocketException or OperationCanceledException or ObjectDisposedException)
            {
            }
            finally
            {
                server._idling.TryRemove(KeyValuePair.Create(_user, this));
                await _stream.DisposeAsync().ConfigureAwait(false);
            }
        }

        private string? _idleTag;

        private async Task<bool> HandleAsync(string line)
        {
            if (_idleTag is { } idleTag)
            {
                if (string.Equals(line, "DONE", StringComparison.OrdinalIgnoreCase))
                {
                    server._idling.TryRemove(KeyValuePair.Create(_user, this));
                    _idleTag = null;
                    await WriteAsync($"{idleTag} OK IDLE terminated\r\n").ConfigureAwait(false);
                }
                return true;
            }
            var parts = line.Split(' ', 3);
            var tag = parts[0];
            var command = parts.Length > 1 ? parts[1].ToUpperInvariant() : "";
            var rest = parts.Length > 2 ? parts[2] : "";
            var m = Mailbox;
            switch (command)
            {
                case "CAPABILITY":
                    await WriteAsync($"* CAPABILITY {Caps}\r\n{tag} OK done\r\n").ConfigureAwait(false);
                    return true;
                case "LOGIN":
                    _user = rest.Split(' ')[0].Trim('"');
                    Mailbox = Mailboxes.GetOrAdd(_user, _ => new MailboxModel());
                    await WriteAsync($"{tag} OK [CAPABILITY {Caps}] logged in\r\n").ConfigureAwait(false);
                    return true;
                case "LIST":
                    await WriteAsync($"* LIST (\\HasNoChildren) \"/\" INBOX\r\n{tag} OK done\r\n").ConfigureAwait(false);
                    return true;
                case "STATUS":
                    await WriteAsync(string.Create(CultureInfo.InvariantCulture,
                        $"* STATUS INBOX (MESSAGES {m.Messages} UIDNEXT {m.UidNext} UIDVALIDITY 1 UNSEEN {m.Unseen})\r\n{tag} OK done\r\n")).ConfigureAwait(false);
                    return true;
                case "SELECT" or "EXAMINE":
                    await WriteAsync(string.Create(CultureInfo.InvariantCulture,
                        $"* {m.Messages} EXISTS\r\n* 0 RECENT\r\n* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n* OK [UIDVALIDITY 1] ok\r\n* OK [UIDNEXT {m.UidNext}] ok\r\n{tag} OK [READ-WRITE] done\r\n")).ConfigureAwait(false);
                    return true;
                case "UID":
                    // UID FETCH set items: every message is its own UID (no expunges here).
                    var sb = new StringBuilder();
                    for (uint i = 1; i <= m.Messages; i++)
                    {
                        if (rest.StartsWith("FETCH 1:*", StringComparison.OrdinalIgnoreCase) || rest.Contains($" {i} ", StringComparison.Ordinal) || rest.Contains($" {i}:", StringComparison.Ordinal))
                        {
                            sb.Append(CultureInfo.InvariantCulture, $"* {i} FETCH (UID {i} FLAGS ({(m.Seen.Contains(i) ? "\\Seen" : "")}) RFC822.SIZE 100)\r\n");
                        }
                    }
                    await WriteAsync(sb.Append(tag).Append(" OK done\r\n").ToString()).ConfigureAwait(false);
                    return true;
                case "IDLE":
                    _idleTag = tag;
                    server._idling[_user] = this;
                    await WriteAsync("+ idling\r\n").ConfigureAwait(false);
                    return true;
                case "NOOP":
                    await WriteAsync($"{tag} OK done\r\n").ConfigureAwait(false);
                    return true;
                case "LOGOUT":
                    await WriteAsync($"* BYE bye\r\n{tag} OK done\r\n").ConfigureAwait(false);
                    return false;
                default:
                    await WriteAsync($"{tag} BAD unknown command\r\n").ConfigureAwait(false);
                    return true;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        _listener.Stop();
        if (_accept is not null)
        {
            await _accept.ConfigureAwait(false);
        }
        _stop.Dispose();
    }
}
