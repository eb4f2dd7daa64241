using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>The reusable client transaction of a dialog (RFC 3261 §17.1.2.2 over UDP, one request at a time).</summary>
public class TransactionSlotTests
{
    private static readonly SipTimerSettings Timers = SipTimerSettings.Default;
    private static readonly SocketAddress Peer = new IPEndPoint(IPAddress.Loopback, 5070).Serialize();

    private sealed class Datagrams : ISipDatagramTransport
    {
        public List<byte[]> Sent { get; } = [];
        public int DropNext { get; set; }
        public bool Fail { get; set; }
        public SipTransportProtocol Protocol => SipTransportProtocol.Udp;
        public bool IsReliable => false;
        public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5060);

        public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
        {
            if (Fail) throw new SocketException((int)SocketError.NetworkUnreachable);
            if (DropNext > 0)
            {
                DropNext--;
                return;
            }
            Sent.Add(datagram.ToArray());
        }

        public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class User : ISipClientSlotUser
    {
        public List<(SipClientTransactionOutcome Outcome, int Status)> Ends { get; } = [];

        public void OnCompleted(SipClientTransactionSlot slot, SipClientTransactionOutcome outcome, int statusCode) => Ends.Add((outcome, statusCode));
    }

    private static void Start(SipClientTransactionSlot slot, Datagrams transport, User user, uint cseq) =>
        slot.Start(transport, Peer, SipMethods.Notify, user, cseq, static (buffer, branch, n) =>
        {
            var text = Encoding.ASCII.GetBytes(
                "NOTIFY sip:juliet@127.0.0.1:5070 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch=" + Encoding.ASCII.GetString(branch) + ";rport\r\n" +
                "Max-Forwards: 70\r\nFrom: <sip:pna@example.com>;tag=a\r\nTo: <sip:juliet@example.com>;tag=b\r\nCall-ID: c1\r\n" +
                $"CSeq: {n} NOTIFY\r\nEvent: message-summary\r\nSubscription-State: active;expires=60\r\nContent-Length: 0\r\n\r\n");
            return text.AsSpan().TryCopyTo(buffer) ? text.Length : -1;
        });

    private static string BranchOf(byte[] request) => ((SipRequest)SipMessageParser.ParseDatagram(request)).TopVia!.Branch!;

    private static byte[] Response(string branch, int status, string method = "NOTIFY") => Encoding.ASCII.GetBytes(
        $"SIP/2.0 {status} Whatever\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch={branch};rport\r\nFrom: <sip:pna@example.com>;tag=a\r\n" +
        $"To: <sip:juliet@example.com>;tag=b\r\nCall-ID: c1\r\nCSeq: 4 {method}\r\nContent-Length: 0\r\n\r\n");

    [Fact]
    public void A_final_response_completes_once_and_the_next_request_has_a_new_branch_that_old_responses_do_not_match()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(Timers, clock);
        var transport = new Datagrams();
        var user = new User();
        var slot = layer.AcquireSlot();
        Start(slot, transport, user, 4);
        var first = BranchOf(transport.Sent[0]);
        Assert.StartsWith(SipVia.MagicCookie, first, StringComparison.Ordinal);
        Assert.Equal(2, layer.ScheduledTimers); // E and F

        Assert.True(layer.TryMatchResponse(Response(first, 180), SipParserLimits.Default));
        Assert.Equal(SipTransactionState.Proceeding, slot.State);
        Assert.True(layer.TryMatchResponse(Response(first, 200, "SUBSCRIBE"), SipParserLimits.Default)); // other method: a stray
        Assert.Empty(user.Ends);
        Assert.True(layer.TryMatchResponse(Response(first, 200), SipParserLimits.Default));
        Assert.True(layer.TryMatchResponse(Response(first, 200), SipParserLimits.Default)); // retransmission: absorbed
        Assert.Equal([(SipClientTransactionOutcome.Response, 200)], user.Ends);
        Assert.Equal(SipTransactionState.Completed, slot.State);
        Assert.Equal(2, layer.ScheduledTimers); // E and F left for the next Start to move (one queue operation per request)
        var sent = transport.Sent.Count;
        clock.Advance(TimeSpan.FromMilliseconds(600)); // E falls due: the transaction is over, nothing is resent
        Assert.Equal(sent, transport.Sent.Count);
        Assert.Equal(1, layer.ScheduledTimers);

        Start(slot, transport, user, 5);
        var second = BranchOf(transport.Sent[1]);
        Assert.NotEqual(first, second);
        Assert.True(layer.TryMatchResponse(Response(first, 481), SipParserLimits.Default)); // the old transaction's: stray
        Assert.Single(user.Ends);
        Assert.True(layer.ProcessResponse((SipResponse)SipMessageParser.ParseDatagram(Response(second, 481)))); // the full-parse path matches too
        Assert.Equal((SipClientTransactionOutcome.Response, 481), user.Ends[1]);
    }

    [Fact]
    public void Timer_E_retransmits_the_same_bytes_T1_doubling_to_T2_and_timer_F_times_out()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(Timers, clock);
        var transport = new Datagrams();
        var user = new User();
        var slot = layer.AcquireSlot();
        var start = clock.GetTimestamp();
        Start(slot, transport, user, 4);
        var times = new List<long> { 0 };
        for (var ms = 0; ms < 40_000; ms += 50)
        {
            clock.Advance(TimeSpan.FromMilliseconds(50));
            if (transport.Sent.Count > times.Count) times.Add((clock.GetTimestamp() - start) / 1_000_000);
        }
        Assert.Equal([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], times);
        Assert.All(transport.Sent, s => Assert.Equal(transport.Sent[0], s));
        Assert.Equal([(SipClientTransactionOutcome.Timeout, 0)], user.Ends);
        Assert.Equal(SipTransactionState.Terminated, slot.State);
        Assert.Equal(0, layer.ScheduledTimers);
    }

    [Fact]
    public void A_lost_request_is_retransmitted_until_answered_and_a_failed_send_ends_with_a_transport_error()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(Timers, clock);
        var transport = new Datagrams { DropNext = 2 };
        var user = new User();
        var slot = layer.AcquireSlot();
        Start(slot, transport, user, 4);
        clock.Advance(TimeSpan.FromMilliseconds(1500)); // sends at 0 and 0.5 s lost, the third arrives
        Assert.Single(transport.Sent);
        Assert.Equal(3, slot.Transmissions);
        Assert.True(layer.TryMatchResponse(Response(BranchOf(transport.Sent[0]), 200), SipParserLimits.Default));
        Assert.Equal([(SipClientTransactionOutcome.Response, 200)], user.Ends);

        transport.Fail = true;
        Start(slot, transport, user, 5);
        Assert.Equal((SipClientTransactionOutcome.TransportError, 0), user.Ends[1]);
        clock.Advance(TimeSpan.FromSeconds(64)); // the ended transaction's E and F fall due and do nothing
        Assert.Equal(2, user.Ends.Count);
        Assert.Equal(0, layer.ScheduledTimers);
    }

    [Fact]
    public void Two_layers_never_send_the_same_branch_and_do_not_take_each_others_responses()
    {
        // A second layer (another UA in the process, or the notifier made again after an in-process restart)
        // starts its slots at index 0, generation 1 too: its random part keeps the branches apart (§8.1.1.7).
        var clock = new ManualTimeProvider();
        var (a, b) = (new SipTransactionLayer(Timers, clock), new SipTransactionLayer(Timers, clock));
        var transport = new Datagrams();
        var (userA, userB) = (new User(), new User());
        Start(a.AcquireSlot(), transport, userA, 4);
        Start(b.AcquireSlot(), transport, userB, 4);
        Assert.NotEqual(BranchOf(transport.Sent[0]), BranchOf(transport.Sent[1]));
        Assert.True(b.TryMatchResponse(Response(BranchOf(transport.Sent[0]), 200), SipParserLimits.Default)); // a stray for b
        Assert.Empty(userA.Ends);
        Assert.Empty(userB.Ends);
    }

    [Fact]
    public void One_request_at_a_time_and_a_released_slot_comes_back_with_later_generations()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(Timers, clock);
        var transport = new Datagrams();
        var user = new User();
        var slot = layer.AcquireSlot();
        Start(slot, transport, user, 4);
        Assert.Throws<InvalidOperationException>(() => Start(slot, transport, user, 5));
        var inFlight = BranchOf(transport.Sent[0]);
        slot.Release();
        Assert.Equal(0, layer.ScheduledTimers);
        Assert.True(layer.TryMatchResponse(Response(inFlight, 200), SipParserLimits.Default)); // dropped with the slot
        Assert.Empty(user.Ends);

        var again = layer.AcquireSlot();
        Assert.Same(slot, again);
        Start(again, transport, user, 6);
        Assert.NotEqual(inFlight, BranchOf(transport.Sent[1]));
    }
}
