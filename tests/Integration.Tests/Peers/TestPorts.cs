using System.Net;
using System.Net.Sockets;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>Free loopback ports for peers that need a fixed port in their config file.</summary>
public static class TestPorts
{
    private static int s_next = 20000 + (Environment.ProcessId % 200) * 50;

    /// <summary>
    /// A port free for both TCP and UDP on 127.0.0.1 right now. Ports are handed out from a
    /// per-process range so parallel test classes do not race for the same one.
    /// </summary>
    public static int Next()
    {
        for (var attempt = 0; attempt < 2000; attempt++)
        {
            var port = Interlocked.Increment(ref s_next);
            if (port > 60000)
            {
                Interlocked.Exchange(ref s_next, 20000);
                continue;
            }
            if (IsFree(port))
            {
                return port;
            }
        }
        throw new InvalidOperationException("no free loopback port found");
    }

    private static bool IsFree(int port)
    {
        try
        {
            using var tcp = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            tcp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            using var udp = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
            udp.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }
}
