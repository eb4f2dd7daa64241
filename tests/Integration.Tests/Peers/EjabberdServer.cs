using System.Globalization;
using Aggregators.Xmpp.Component;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A real ejabberd 23.01 (`ejabberdctl ... foreground`) on free loopback ports, from
/// Configs/ejabberd: virtual hosts example.com and example.net, users juliet@example.com and
/// romeo@example.net (registered with ejabberdctl), and the external component
/// events.example.com (ejabberd_service) with <see cref="Secret"/>. See /work/shared/testbed-notes.md.
/// </summary>
public sealed class EjabberdServer : IAsyncLifetime
{
    public const string Secret = "s3cret";
    public const string Ejabberdctl = "/usr/sbin/ejabberdctl";

    private PeerProcess? _process;

    public string Directory { get; private set; } = "";
    public int C2sPort { get; private set; }
    public int ComponentPort { get; private set; }
    private string NodeName { get; set; } = "";

    public async Task InitializeAsync()
    {
        RequiredPeer.Executable(Ejabberdctl, "ejabberd");
        Directory = RequiredPeer.TempDirectory("ejabberd");
        C2sPort = TestPorts.Next();
        ComponentPort = TestPorts.Next();
        var distPort = TestPorts.Next();
        NodeName = $"ejabberd{distPort}@localhost";
        var etc = Path.Combine(Directory, "etc");
        foreach (var dir in new[] { etc, Path.Combine(Directory, "spool"), Path.Combine(Directory, "logs") })
        {
            System.IO.Directory.CreateDirectory(dir);
        }
        var templates = Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "ejabberd");
        foreach (var file in new[] { "ejabberd.yml", "ejabberdctl.cfg", "inetrc" })
        {
            var text = (await File.ReadAllTextAsync(Path.Combine(templates, file)))
                .Replace("${DIR}", Directory, StringComparison.Ordinal)
                .Replace("${C2S_PORT}", C2sPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("${COMPONENT_PORT}", ComponentPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("${DIST_PORT}", distPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("${SECRET}", Secret, StringComparison.Ordinal);
            await File.WriteAllTextAsync(Path.Combine(etc, file), text);
        }
        // As root ejabberdctl switches to the 'ejabberd' user: it must own its directories.
        await RunAsync("chown", ["-R", "ejabberd:ejabberd", Directory]);
        await StartAsync();
        foreach (var (jid, password) in ProsodyServer.Users)
        {
            var at = jid.IndexOf('@', StringComparison.Ordinal);
            await CtlAsync("register", jid[..at], jid[(at + 1)..], password);
        }
    }

    private string[] CtlArguments(params string[] command)
    {
        var etc = Path.Combine(Directory, "etc");
        return ["--config-dir", etc, "--ctl-config", Path.Combine(etc, "ejabberdctl.cfg"), "--config", Path.Combine(etc, "ejabberd.yml"),
            "--spool", Path.Combine(Directory, "spool"), "--logs", Path.Combine(Directory, "logs"), "--node", NodeName, .. command];
    }

    private Task CtlAsync(params string[] command) => RunAsync(Ejabberdctl, CtlArguments(command));

    private async Task RunAsync(string file, string[] arguments)
    {
        using var p = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo(file, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Directory,
        })!;
        var output = p.StandardOutput.ReadToEndAsync();
        var errors = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await p.WaitForExitAsync(cts.Token);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', arguments)} failed ({p.ExitCode}): {await output}{await errors}");
        }
    }

    /// <summary>Starts ejabberd (again) in the foreground and waits until c2s and the component listener are bound.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("ejabberd is already running");
        }
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _process = PeerProcess.Start("ejabberd", Ejabberdctl, CtlArguments("foreground"), Path.Combine(Directory, "ejabberd.out"), Directory);
        await _process.WaitForTcpPortAsync(C2sPort, TimeSpan.FromSeconds(60));
        await _process.WaitForTcpPortAsync(ComponentPort, TimeSpan.FromSeconds(60));
    }

    /// <summary>`ejabberdctl stop` (the foreground VM then exits); SIGTERM/SIGKILL if it does not.</summary>
    public async Task StopAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }
        try
        {
            await CtlAsync("stop");
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            while (!process.HasExited)
            {
                await Task.Delay(50, cts.Token);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException)
        {
            await process.StopAsync();
        }
    }

    /// <summary>Options for an external component of <paramref name="domain"/> on this server.</summary>
    public ComponentOptions ComponentOptions(string domain, string secret = Secret) => new()
    {
        Host = "127.0.0.1",
        Port = ComponentPort,
        Domain = domain,
        Secret = secret,
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        MaxReconnectDelay = TimeSpan.FromSeconds(2),
    };

    /// <summary>ejabberd's own log, for failure messages.</summary>
    public string Log()
    {
        var path = Path.Combine(Directory, "logs", "ejabberd.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    public async Task DisposeAsync()
    {
        await StopAsync();
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
