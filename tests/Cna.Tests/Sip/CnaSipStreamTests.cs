using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Aggregators.Cna.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Aggregators.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Cna.Tests.Sip;

/// <summary>
/// A local subscriber over TCP (a scripted phone: its own connection, a Contact listener) and a
/// scripted PNA over UDP: the subscription keeps its connection past the idle timeout (the
/// transport's clock is manual), and once the phone closes it, NOTIFYs go to the Contact.
/// </summary>
public sealed class CnaSipStreamTests : IAsyncDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private readonly ManualTimeProvider _clock = new();
    private readonly Channel<SipReceivedMessage> _cnaInbox = Channel.CreateUnbounded<SipReceivedMessage>();
    private readonly Channel<SipReceivedMessage> _pnaInbox = Channel.CreateUnbounded<SipReceivedMessage>();
    private readonly SipStreamTransport _cnaTcp;
    private readonly SipUdpTransport _cnaUdp;
    private readonly SipUdpTransport _pna;
    private readonly SipTransactionLayer _pnaTransactions = new(new SipTimerSettings { T1 = TimeSpan.FromMilliseconds(50) });
    private readonly CnaSipNotifier _cna;
    private readonly List<Task> _loops = [];
    private SipDialog? _upstream;

    public CnaSipStreamTests()
    {
        _cnaTcp = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), IdleTimeout = IdleTimeout, TimeProvider = _clock }, _cnaInbox.Writer);
        _cnaUdp = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _cnaInbox.Writer);
        _pna = SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0) }, _pnaInbox.Writer);
        var options = new CnaSipOptions
        {
            Enabled = true,
            Domains = { "example.net" },
            UsersFile = "unused",
            TimerT1Milliseconds = 50,
            FirstAnswerTimeoutSeconds = 5,
        };
        options.Routes["example.com"] = new CnaSipRoute { Target = _pna.LocalEndPoint.ToString(), Authentication = CnaUpstreamAuthentication.None };
        _cna = new CnaSipNotifier(options, CnaUsers.Parse(["user romeo password=pw"], "example.net"), TimeProvider.System, NullLogger<CnaSipNotifier>.Instance);
        _cna.AddTransport(_cnaUdp);
        _cna.AddTransport(_cnaTcp);
        _loops.Add(Task.Run(async () =>
        {
            await foreach (var m in _cnaInbox.Reader.ReadAllAsync()) _cna.Receive(m);
        }));
        _loops.Add(Task.Run(async () =>
        {
            await foreach (var m in _pnaInbox.Reader.ReadAllAsync()) OnUpstream(m);
        }));
    }

    /// <summary>The scripted PNA: 200 to a SUBSCRIBE, then a NOTIFY with 2 new messages.</summary>
    private void OnUpstream(SipReceivedMessage m)
    {
        if (_pnaTransactions.Dispatch(m) is not { } tx || tx.Request.Method != SipMethods.Subscribe)
        {
            return;
        }
        var request = tx.Request;
        if (request.To.Tag is not null)
        {
            var refresh = SipResponse.CreateFor(request, 200);
            refresh.Expires = request.Expires ?? 600;
            _ = tx.SendResponseAsync(refresh);
            return;
        }
        var dialog = SipDialog.CreateAsUas(request, SipDialogId.NewTag());
        _upstream = dialog;
        var ok = SipResponse.CreateFor(request, 200, toTag: dialog.Id.LocalTag);
        ok.Expires = 600;
        ok.Headers.Set(SipHeaderNames.Contact, $"<sip:pna@{_pna.LocalEndPoint}>");
        _ = tx.SendResponseAsync(ok);
        Notify(2);
    }

    private void Notify(int newMessages)
    {
        var dialog = _upstream!;
        SipRequest notify;
        lock (dialog)
        {
            notify = dialog.CreateRequest(SipMethods.Notify);
        }
        notify.Headers.Prepend(SipHeaderNames.Via, new SipVia("UDP", "127.0.0.1", _pna.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() }.ToString());
        notify.Headers.Set(SipHeaderNames.Contact, $"<sip:pna@{_pna.LocalEndPoint}>");
        notify.Event = new SipEvent("message-summary");
        notify.SubscriptionState = SipSubscriptionState.Parse("active;expires=600"u8.ToArray());
        notify.ContentType = "application/simple-message-summary";
        notify.Body = Encoding.UTF8.GetBytes($"Messages-Waiting: yes\r\nMessage-Account: sip:juliet@example.com\r\nText-Message: {newMessages}/3 (0/0)\r\n");
        _pnaTransactions.SendRequest(notify, _pna, _cnaUdp.LocalEndPoint);
    }

    /// <summary>A phone subscribing over its own TCP connection, with a Contact it listens on.</summary>
    private sealed class Phone : IAsyncDisposable
    {
        private readonly TcpListener _contact = new(IPAddress.Loopback, 0);
        private Stream? _stream;
        private SipStreamFramer? _framer;
        private uint _cseq;

        public Phone() => _contact.Start();

        public int ContactPort => ((IPEndPoint)_contact.LocalEndpoint).Port;
        public IPEndPoint? LocalEndPoint { get; private set; }
        public string CallId { get; } = Guid.NewGuid().ToString("N");

        public async Task ConnectAsync(IPEndPoint cna)
        {
            var client = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
            await client.ConnectAsync(cna);
            LocalEndPoint = (IPEndPoint)client.Client.LocalEndPoint!;
            Use(client.GetStream());
        }

        public async Task AcceptAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            Use((await _contact.AcceptTcpClientAsync(timeout.Token)).GetStream());
        }

        private void Use(Stream stream)
        {
            _stream = stream;
            _framer = new SipStreamFramer(PipeReader.Create(stream));
        }

        public async Task CloseAsync() => await _stream!.DisposeAsync();

        public Task SendAsync(SipMessage message) => _stream!.WriteAsync(SipMessageWriter.ToBytes(message)).AsTask();

        public async Task<SipMessage> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var frame = await _framer!.ReadAsync(timeout.Token);
            return frame.Message ?? throw new EndOfStreamException("the CNA closed the connection (" + frame.Kind + ")");
        }

        public SipRequest Subscribe() => (SipRequest)SipMessageParser.Parse(
            "SUBSCRIBE sip:juliet@example.com SIP/2.0\r\n" +
            $"Via: SIP/2.0/TCP 127.0.0.1:{ContactPort};branch={SipTransactionKey.NewBranch()};rport\r\n" +
            "Max-Forwards: 70\r\n" +
            "From: <sip:romeo@example.net>;tag=phone1\r\n" +
            "To: <sip:juliet@example.com>\r\n" +
            $"Call-ID: {CallId}\r\n" +
            $"CSeq: {++_cseq} SUBSCRIBE\r\n" +
            $"Contact: <sip:romeo@127.0.0.1:{ContactPort};transport=tcp>\r\n" +
            "Event: message-summary\r\n" +
            "Accept: application/simple-message-summary\r\n" +
            "Expires: 600\r\n" +
            "Content-Length: 0\r\n\r\n");

        public async ValueTask DisposeAsync()
        {
            if (_stream is not null) await _stream.DisposeAsync();
            _contact.Stop();
            _contact.Dispose();
        }
    }

    private static SipResponse Answer(SipRequest request, int code)
    {
        var r = new SipResponse(code);
        foreach (var h in request.Headers)
            if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.To or SipHeaderNames.CallId or SipHeaderNames.CSeq)
                r.Headers.Add(h.Name, h.RawValue);
        r.To.Tag ??= "phone-to";
        return r;
    }

    /// <summary>SUBSCRIBE (digest), 200, first NOTIFY with the upstream's counts, answered.</summary>
    private async Task SubscribeAsync(Phone phone)
    {
        await phone.ConnectAsync(_cnaTcp.LocalEndPoint);
        var first = phone.Subscribe();
        await phone.SendAsync(first);
        var challenge = Assert.IsType<SipResponse>(await phone.NextAsync());
        Assert.Equal(401, challenge.StatusCode);
        var again = phone.Subscribe();
        Assert.True(new DigestClient("romeo", "pw").Authorize(again, challenge));
        await phone.SendAsync(again);
        var ok = Assert.IsType<SipResponse>(await phone.NextAsync());
        Assert.Equal(200, ok.StatusCode);
        await NextNotifyAsync(phone, "2/3");
    }

    private static async Task NextNotifyAsync(Phone phone, string counts)
    {
        while (true)
        {
            var notify = Assert.IsType<SipRequest>(await phone.NextAsync());
            Assert.Equal(SipMethods.Notify, notify.Method);
            await phone.SendAsync(Answer(notify, 200));
            if (Encoding.UTF8.GetString(notify.Body.Span).Contains(counts, StringComparison.Ordinal)) return;
        }
    }

    [Fact]
    public async Task A_local_subscription_over_tcp_keeps_its_connection_past_the_idle_timeout()
    {
        await using var phone = new Phone();
        await SubscribeAsync(phone);
        Assert.True(_cnaTcp.IsPinned(phone.LocalEndPoint!));

        _clock.Advance(IdleTimeout * 3);
        Assert.Equal(1, _cnaTcp.ConnectionCount);
        Notify(4);
        await NextNotifyAsync(phone, "4/3"); // on the phone's own connection
    }

    [Fact]
    public async Task When_the_phone_closed_its_connection_the_next_notify_goes_to_its_contact()
    {
        await using var phone = new Phone();
        await SubscribeAsync(phone);
        await phone.CloseAsync();
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (_cnaTcp.ConnectionCount != 0)
        {
            Assert.True(DateTime.UtcNow < deadline, "the CNA did not see the connection close");
            await Task.Delay(10);
        }

        Notify(6);
        await phone.AcceptAsync();
        await NextNotifyAsync(phone, "6/3");
        Assert.True(_cnaTcp.IsPinned(new IPEndPoint(IPAddress.Loopback, phone.ContactPort)));
        Assert.Equal(1, _cna.LocalCount);
    }

    public async ValueTask DisposeAsync()
    {
        _cna.Dispose();
        await _cnaTcp.DisposeAsync();
        await _cnaUdp.DisposeAsync();
        await _pna.DisposeAsync();
        _cnaInbox.Writer.TryComplete();
        _pnaInbox.Writer.TryComplete();
        await Task.WhenAll(_loops);
    }
}
