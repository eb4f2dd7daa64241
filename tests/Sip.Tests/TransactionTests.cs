using System.Net;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>A transport that records what is sent and can drop packets or fail, for transaction tests.</summary>
internal sealed class TestTransport(bool reliable = false) : ISipTransport
{
    public List<(SipMessage Message, IPEndPoint To)> Sent { get; } = [];
    public int DropNext { get; set; }
    public bool Fail { get; set; }
    public SipTransportProtocol Protocol => reliable ? SipTransportProtocol.Tcp : SipTransportProtocol.Udp;
    public bool IsReliable => reliable;
    public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5060);

    public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        if (Fail) return ValueTask.FromException(new IOException("network is down"));
        if (DropNext > 0)
        {
            DropNext--;
            return ValueTask.CompletedTask; // lost on the way
        }
        // Through the codec, as on the wire.
        Sent.Add((SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(message)), remote));
        return ValueTask.CompletedTask;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

public class TransactionTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Loopback, 5070);
    private static readonly SipTimerSettings Timers = SipTimerSettings.Default;

    private static SipRequest Notify(string? branch = null)
    {
        var m = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi, Rfc3261ExampleTests.MwiBody));
        m.Headers.Set(SipHeaderNames.Via, new SipVia("UDP", "127.0.0.1", 5060) { Branch = branch ?? SipTransactionKey.NewBranch() }.ToString());
        return m;
    }

    private static SipResponse ResponseTo(SipRequest request, int code)
    {
        var r = new SipResponse(code);
        foreach (var h in request.Headers)
            if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.To or SipHeaderNames.CallId or SipHeaderNames.CSeq)
                r.Headers.Add(h.Name, h.RawValue);
        return r;
    }

    /// <summary>The result of a completion that the fake clock has already brought about.</summary>
    private static SipClientTransactionResult Result(SipNonInviteClientTransaction tx)
    {
        Assert.True(tx.Completion.IsCompleted, "the transaction has not completed");
        return tx.Completion.GetAwaiter().GetResult();
    }

    [Fact]
    public void Client_retransmits_with_T1_doubling_capped_at_T2_and_times_out_with_timer_F()
    {
        var clock = new ManualTimeProvider();
        var transport = new TestTransport();
        var layer = new SipTransactionLayer(Timers, clock);
        var start = clock.GetUtcNow();
        var times = new List<double>();
        var tx = layer.SendRequest(Notify(), transport, Peer);
        times.Add(0);
        var seen = 1;
        for (var ms = 0; ms < 40_000; ms += 50)
        {
            clock.Advance(TimeSpan.FromMilliseconds(50));
            if (transport.Sent.Count > seen)
            {
                seen = transport.Sent.Count;
                times.Add((clock.GetUtcNow() - start).TotalMilliseconds);
            }
        }
        // E fires at 0.5, 1.5, 3.5, 7.5, 11.5, ... s (intervals 0.5, 1, 2, 4, 4, ...) until F at 32 s.
        Assert.Equal([0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500], times);
        Assert.True(tx.Completion.IsCompleted);
        Assert.Equal(SipClientTransactionOutcome.Timeout, Result(tx).Outcome);
        Assert.Equal(SipTransactionState.Terminated, tx.State);
        Assert.Equal(0, layer.ClientTransactionCount);
    }

    [Fact]
    public void Client_survives_lost_packets_then_completes_and_absorbs_retransmitted_responses_until_K()
    {
        var clock = new ManualTimeProvider();
        var transport = new TestTransport { DropNext = 2 };
        var layer = new SipTransactionLayer(Timers, clock);
        var provisional = new List<int>();
        var request = Notify();
        var tx = layer.SendRequest(request, transport, Peer, r => provisional.Add(r.StatusCode));
        clock.Advance(TimeSpan.FromMilliseconds(1500)); // two sends lost, the third (at 1.5 s) arrives
        Assert.Single(transport.Sent);
        Assert.Equal(3, tx.Transmissions);

        Assert.True(layer.ProcessResponse(ResponseTo(request, 100)));
        Assert.Equal(SipTransactionState.Proceeding, tx.State);
        Assert.Equal([100], provisional);
        clock.Advance(TimeSpan.FromSeconds(4)); // Proceeding: retransmit every T2
        Assert.Equal(2, transport.Sent.Count);

        Assert.True(layer.ProcessResponse(ResponseTo(request, 200)));
        Assert.Equal(SipTransactionState.Completed, tx.State);
        Assert.Equal(200, Result(tx).Response!.StatusCode);
        Assert.True(layer.ProcessResponse(ResponseTo(request, 200))); // absorbed
        clock.Advance(TimeSpan.FromSeconds(4.9));
        Assert.Equal(SipTransactionState.Completed, tx.State);
        Assert.Equal(2, transport.Sent.Count); // no retransmission after the final response
        clock.Advance(TimeSpan.FromSeconds(0.2)); // timer K = T4
        Assert.Equal(SipTransactionState.Terminated, tx.State);
        Assert.False(layer.ProcessResponse(ResponseTo(request, 200))); // stray now
    }

    [Fact]
    public void Reliable_client_never_retransmits_and_terminates_on_the_final_response()
    {
        var clock = new ManualTimeProvider();
        var transport = new TestTransport(reliable: true);
        var layer = new SipTransactionLayer(Timers, clock);
        var request = Notify();
        var tx = layer.SendRequest(request, transport, Peer);
        clock.Advance(TimeSpan.FromSeconds(20));
        Assert.Single(transport.Sent);
        layer.ProcessResponse(ResponseTo(request, 481));
        Assert.Equal(SipTransactionState.Terminated, tx.State);
        Assert.Equal(481, Result(tx).Response!.StatusCode);
    }

    [Fact]
    public void Client_transport_error_terminates_with_TransportError()
    {
        var layer = new SipTransactionLayer(Timers, new ManualTimeProvider());
        var tx = layer.SendRequest(Notify(), new TestTransport { Fail = true }, Peer);
        Assert.Equal(SipClientTransactionOutcome.TransportError, Result(tx).Outcome);
        Assert.Equal(0, layer.ClientTransactionCount);
    }

    [Fact]
    public void Responses_match_by_branch_and_method_only()
    {
        var layer = new SipTransactionLayer(Timers, new ManualTimeProvider());
        var request = Notify();
        var tx = layer.SendRequest(request, new TestTransport(), Peer);
        var otherBranch = ResponseTo(Notify(), 200);
        Assert.False(layer.ProcessResponse(otherBranch));
        var otherMethod = ResponseTo(request, 200);
        otherMethod.CSeq = new SipCSeq(20, SipMethods.Subscribe);
        Assert.False(layer.ProcessResponse(otherMethod));
        Assert.Equal(SipTransactionState.Trying, tx.State);
    }

    [Fact]
    public async Task Server_absorbs_retransmissions_and_resends_the_last_response_until_timer_J()
    {
        var clock = new ManualTimeProvider();
        var transport = new TestTransport();
        var layer = new SipTransactionLayer(Timers, clock);
        var request = Notify("z9hG4bKserver1");
        var tx = layer.ProcessRequest(request, transport, Peer)!;
        Assert.NotNull(tx);
        Assert.Null(layer.ProcessRequest(Notify("z9hG4bKserver1"), transport, Peer)); // Trying: absorbed, nothing sent
        Assert.Empty(transport.Sent);

        await tx.SendResponseAsync(ResponseTo(request, 100));
        Assert.Null(layer.ProcessRequest(Notify("z9hG4bKserver1"), transport, Peer));
        Assert.Equal([100, 100], transport.Sent.Select(s => ((SipResponse)s.Message).StatusCode));

        await tx.SendResponseAsync(ResponseTo(request, 200));
        Assert.Equal(SipTransactionState.Completed, tx.State);
        Assert.Null(layer.ProcessRequest(Notify("z9hG4bKserver1"), transport, Peer));
        Assert.Equal([100, 100, 200, 200], transport.Sent.Select(s => ((SipResponse)s.Message).StatusCode));
        await Assert.ThrowsAsync<InvalidOperationException>(() => tx.SendResponseAsync(ResponseTo(request, 500)).AsTask());

        clock.Advance(Timers.TransactionTimeout - TimeSpan.FromMilliseconds(1));
        Assert.Equal(SipTransactionState.Completed, tx.State);
        clock.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(SipTransactionState.Terminated, tx.State);
        Assert.Equal(0, layer.ServerTransactionCount);
        // After J a retransmission is a new request again (§17.2.2).
        Assert.NotNull(layer.ProcessRequest(Notify("z9hG4bKserver1"), transport, Peer));
    }

    [Fact]
    public async Task Server_on_UDP_answers_to_received_and_rport()
    {
        var transport = new TestTransport();
        var layer = new SipTransactionLayer(Timers, new ManualTimeProvider());
        var request = Notify();
        request.Headers.Set(SipHeaderNames.Via, "SIP/2.0/UDP phone.example.com;branch=z9hG4bKnat1;rport");
        var source = new IPEndPoint(IPAddress.Parse("127.0.0.9"), 40000);
        SipTransportRules.StampReceived(request, source);
        var tx = layer.ProcessRequest(request, transport, source)!;
        await tx.SendResponseAsync(ResponseTo(request, 200));
        Assert.Equal(source, transport.Sent[0].To);
        Assert.Equal("127.0.0.9", transport.Sent[0].Message.TopVia!.Received);
    }

    [Fact]
    public void Server_matching_uses_branch_sent_by_and_method()
    {
        var transport = new TestTransport();
        var layer = new SipTransactionLayer(Timers, new ManualTimeProvider());
        Assert.NotNull(layer.ProcessRequest(Notify("z9hG4bKsame"), transport, Peer));
        var otherSentBy = Notify("z9hG4bKsame");
        otherSentBy.Headers.Set(SipHeaderNames.Via, "SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bKsame");
        Assert.NotNull(layer.ProcessRequest(otherSentBy, transport, Peer));
        var noCookie = Notify("rfc2543style");
        Assert.Null(layer.ProcessRequest(noCookie, transport, Peer));
        Assert.Equal(2, layer.ServerTransactionCount);
    }

    [Fact]
    public void Branch_helper_makes_distinct_RFC_3261_branches()
    {
        var a = SipTransactionKey.NewBranch();
        Assert.True(SipTransactionKey.IsRfc3261Branch(a));
        Assert.NotEqual(a, SipTransactionKey.NewBranch());
    }
}
