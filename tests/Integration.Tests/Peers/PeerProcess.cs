using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A real peer (Dovecot, Prosody, ...) run as a foreground child process that the test owns:
/// output goes to a log file in the peer's directory, readiness is a bound port (or a greeting),
/// and stopping is SIGTERM, then SIGKILL of the whole process group after a grace period.
/// See /work/shared/testbed-notes.md for how each peer runs here.
/// </summary>
public sealed class PeerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;
    private readonly StringBuilder _tail = new();

    private PeerProcess(string name, Process process, string logPath, StreamWriter log)
    {
        Name = name;
        _process = process;
        LogPath = logPath;
        _log = log;
    }

    public string Name { get; }
    public string LogPath { get; }
    public int Pid => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>The exit code, once <see cref="HasExited"/>.</summary>
    public int ExitCode => _process.ExitCode;

    /// <summary>Waits for the peer to exit by itself (a one-shot tool such as sipp); false on timeout.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Starts <paramref name="fileName"/> with <paramref name="arguments"/>, logging to <paramref name="logPath"/>.</summary>
    public static PeerProcess Start(
        string name, string fileName, IEnumerable<string> arguments, string logPath,
        string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(arguments);
        var psi = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Path.GetDirectoryName(logPath)!,
        };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        if (environment is not null)
        {
            foreach (var (k, v) in environment)
            {
                psi.Environment[k] = v;
            }
        }
        Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
        var log = new StreamWriter(logPath, append: true) { AutoFlush = true };
        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        var peer = new PeerProcess(name, process, logPath, log);
        process.OutputDataReceived += (_, e) => peer.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => peer.OnLine(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException($"{name}: could not start {fileName}");
        }
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return peer;
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }
        lock (_tail)
        {
            _log.WriteLine(line);
            _tail.AppendLine(line);
            if (_tail.Length > 16_384)
            {
                _tail.Remove(0, _tail.Length - 8_192);
            }
        }
    }

    /// <summary>The last lines the peer printed, for failure messages.</summary>
    public string Tail()
    {
        lock (_tail)
        {
            return _tail.ToString();
        }
    }

    /// <summary>Waits until something accepts TCP connections on 127.0.0.1:<paramref name="port"/>.</summary>
    public async Task WaitForTcpPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Name} exited with code {_process.ExitCode} before listening on {port}. Output:\n{Tail()}");
            }
            try
            {
                using var client = new TcpClient();
                await client.ConnectAsync(IPAddress.Loopback, port).ConfigureAwait(false);
                return;
            }
            catch (SocketException)
            {
                await Task.Delay(50).ConfigureAwait(false);
            }
        }
        throw new TimeoutException($"{Name} did not listen on 127.0.0.1:{port} within {timeout}. Output:\n{Tail()}");
    }

    /// <summary>Waits until some UDP socket is bound to 127.0.0.1:<paramref name="port"/> (read from /proc/net/udp).</summary>
    public async Task WaitForUdpPortAsync(int port, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        var hex = $"0100007F:{port:X4}";
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException(
                    $"{Name} exited with code {_process.ExitCode} before binding UDP {port}. Output:\n{Tail()}");
            }
            if ((await File.ReadAllTextAsync("/proc/net/udp").ConfigureAwait(false)).Contains(hex, StringComparison.Ordinal))
            {
                return;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"{Name} did not bind UDP 127.0.0.1:{port} within {timeout}. Output:\n{Tail()}");
    }

    /// <summary>SIGTERM, wait up to <paramref name="grace"/>, then SIGKILL the whole tree.</summary>
    public async Task StopAsync(TimeSpan? grace = null)
    {
        if (_process.HasExited)
        {
            return;
        }
        Signal(_process.Id, 15);
        using var cts = new CancellationTokenSource(grace ?? TimeSpan.FromSeconds(5));
        try
        {
            await _process.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    /// <summary>SIGKILL at once (a crash, as far as the peer's clients can tell).</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync().ConfigureAwait(false);
        }
    }

    private static void Signal(int pid, int signal)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [$"-{signal}", pid.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            UseShellExecute = false,
        });
        kill?.WaitForExit();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        _process.Dispose();
        lock (_tail)
        {
            _log.Dispose();
        }
    }
}
