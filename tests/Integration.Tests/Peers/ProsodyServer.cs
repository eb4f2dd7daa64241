using Aggregators.Xmpp.Component;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A real Prosody 0.12 (`prosody -F`) on free loopback ports, from Configs/prosody/prosody.cfg.lua:
/// virtual hosts example.com and example.net, users juliet@example.com and romeo@example.net
/// (registered with prosodyctl), and the external component domains the XMPP tests use, all
/// with <see cref="Secret"/>. See /work/shared/testbed-notes.md.
/// </summary>
public sealed class ProsodyServer : IAsyncLifetime
{
    public const string Secret = "s3cret";
    public const string Prosody = "/usr/bin/prosody";
    public const string Prosodyctl = "/usr/bin/prosodyctl";

    /// <summary>Accounts registered on start: JID -> password.</summary>
    public static readonly IReadOnlyDictionary<string, string> Users = new Dictionary<string, string>
    {
        ["juliet@example.com"] = "juliet-pw",
        ["romeo@example.net"] = "romeo-pw",
    };

    private PeerProcess? _process;

    public string Directory { get; private set; } = "";
    public string ConfigPath => Path.Combine(Directory, "prosody.cfg.lua");
    public int C2sPort { get; private set; }
    public int ComponentPort { get; private set; }
    public PeerProcess Process => _process ?? throw new InvalidOperationException("Prosody is not running");

    public async Task InitializeAsync()
    {
        RequiredPeer.Executable(Prosody, "prosody");
        RequiredPeer.Executable(Prosodyctl, "prosody");
        Directory = RequiredPeer.TempDirectory("prosody");
        C2sPort = TestPorts.Next();
        ComponentPort = TestPorts.Next();
        var template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "prosody", "prosody.cfg.lua"));
        var config = template.Replace("${DIR}", Directory, StringComparison.Ordinal)
            .Replace("${C2S_PORT}", C2sPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("${COMPONENT_PORT}", ComponentPort.ToString(System.Globalization.CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("${SECRET}", Secret, StringComparison.Ordinal);
        await File.WriteAllTextAsync(ConfigPath, config);
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "data"));
        foreach (var (jid, password) in Users)
        {
            var at = jid.IndexOf('@', StringComparison.Ordinal);
            await RegisterAsync(jid[..at], jid[(at + 1)..], password);
        }
        await StartAsync();
    }

    /// <summary>Creates an account with prosodyctl (works while Prosody runs).</summary>
    public async Task RegisterAsync(string user, string host, string password)
    {
        var (code, output) = await PeerCommand.RunAsync(
            Prosodyctl, ["--config", ConfigPath, "register", user, host, password], null, TimeSpan.FromSeconds(30));
        if (code != 0)
        {
            throw new InvalidOperationException($"prosodyctl register {user} {host} failed ({code}): {output}");
        }
    }

    /// <summary>Deletes an account with <c>prosodyctl deluser</c> (works while Prosody runs; its sessions are not kicked).</summary>
    public async Task DeleteUserAsync(string jid)
    {
        var (code, output) = await PeerCommand.RunAsync(
            Prosodyctl, ["--config", ConfigPath, "deluser", jid], null, TimeSpan.FromSeconds(30));
        if (code != 0)
        {
            throw new InvalidOperationException($"prosodyctl deluser {jid} failed ({code}): {output}");
        }
    }

    /// <summary>Starts Prosody (again) on the same ports and waits until both listen.</summary>
    public async Task StartAsync()
    {
        if (_process is { HasExited: false })
        {
            throw new InvalidOperationException("Prosody is already running");
        }
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
        _process = PeerProcess.Start("prosody", Prosody, ["--config", ConfigPath, "-F"], Path.Combine(Directory, "prosody.out"));
        await _process.WaitForTcpPortAsync(C2sPort, TimeSpan.FromSeconds(20));
        await _process.WaitForTcpPortAsync(ComponentPort, TimeSpan.FromSeconds(20));
    }

    /// <summary>SIGTERM (Prosody closes its streams and exits in under a second).</summary>
    public Task StopAsync() => _process?.StopAsync() ?? Task.CompletedTask;

    /// <summary>Options for an external component of <paramref name="domain"/> on this server.</summary>
    public ComponentOptions ComponentOptions(string domain, string secret = Secret) => new()
    {
        Host = "127.0.0.1",
        Port = ComponentPort,
        Domain = domain,
        Secret = secret,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        ReconnectDelay = TimeSpan.FromMilliseconds(200),
        MaxReconnectDelay = TimeSpan.FromSeconds(2),
    };

    /// <summary>Prosody's own log, for failure messages.</summary>
    public string Log()
    {
        var path = Path.Combine(Directory, "prosody.log");
        return File.Exists(path) ? File.ReadAllText(path) : "(no log)";
    }

    public async Task DisposeAsync()
    {
        if (_process is not null)
        {
            await _process.DisposeAsync();
        }
    }
}
