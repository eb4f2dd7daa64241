using System.Collections.Concurrent;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A syslog receiver for peers that log only through syslog(3) (Cyrus): a Unix datagram socket
/// that the peer's /dev/log is bound to (<see cref="StartCommand"/> runs the peer in its own mount
/// namespace with a private /dev, so other processes' /dev/log is untouched). Keeps the last lines
/// received (RFC 3164 "&lt;PRI&gt;timestamp tag[pid]: text", as glibc sends them) for failure messages.
/// </summary>
public sealed class SyslogSink : IDisposable
{
    private const int Keep = 2000;

    private readonly Socket _socket;
    private readonly ConcurrentQueue<string> _lines = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _receive;

    public SyslogSink(string socketPath)
    {
        SocketPath = socketPath;
        File.Delete(socketPath);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        _socket.Bind(new UnixDomainSocketEndPoint(socketPath));
        // The peer's processes run as another user (cyrus): anyone may send.
        File.SetUnixFileMode(socketPath, (UnixFileMode)0x1B6);
        _receive = Task.Run(ReceiveAsync);
    }

    public string SocketPath { get; }

    /// <summary>Lines received so far.</summary>
    public int Count => _lines.Count;

    /// <summary>The last <paramref name="lines"/> lines, one per line, for a failure message.</summary>
    public string Tail(int lines = 60)
    {
        var all = _lines.ToArray();
        return all.Length == 0 ? "(no syslog lines)" : string.Join('\n', all.Skip(Math.Max(0, all.Length - lines)));
    }

    /// <summary>
    /// The command that runs <paramref name="fileName"/> with its /dev/log bound to this sink:
    /// <c>unshare --mount</c>, a tmpfs /dev holding only null, zero, random, urandom, fd and log.
    /// </summary>
    public (string FileName, List<string> Arguments) StartCommand(string fileName, IEnumerable<string> arguments, string scratchDirectory)
    {
        var oldDev = Path.Combine(scratchDirectory, "host-dev");
        Directory.CreateDirectory(oldDev);
        var script = string.Join(" && ",
            $"mount --bind /dev '{oldDev}'",
            "mount -t tmpfs -o mode=755 tmpfs /dev",
            $"for n in null zero random urandom; do touch /dev/$n && mount --bind '{oldDev}'/$n /dev/$n; done",
            "ln -s /proc/self/fd /dev/fd",
            "touch /dev/log",
            $"mount --bind '{SocketPath}' /dev/log",
            $"umount -l '{oldDev}'",
            "exec \"$@\"");
        var args = new List<string> { "--mount", "--propagation", "private", "/bin/sh", "-c", script, "syslog-sink" };
        args.Add(fileName);
        args.AddRange(arguments);
        return ("/usr/bin/unshare", args);
    }

    private async Task ReceiveAsync()
    {
        var buffer = new byte[8192];
        while (!_stop.IsCancellationRequested)
        {
            int n;
            try
            {
                n = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            _lines.Enqueue(Encoding.UTF8.GetString(buffer, 0, n).TrimEnd('\0', '\n'));
            while (_lines.Count > Keep)
            {
                _lines.TryDequeue(out _);
            }
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _socket.Dispose();
        try
        {
            _receive.Wait(TimeSpan.FromSeconds(5));
        }
        catch (AggregateException)
        {
        }
        _stop.Dispose();
    }
}
