using System.Globalization;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Kamailio (Debian kamailio) as the site's proxy in front of the PNA (Peers/Configs/kamailio):
/// foreground (<c>-DD -E</c>), one UDP worker on a loopback port, stopped with SIGTERM then
/// SIGKILL of the whole tree (testbed-notes: a child can survive holding the port).
/// </summary>
public sealed class KamailioProxy : IAsyncDisposable
{
    public const string Executable = "/usr/sbin/kamailio";
    private readonly PeerProcess _process;

    private KamailioProxy(PeerProcess process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public string Log => _process.Tail();

    public static Task<KamailioProxy> StartAsync(int pnaPort) =>
        StartAsync("kamailio.cfg", new Dictionary<string, string> { ["PNA_PORT"] = pnaPort.ToString(CultureInfo.InvariantCulture) });

    /// <summary>
    /// The proxy for SIP alerts (Configs/kamailio/kamailio-alerts.cfg): MESSAGE over TCP or UDP on
    /// <see cref="Port"/>, challenged with digest proxy authentication for <paramref name="user"/>
    /// in <paramref name="realm"/>, then relayed to its Request-URI.
    /// </summary>
    public static Task<KamailioProxy> StartForAlertsAsync(string realm, string user, string password) =>
        StartAsync("kamailio-alerts.cfg", new Dictionary<string, string> { ["REALM"] = realm, ["USER"] = user, ["PASSWORD"] = password });

    private static async Task<KamailioProxy> StartAsync(string configuration, IReadOnlyDictionary<string, string> values)
    {
        var kamailio = RequiredPeer.Executable(Executable, "kamailio");
        var dir = RequiredPeer.TempDirectory("kamailio");
        var port = TestPorts.Next();
        var text = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "kamailio", configuration))
            .Replace("{{PORT}}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal);
        foreach (var (name, value) in values)
        {
            text = text.Replace("{{" + name + "}}", value, StringComparison.Ordinal);
        }
        var cfg = Path.Combine(dir, "kamailio.cfg");
        File.WriteAllText(cfg, text);
        var run = Path.Combine(dir, "run");
        Directory.CreateDirectory(run);
        var process = PeerProcess.Start("kamailio", kamailio, ["-DD", "-E", "-Y", run, "-f", cfg], Path.Combine(dir, "kamailio.log"), dir);
        try
        {
            await process.WaitForUdpPortAsync(port, TimeSpan.FromSeconds(15));
        }
        catch
        {
            await process.KillAsync();
            await process.DisposeAsync();
            throw;
        }
        return new KamailioProxy(process, port);
    }

    public async ValueTask DisposeAsync()
    {
        await _process.StopAsync(TimeSpan.FromSeconds(3));
        await _process.DisposeAsync();
    }
}
