using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.ImapBridge.Imap;
using Xunit.Abstractions;

namespace Aggregators.ImapBridge.Tests;

/// <summary>
/// Reports (does not assert) the managed memory of 1,000 idle connected clients, the figure the
/// bridge's sizing depends on (1,000 idle accounts in ~30 KB each without TLS).
/// </summary>
public sealed class IdleMemoryMeasurement(ITestOutputHelper output)
{
    private const int Connections = 1000;
    private static readonly byte[] s_greeting = Encoding.ASCII.GetBytes("* OK [CAPABILITY IMAP4rev1 IDLE LITERAL+] ready\r\n");

    [Fact]
    public async Task Managed_memory_per_idle_connection_is_reported()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        listener.Listen(2048);
        var port = ((IPEndPoint)listener.LocalEndPoint!).Port;

        // Server side: plain blocking sockets that only greet, so their own cost is small and measured apart.
        var serverSockets = new List<Socket>(Connections * 2);
        const int warmUp = 20;
        var accepting = Task.Run(() =>
        {
            for (var i = 0; i < (Connections * 2) + (warmUp * 2); i++)
            {
                var s = listener.Accept();
                s.Send(s_greeting);
                lock (serverSockets)
                {
                    serverSockets.Add(s);
                }
            }
        });

        // Warm up (JIT, pools, statics) so that the baseline holds only steady-state objects.
        var options = new ImapClientOptions { Port = port };
        for (var i = 0; i < warmUp; i++)
        {
            using var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, port);
            await using var c = await ImapClient.ConnectAsync(options);
        }
        await WaitForAcceptsAsync(serverSockets, warmUp * 2);

        // Baseline: the cost of a bare connected client socket pair (client socket + accepted socket).
        var before = Measure();
        var raw = new List<Socket>(Connections);
        for (var i = 0; i < Connections; i++)
        {
            var s = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            await s.ConnectAsync(IPAddress.Loopback, port);
            raw.Add(s);
        }
        await WaitForAcceptsAsync(serverSockets, Connections + (warmUp * 2));
        var afterRaw = Measure();

        var clients = new List<ImapClient>(Connections);
        for (var i = 0; i < Connections; i++)
        {
            clients.Add(await ImapClient.ConnectAsync(options));
        }
        await WaitForAcceptsAsync(serverSockets, (Connections * 2) + (warmUp * 2));
        await Task.Delay(200); // let every read loop reach its zero-byte read
        var afterClients = Measure();
        await accepting;

        var rawPair = (afterRaw - before) / (double)Connections;
        var total = (afterClients - afterRaw) / (double)Connections;
        output.WriteLine($"bare socket pair (client + accepted): {rawPair:F0} B per connection");
        output.WriteLine($"idle ImapClient + its accepted server socket: {total:F0} B per connection");
        output.WriteLine($"idle ImapClient alone (estimate, minus half a bare pair): {total - (rawPair / 2):F0} B per connection");
        Assert.All(clients, c => Assert.True(c.IsConnected));

        GC.KeepAlive(raw);
        foreach (var c in clients)
        {
            await c.DisposeAsync();
        }
        foreach (var s in raw)
        {
            s.Dispose();
        }
        lock (serverSockets)
        {
            serverSockets.ForEach(s => s.Dispose());
        }
    }

    private static long Measure()
    {
        for (var i = 0; i < 3; i++)
        {
            GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
            GC.WaitForPendingFinalizers();
        }
        return GC.GetTotalMemory(forceFullCollection: true);
    }

    private static async Task WaitForAcceptsAsync(List<Socket> accepted, int count)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            lock (accepted)
            {
                if (accepted.Count >= count)
                {
                    return;
                }
            }
            await Task.Delay(10, cts.Token);
        }
    }
}
