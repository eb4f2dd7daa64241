using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Xmpp;

/// <summary>
/// A real XMPP client: Peers/Clients/xmpp_client.py (slixmpp) run by /usr/bin/python3. It
/// prints what it receives as JSON lines, which the test waits for; commands go to its stdin.
/// </summary>
public sealed class SlixmppClient : IAsyncDisposable
{
    public const string Python = "/usr/bin/python3";

    private readonly Process _process;
    private readonly Channel<JsonObject> _events = Channel.CreateUnbounded<JsonObject>();
    private readonly List<string> _transcript = [];

    private SlixmppClient(Process process) => _process = process;

    /// <summary>Starts the client and waits for its session to start (login done, presence sent).</summary>
    public static async Task<SlixmppClient> ConnectAsync(string jid, string password, int port)
    {
        RequiredPeer.Executable(Python, "python3");
        RequiredPeer.Executable("/usr/lib/python3/dist-packages/slixmpp/__init__.py", "python3-slixmpp");
        var psi = new ProcessStartInfo(Python, [ScriptPath(), "--jid", jid, "--password", password, "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        var process = Process.Start(psi) ?? throw new InvalidOperationException("could not start " + Python);
        var client = new SlixmppClient(process);
        process.OutputDataReceived += (_, e) => client.OnLine(e.Data, stderr: false);
        process.ErrorDataReceived += (_, e) => client.OnLine(e.Data, stderr: true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        await client.WaitForAsync(e => (string?)e["event"] == "session_start", TimeSpan.FromSeconds(30));
        return client;
    }

    /// <summary>The script: copied next to the tests, or found in the source tree.</summary>
    private static string ScriptPath()
    {
        var copied = Path.Combine(AppContext.BaseDirectory, "Peers", "Clients", "xmpp_client.py");
        if (File.Exists(copied))
        {
            return copied;
        }
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "Peers", "Clients", "xmpp_client.py");
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }
        throw new FileNotFoundException("Peers/Clients/xmpp_client.py not found from " + AppContext.BaseDirectory);
    }

    private void OnLine(string? line, bool stderr)
    {
        if (line is null)
        {
            if (!stderr)
            {
                _events.Writer.TryComplete();
            }
            return;
        }
        lock (_transcript)
        {
            _transcript.Add((stderr ? "err: " : "out: ") + line);
        }
        if (!stderr && line.StartsWith('{') && JsonNode.Parse(line) is JsonObject o)
        {
            _events.Writer.TryWrite(o);
        }
    }

    /// <summary>Everything the client printed, for failure messages.</summary>
    public string Transcript()
    {
        lock (_transcript)
        {
            return string.Join('\n', _transcript);
        }
    }

    /// <summary>Waits for the next event matching <paramref name="match"/> (earlier non-matching ones are dropped).</summary>
    public async Task<JsonObject> WaitForAsync(Func<JsonObject, bool> match, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (await _events.Reader.WaitToReadAsync(cts.Token))
            {
                while (_events.Reader.TryRead(out var e))
                {
                    if (match(e))
                    {
                        return e;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"slixmpp: expected event not seen within {timeout}. Transcript:\n{Transcript()}");
        }
        throw new InvalidOperationException($"slixmpp exited before the expected event. Transcript:\n{Transcript()}");
    }

    /// <summary>Sends a command line (see xmpp_client.py).</summary>
    public async Task SendAsync(object command)
    {
        await _process.StandardInput.WriteLineAsync(JsonSerializer.Serialize(command));
        await _process.StandardInput.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                await SendAsync(new { cmd = "quit" });
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await _process.WaitForExitAsync(cts.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }
        _process.Dispose();
    }
}
