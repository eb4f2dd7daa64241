using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel.Bodies;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// baresip (Debian baresip-core) as a real MWI softphone: it REGISTERs through its outbound proxy,
/// then mwi.so SUBSCRIBEs to message-summary; every NOTIFY body comes out of ctrl_tcp as a
/// netstring JSON event MWI_NOTIFY, which this fixture collects. Run under <c>timeout -k</c> (its
/// REGISTER flood bug ignores SIGTERM, testbed-notes) and killed with the whole tree.
/// </summary>
public sealed class BaresipPhone : IAsyncDisposable
{
    public const string Executable = "/usr/bin/baresip";
    private readonly PeerProcess _process;
    private readonly TcpClient _ctrl;
    private readonly Task _reading;
    private readonly CancellationTokenSource _stop = new();

    private BaresipPhone(PeerProcess process, TcpClient ctrl)
    {
        _process = process;
        _ctrl = ctrl;
        _reading = Task.Run(ReadEventsAsync);
    }

    /// <summary>The MWI bodies received, in order.</summary>
    public ConcurrentQueue<MessageSummary> Mwi { get; } = new();

    public string Log => _process.Tail();

    /// <summary>
    /// Starts baresip with the account &lt;<paramref name="aor"/>&gt; (its MWI subscription goes to it)
    /// through the outbound proxy on <paramref name="outboundPort"/>, answering challenges as
    /// <paramref name="authUser"/> (default: the AOR's user).
    /// </summary>
    /// <param name="outboundPort">Where REGISTER and SUBSCRIBE go (the PNA, the CNA or a proxy), on loopback.</param>
    /// <param name="password">The digest password.</param>
    /// <param name="lifetime">baresip is killed after this.</param>
    /// <param name="aor">The account's address of record.</param>
    /// <param name="authUser">The digest user name, when not the AOR's user.</param>
    /// <param name="tlsCaFile">
    /// When set, the outbound URI gets <c>;transport=tls</c> and baresip trusts this PEM file
    /// (<c>sip_cafile</c>): REGISTER, SUBSCRIBE and the NOTIFYs then go over one TLS connection.
    /// </param>
    /// <param name="tcp">Without <paramref name="tlsCaFile"/>: the outbound URI gets <c>;transport=tcp</c> (one TCP connection for all).</param>
    public static async Task<BaresipPhone> StartAsync(int outboundPort, string password, TimeSpan lifetime, string aor = "sip:juliet@example.com", string? authUser = null, string? tlsCaFile = null, bool tcp = false)
    {
        var baresip = RequiredPeer.Executable(Executable, "baresip-core");
        var dir = RequiredPeer.TempDirectory("baresip");
        var sipPort = TestPorts.Next();
        var ctrlPort = TestPorts.Next();
        if (ctrlPort == sipPort + 1)
        {
            ctrlPort = TestPorts.Next(); // baresip listens for TLS on its SIP port + 1
        }
        var configs = Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "baresip");
        string Fill(string text) => text
            .Replace("{{SIP_PORT}}", sipPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{CTRL_PORT}}", ctrlPort.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{DEAD_PORT}}", TestPorts.Next().ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{OUTBOUND_PORT}}", outboundPort.ToString(CultureInfo.InvariantCulture) + (tlsCaFile is not null ? ";transport=tls" : tcp ? ";transport=tcp" : ""), StringComparison.Ordinal)
            .Replace("{{PASSWORD}}", password, StringComparison.Ordinal)
            .Replace("{{AOR}}", aor, StringComparison.Ordinal)
            .Replace("{{AUTH_USER}}", authUser ?? aor[4..aor.IndexOf('@', StringComparison.Ordinal)], StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(dir, "config"), Fill(File.ReadAllText(Path.Combine(configs, "config")))
            + (tlsCaFile is null ? "" : "sip_cafile\t\t" + tlsCaFile + "\n"));
        File.WriteAllText(Path.Combine(dir, "accounts"), Fill(File.ReadAllText(Path.Combine(configs, "accounts"))));
        File.WriteAllText(Path.Combine(dir, "contacts"), "");
        var process = PeerProcess.Start("baresip", "/usr/bin/timeout",
            ["-k", "5", ((int)lifetime.TotalSeconds).ToString(CultureInfo.InvariantCulture), baresip, "-f", dir],
            Path.Combine(dir, "baresip.log"), dir);
        try
        {
            await process.WaitForTcpPortAsync(ctrlPort, TimeSpan.FromSeconds(15));
            var ctrl = new TcpClient();
            await ctrl.ConnectAsync("127.0.0.1", ctrlPort);
            return new BaresipPhone(process, ctrl);
        }
        catch
        {
            await process.KillAsync();
            await process.DisposeAsync();
            throw;
        }
    }

    /// <summary>Reads netstrings "len:json," from ctrl_tcp and keeps the MWI_NOTIFY bodies.</summary>
    private async Task ReadEventsAsync()
    {
        var buffer = new List<byte>();
        var chunk = new byte[8192];
        try
        {
            // Inside the try: a test that ends within moments may dispose the client before this runs.
            var stream = _ctrl.GetStream();
            while (!_stop.IsCancellationRequested)
            {
                var n = await stream.ReadAsync(chunk, _stop.Token);
                if (n == 0)
                {
                    return;
                }
                buffer.AddRange(chunk.AsSpan(0, n));
                while (TryTakeNetstring(buffer, out var json))
                {
                    using var doc = JsonDocument.Parse(json);
                    if (doc.RootElement.TryGetProperty("type", out var type) && type.GetString() == "MWI_NOTIFY"
                        && doc.RootElement.TryGetProperty("param", out var param)
                        && MessageSummary.TryParse(param.GetString(), out var summary, out _))
                    {
                        Mwi.Enqueue(summary!);
                    }
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or JsonException)
        {
        }
    }

    private static bool TryTakeNetstring(List<byte> buffer, out string json)
    {
        json = "";
        var colon = buffer.IndexOf((byte)':');
        if (colon <= 0 || !int.TryParse(Encoding.ASCII.GetString([.. buffer.Take(colon)]), NumberStyles.None, CultureInfo.InvariantCulture, out var length))
        {
            return false;
        }
        if (buffer.Count < colon + 1 + length + 1)
        {
            return false;
        }
        json = Encoding.UTF8.GetString([.. buffer.Skip(colon + 1).Take(length)]);
        buffer.RemoveRange(0, colon + 1 + length + 1);
        return true;
    }

    /// <summary>Waits (bounded) until the latest MWI body satisfies <paramref name="condition"/>.</summary>
    public async Task<MessageSummary> WaitForMwiAsync(Func<MessageSummary, bool> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            if (Mwi.LastOrDefault() is { } last && condition(last))
            {
                return last;
            }
            if (DateTime.UtcNow > deadline || _process.HasExited)
            {
                throw new TimeoutException($"baresip: timed out waiting for {what}; MWI seen: {Mwi.Count}, last: {Mwi.LastOrDefault()}\n{Log}");
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _ctrl.Dispose();
        await _process.StopAsync(TimeSpan.FromSeconds(3));
        await _process.DisposeAsync();
        try
        {
            await _reading;
        }
        catch (OperationCanceledException)
        {
        }
        _stop.Dispose();
    }
}
