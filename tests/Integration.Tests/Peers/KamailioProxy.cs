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

    public static async Task<KamailioProxy> StartAsync(int pnaPort)
    {
        var kamailio = RequiredPeer.Executable(Executable, "kamailio");
        var dir = RequiredPeer.TempDirectory("kamailio");
        var port = TestPorts.Next();
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "kamailio", "kamailio.cfg"));
        var cfg = Path.Combine(dir, "kamailio.cfg");
        File.WriteAllText(cfg, template
            .Replace("{{PORT}}", port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{PNA_PORT}}", pnaPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal));
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
