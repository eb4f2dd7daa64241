using System.Net;
using System.Text;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>The response head reader and the status-only client transactions built on it.</summary>
public class ResponseFastPathTests
{
    private static readonly IPEndPoint Peer = new(IPAddress.Loopback, 5070);

    private const string Plain =
        "SIP/2.0 200 OK\r\n" +
        "Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc123;rport=5060;received=127.0.0.1\r\n" +
        "Via: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bKother\r\n" +
        "From: <sip:juliet@example.com>;tag=1\r\n" +
        "To: <sip:juliet@example.com>;tag=2\r\n" +
        "Call-ID: c1\r\n" +
        "CSeq: 4711 NOTIFY\r\n" +
        "Content-Length: 0\r\n\r\n";

    private static bool Read(string text, out int status, out string branch, out uint sequence, out string method)
    {
        var ok = SipResponseHead.TryRead(Encoding.UTF8.GetBytes(text), SipParserLimits.Default, out var head);
        status = head.StatusCode;
        branch = Encoding.ASCII.GetString(head.Branch);
        sequence = head.Sequence;
        method = ok ? head.MethodName() : "";
        return ok;
    }

    [Fact]
    public void Reads_status_top_Via_branch_and_CSeq_of_a_plain_response()
    {
        Assert.True(Read(Plain, out var status, out var branch, out var sequence, out var method));
        Assert.Equal(200, status);
        Assert.Equal("z9hG4bKabc123", branch);
        Assert.Equal(4711u, sequence);
        Assert.Same(SipMethods.Notify, method);
    }

    [Fact]
    public void Reads_compact_Via_and_spaces_around_parameters()
    {
        var text = Plain.Replace("Via: SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKabc123;", "v: SIP/2.0/UDP 127.0.0.1:5060 ; rport ; branch = z9hG4bKabc123 ;", StringComparison.Ordinal);
        Assert.True(Read(text, out _, out var branch, out _, out _));
        Assert.Equal("z9hG4bKabc123", branch);
    }

    [Theory]
    [InlineData("INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 INVITE\r\n\r\n")] // a request
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\nCSeq: 1 NOTIFY\r\n\r\n")] // no branch
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\n\r\n")] // no CSeq
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\nCSeq: 2 NOTIFY\r\n\r\n")] // two CSeqs
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h\r\n ;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n")] // folded
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;x=\"a\";branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n")] // quotes
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 99999999999 NOTIFY\r\n\r\n")] // CSeq too large
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1NOTIFY\r\n\r\n")] // no LWS
    [InlineData("SIP/2.0 099 Low\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n")] // status out of range
    [InlineData("SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n")] // unterminated
    [InlineData("SIP/3.0 200 OK\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nCSeq: 1 NOTIFY\r\n\r\n")] // another version
    public void Leaves_anything_unusual_to_the_full_parser(string text) => Assert.False(Read(text, out _, out _, out _, out _));

    /// <summary>Whatever it reads agrees with the full parser (it may decline, never disagree).</summary>
    [Fact]
    public void Agrees_with_the_full_parser_on_generated_messages()
    {
        Prop.ForAll(Arb.From(SipGenerators.Message), message =>
        {
            var bytes = SipMessageWriter.ToBytes(message);
            if (!SipResponseHead.TryRead(bytes, SipParserLimits.Default, out var head)) return;
            var parsed = (SipResponse)SipMessageParser.ParseDatagram(bytes);
            Assert.Equal(parsed.StatusCode, head.StatusCode);
            Assert.Equal(parsed.TopVia!.Branch, Encoding.ASCII.GetString(head.Branch));
            Assert.Equal(parsed.CSeq.Sequence, head.Sequence);
            Assert.Equal(parsed.CSeq.Method, head.MethodName());
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Never_throws_on_hostile_bytes()
    {
        Prop.ForAll<byte[]>(bytes =>
        {
            _ = SipResponseHead.TryRead(bytes, SipParserLimits.Default, out _);
            _ = SipResponseHead.TryRead([.. "SIP/2.0 200 OK\r\nVia: "u8, .. bytes, .. "\r\n\r\n"u8], SipParserLimits.Default, out _);
        }).QuickCheckThrowOnFailure();
    }

    private sealed class User : ISipClientTransactionUser
    {
        public List<SipClientTransactionResult> Results { get; } = [];
        public int ThreadId { get; private set; }

        public void OnCompleted(SipNonInviteClientTransaction transaction, SipClientTransactionResult result)
        {
            Results.Add(result);
            ThreadId = Environment.CurrentManagedThreadId;
        }
    }

    private static SipRequest Notify(string branch)
    {
        var m = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi, Rfc3261ExampleTests.MwiBody));
        m.Headers.Set(SipHeaderNames.Via, new SipVia("UDP", "127.0.0.1", 5060) { Branch = branch }.ToString());
        return m;
    }

    private static byte[] Ok(string branch, uint cseq, string method = "NOTIFY", int code = 200) => Encoding.ASCII.GetBytes(
        $"SIP/2.0 {code} Whatever\r\nVia: SIP/2.0/UDP 127.0.0.1:5060;branch={branch}\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:a@b>;tag=2\r\nCall-ID: x\r\nCSeq: {cseq} {method}\r\nContent-Length: 0\r\n\r\n");

    [Fact]
    public void A_status_only_transaction_completes_from_the_head_on_the_receiving_thread()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(SipTimerSettings.Default, clock);
        var user = new User();
        var branch = SipTransactionKey.NewBranch();
        var request = Notify(branch);
        var tx = layer.SendRequest(request, new TestTransport(), Peer, user, statusOnly: true);

        Assert.True(layer.TryMatchResponse(Ok(branch, request.CSeq.Sequence, code: 180), SipParserLimits.Default));
        Assert.Equal(SipTransactionState.Proceeding, tx.State);
        Assert.Empty(user.Results);
        Assert.True(layer.TryMatchResponse(Ok(branch, request.CSeq.Sequence, code: 481), SipParserLimits.Default));
        var result = Assert.Single(user.Results);
        Assert.Equal(Environment.CurrentManagedThreadId, user.ThreadId);
        Assert.Equal((SipClientTransactionOutcome.Response, 481), (result.Outcome, result.StatusCode));
        Assert.Null(result.Response);
        Assert.True(tx.Completion.IsCompletedSuccessfully); // the Task, made on demand, agrees
        Assert.True(layer.TryMatchResponse(Ok(branch, request.CSeq.Sequence), SipParserLimits.Default)); // absorbed
        Assert.Single(user.Results);
    }

    [Fact]
    public async Task Strays_are_consumed_and_transactions_wanting_the_whole_response_are_left_to_the_full_parse()
    {
        var layer = new SipTransactionLayer(SipTimerSettings.Default, new ManualTimeProvider());
        var branch = SipTransactionKey.NewBranch();
        var request = Notify(branch);
        var tx = layer.SendRequest(request, new TestTransport(), Peer);
        Assert.True(layer.TryMatchResponse(Ok(SipTransactionKey.NewBranch(), 1), SipParserLimits.Default)); // stray: dropped
        Assert.True(layer.TryMatchResponse(Ok(branch, 1, "MESSAGE"), SipParserLimits.Default)); // other method: stray
        Assert.False(layer.TryMatchResponse(Ok(branch, request.CSeq.Sequence), SipParserLimits.Default));
        Assert.Equal(SipTransactionState.Trying, tx.State);
        Assert.True(layer.ProcessResponse((SipResponse)SipMessageParser.ParseDatagram(Ok(branch, request.CSeq.Sequence))));
        Assert.Equal(200, (await tx.Completion).Response!.StatusCode);
    }

    /// <summary>Over real UDP sockets: the 200 completes the NOTIFY on the receive loop and never reaches the inbox.</summary>
    [Fact]
    public async Task Udp_receive_loop_completes_status_only_transactions_and_queues_the_rest()
    {
        var notifierInbox = System.Threading.Channels.Channel.CreateUnbounded<Transport.SipReceivedMessage>();
        var peerInbox = System.Threading.Channels.Channel.CreateUnbounded<Transport.SipReceivedMessage>();
        var layer = new SipTransactionLayer();
        var any = new IPEndPoint(IPAddress.Loopback, 0);
        await using var notifier = Transport.SipUdpTransport.Bind(new Transport.SipTransportOptions
        {
            LocalEndPoint = any,
            ResponseFastPath = m => layer.TryMatchResponse(m, SipParserLimits.Default),
        }, notifierInbox);
        await using var peer = Transport.SipUdpTransport.Bind(new Transport.SipTransportOptions { LocalEndPoint = any }, peerInbox);

        var done = new TaskCompletionSource<SipClientTransactionResult>(TaskCreationOptions.RunContinuationsAsynchronously);
        var branch = SipTransactionKey.NewBranch();
        layer.SendRequest(Notify(branch), notifier, peer.LocalEndPoint, new Completion(done), statusOnly: true);
        SipRequest notify;
        do
        {
            notify = (await peerInbox.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30))).Message as SipRequest ?? Notify("z9hG4bKnot-ours");
        }
        while (notify.TopVia!.Branch != branch); // ours (a busy machine may add timer E resends)
        await peer.SendAsync(SipMessageParser.ParseDatagram(Ok(branch, notify.CSeq.Sequence)), notifier.LocalEndPoint);
        Assert.Equal(200, (await done.Task.WaitAsync(TimeSpan.FromSeconds(30))).StatusCode);

        // A request still goes up through the inbox, with its source address.
        var second = SipTransactionKey.NewBranch();
        await peer.SendAsync(Notify(second), notifier.LocalEndPoint);
        while (true)
        {
            var queued = await notifierInbox.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.NotEqual(branch, queued.Message.TopVia?.Branch); // the 200 was not queued
            if (queued.Message is SipRequest r && r.TopVia?.Branch == second)
            {
                Assert.Equal(peer.LocalEndPoint, queued.RemoteEndPoint);
                break;
            }
        }
    }

    private sealed class Completion(TaskCompletionSource<SipClientTransactionResult> done) : ISipClientTransactionUser
    {
        public void OnCompleted(SipNonInviteClientTransaction transaction, SipClientTransactionResult result) => done.TrySetResult(result);
    }

    [Fact]
    public void Timer_F_tells_the_user_of_a_timeout()
    {
        var clock = new ManualTimeProvider();
        var layer = new SipTransactionLayer(SipTimerSettings.Default, clock);
        var user = new User();
        layer.SendRequest(Notify(SipTransactionKey.NewBranch()), new TestTransport(), Peer, user, statusOnly: true);
        clock.Advance(TimeSpan.FromSeconds(33));
        Assert.Equal(SipClientTransactionOutcome.Timeout, Assert.Single(user.Results).Outcome);
        Assert.Equal(0, layer.ClientTransactionCount);
    }
}
