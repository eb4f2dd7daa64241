using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.Tests.Shared;

/// <summary>
/// A DNS server on a loopback UDP port that answers SRV queries (RFC 2782) from a table the test
/// fills, and answers every other name with no records; it records the names asked. For the
/// SRV resolver (src/Sip/Dns) of the CNA and of the PNA's alert sender.
/// </summary>
internal sealed class LoopbackDnsServer : IAsyncDisposable
{
    private readonly Socket _socket = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
    private readonly Task _serving;
    private readonly Lock _gate = new();
    private readonly List<string> _asked = [];

    public LoopbackDnsServer()
    {
        _socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        _serving = Task.Run(ServeAsync);
    }

    public IPEndPoint EndPoint => (IPEndPoint)_socket.LocalEndPoint!;

    /// <summary>SRV records by name (<c>_sip._tcp.example.com</c>): priority, weight, port, target.</summary>
    public Dictionary<string, (ushort Priority, ushort Weight, ushort Port, string Target)[]> Srv { get; } = new(StringComparer.OrdinalIgnoreCase);

    public IReadOnlyList<string> Asked
    {
        get
        {
            lock (_gate)
            {
                return [.. _asked];
            }
        }
    }

    private async Task ServeAsync()
    {
        var buffer = new byte[512];
        while (true)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _socket.ReceiveFromAsync(buffer, SocketFlags.None, new IPEndPoint(IPAddress.Any, 0));
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                return; // the test is over
            }
            var query = buffer.AsSpan(0, r.ReceivedBytes).ToArray();
            var name = QuestionName(query);
            lock (_gate)
            {
                _asked.Add(name);
            }
            var answer = Answer(query, Srv.TryGetValue(name, out var records) ? records : []);
            await _socket.SendToAsync(answer, SocketFlags.None, r.RemoteEndPoint);
        }
    }

    /// <summary>The question's name of a query (labels from offset 12, RFC 1035 §4.1.2).</summary>
    public static string QuestionName(byte[] query)
    {
        var labels = new List<string>();
        for (var at = 12; at < query.Length && query[at] != 0; at += query[at] + 1)
        {
            labels.Add(Encoding.ASCII.GetString(query, at + 1, query[at]));
        }
        return string.Join('.', labels);
    }

    /// <summary>An answer to <paramref name="query"/> with SRV records (targets as compression pointers to a name written once when repeated).</summary>
    public static byte[] Answer(byte[] query, params (ushort Priority, ushort Weight, ushort Port, string Target)[] records)
    {
        var m = new List<byte>(query);
        m[2] = 0x81; // QR, RD
        m[3] = 0x80; // RA, NOERROR
        m[6] = 0;
        m[7] = (byte)records.Length;
        var firstTarget = new Dictionary<string, int>();
        foreach (var (priority, weight, port, target) in records)
        {
            m.AddRange([0xC0, 12]); // the question's name
            m.AddRange([0, 33, 0, 1, 0, 0, 0x0E, 0x10]); // SRV IN TTL 3600
            var rdata = new List<byte>();
            rdata.AddRange([(byte)(priority >> 8), (byte)priority, (byte)(weight >> 8), (byte)weight, (byte)(port >> 8), (byte)port]);
            if (firstTarget.TryGetValue(target, out var at))
            {
                rdata.AddRange([(byte)(0xC0 | (at >> 8)), (byte)at]);
            }
            else
            {
                firstTarget[target] = m.Count + 2 + 6;
                foreach (var label in target.Split('.', StringSplitOptions.RemoveEmptyEntries))
                {
                    rdata.Add((byte)label.Length);
                    rdata.AddRange(Encoding.ASCII.GetBytes(label));
                }
                rdata.Add(0);
            }
            m.AddRange([(byte)(rdata.Count >> 8), (byte)rdata.Count]);
            m.AddRange(rdata);
        }
        return [.. m];
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _serving;
    }
}
