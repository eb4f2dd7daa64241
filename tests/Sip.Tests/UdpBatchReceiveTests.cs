using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>The UDP transport's batched receive (recvmmsg, Linux), batched sends (sendmmsg) and its shutdown.</summary>
public sealed class UdpBatchReceiveTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private static readonly IPEndPoint AnyLoopback = new(IPAddress.Loopback, 0);

    private static byte[] Options(int cseq) => System.Text.Encoding.ASCII.GetBytes(
        "OPTIONS sip:pna@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1;branch=z9hG4bKb" + cseq +
        "\r\nFrom: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:pna@127.0.0.1>\r\nCall-ID: batch\r\nCSeq: " + cseq +
        " OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n");

    [Fact]
    public void One_call_takes_every_queued_datagram_with_its_source()
    {
        Assert.True(UdpBatchReceiver.IsSupported, "recvmmsg batching is built for 64-bit Linux; these tests run there");
        using var receiver = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        receiver.Bind(AnyLoopback);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(AnyLoopback);
        b.Bind(AnyLoopback);
        for (var i = 0; i < 5; i++) (i % 2 == 0 ? a : b).SendTo(new byte[] { (byte)i, 42 }, receiver.LocalEndPoint!);

        using var batch = new UdpBatchReceiver(AddressFamily.InterNetwork);
        var count = batch.Receive(receiver.SafeHandle, out var error);
        Assert.Equal(0, error);
        Assert.Equal(5, count); // loopback queues them before the call: one recvmmsg takes all five
        var template = new IPEndPoint(IPAddress.Any, 0);
        for (var i = 0; i < count; i++)
        {
            Assert.True(batch.TryGetDatagram(i, out var datagram, out var source));
            Assert.Equal(new byte[] { (byte)i, 42 }, datagram.ToArray());
            Assert.Equal((i % 2 == 0 ? a : b).LocalEndPoint, template.Create(source));
        }
    }

    [Fact]
    public async Task A_burst_from_two_peers_arrives_whole_in_order_with_each_source()
    {
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var server = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback, ReceiveBufferSize = 1 << 20 }, inbox);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(AnyLoopback);
        b.Bind(AnyLoopback);
        const int Burst = 200;
        for (var i = 1; i <= Burst; i++) (i % 2 == 0 ? a : b).SendTo(Options(i), server.LocalEndPoint);

        var last = new Dictionary<EndPoint, uint>();
        for (var i = 0; i < Burst; i++)
        {
            var got = await inbox.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            var cseq = got.Message.CSeq.Sequence;
            Assert.Equal((cseq % 2 == 0 ? a : b).LocalEndPoint, got.RemoteEndPoint);
            Assert.True(cseq > last.GetValueOrDefault(got.RemoteEndPoint), "datagrams of one peer stay in order");
            last[got.RemoteEndPoint] = cseq;
        }
    }

    [Fact]
    public async Task Dispose_stops_the_blocked_receive_thread_and_frees_the_port()
    {
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var server = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback }, inbox);
        var port = server.LocalEndPoint.Port;
        // The thread sits in recvmmsg: shutdown must wake it (DisposeAsync joins the thread, so run it aside to time out).
        await Task.Run(async () => await server.DisposeAsync()).WaitAsync(Wait);
        using var again = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        again.Bind(new IPEndPoint(IPAddress.Loopback, port));
    }

    [Fact]
    public async Task One_flush_sends_every_queued_datagram_to_its_own_destination()
    {
        Assert.True(SipDatagramBatch.IsNativeSupported, "sendmmsg batching is built for 64-bit Linux; these tests run there");
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using var sender = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = AnyLoopback }, inbox);
        using var a = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        using var b = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        a.Bind(AnyLoopback);
        b.Bind(AnyLoopback);
        a.ReceiveTimeout = b.ReceiveTimeout = 10_000;
        var batch = new SipDatagramBatch(sender);
        batch.Send(new byte[] { 1 }, a.LocalEndPoint!.Serialize());
        batch.Send(new byte[] { 2 }, b.LocalEndPoint!.Serialize());
        batch.Send(new byte[] { 3 }, a.LocalEndPoint!.Serialize());
        Assert.Equal(3, batch.Count);
        Assert.Equal(0, a.Available); // held until the flush
        Assert.Equal(0, batch.Flush());
        Assert.Equal(0, batch.Count);
        var buffer = new byte[SipDatagramBatch.SlotSize + 16];
        Assert.Equal(1, buffer[..a.Receive(buffer)].Single());
        Assert.Equal(3, buffer[..a.Receive(buffer)].Single());
        Assert.Equal(2, buffer[..b.Receive(buffer)].Single());

        // Too large to hold: what is queued leaves first, then the large one, at once.
        batch.Send(new byte[] { 4 }, a.LocalEndPoint!.Serialize());
        batch.Send(new byte[SipDatagramBatch.SlotSize + 1], a.LocalEndPoint!.Serialize());
        Assert.Equal(0, batch.Count);
        Assert.Equal(4, buffer[..a.Receive(buffer)].Single());
        Assert.Equal(SipDatagramBatch.SlotSize + 1, a.Receive(buffer));
    }

    [Fact]
    public void A_full_batch_flushes_before_taking_the_next_datagram()
    {
        using var sink = new Socket(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);
        sink.Bind(AnyLoopback);
        var recorder = new RecordingDatagrams();
        var batch = new SipDatagramBatch(recorder); // not a SipUdpTransport: one Send per datagram at the flush
        for (var i = 0; i < SipDatagramBatch.Capacity; i++) batch.Send(new[] { (byte)i }, sink.LocalEndPoint!.Serialize());
        Assert.Empty(recorder.Sent);
        batch.Send(new byte[] { 200 }, sink.LocalEndPoint!.Serialize());
        Assert.Equal(Enumerable.Range(0, SipDatagramBatch.Capacity).Select(i => (byte)i), recorder.Sent.Select(d => d.Single()));
        Assert.Equal(1, batch.Count);
        recorder.Fail = true;
        Assert.Equal(1, batch.Flush()); // refused: dropped and counted, timer E's business
        Assert.Equal(1, batch.Dropped);
    }

    private sealed class RecordingDatagrams : ISipDatagramTransport
    {
        public List<byte[]> Sent { get; } = [];
        public bool Fail { get; set; }
        public SipTransportProtocol Protocol => SipTransportProtocol.Udp;
        public bool IsReliable => false;
        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5060);
        public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;
        public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
        {
            if (Fail) throw new SocketException((int)SocketError.NoBufferSpaceAvailable);
            Sent.Add(datagram.ToArray());
        }
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
