using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using System.Threading.Channels;
using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>
/// The notifier over a real <see cref="SipStreamTransport"/> on loopback, its idle sweep on a manual clock: a
/// subscription made over TCP keeps its connection past the idle timeout (the dialog pins it), and
/// when the subscriber closes the connection, the next NOTIFY opens one to the Contact (RFC 3261
/// §12.2.1.1); only a failure of that ends the subscription.
/// </summary>
public sealed class SipNotifierStreamTests : IAsyncDisposable
{
    private static readonly TimeSpan IdleTimeout = TimeSpan.FromMinutes(5);
    private readonly ManualTimeProvider _sweepClock = new();
    private readonly FakeSipHost _host = new();
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateUnbounded<SipReceivedMessage>();
    private readonly SipStreamTransport _tcp;
    private readonly SipNotifier _notifier;
    private readonly Task _receiving;

    public SipNotifierStreamTests()
    {
        _tcp = SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = new IPEndPoint(IPAddress.Loopback, 0), IdleTimeout = IdleTimeout, TimeProvider = _sweepClock }, _inbox.Writer);
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" } };
        options.Authentication.Enabled = false;
        // The manual clock drives only the transport's idle sweep: the notifier's own timers (timer F
        // of a NOTIFY whose 200 is still on its way, expiry) run on real time, so advancing the sweep
        // never times a NOTIFY out.
        _notifier = new SipNotifier(options, _host, SipCredentials.Parse(["juliet:secret"], "example.com"), TimeProvider.System, NullLogger<SipNotifier>.Instance);
        _notifier.AddTransport(_tcp);
        _receiving = Task.Run(async () =>
        {
            await foreach (var m in _inbox.Reader.ReadAllAsync())
            {
                _notifier.Receive(m);
            }
        });
    }

    /// <summary>A phone: listens on its Contact port, and subscribes over a connection of its own (another port, as behind NAT).</summary>
    private sealed class Phone : IAsyncDisposable
    {
        private readonly TcpListener _contact = new(IPAddress.Loopback, 0);
        private readonly List<Stream> _streams = [];
        private Stream? _stream;
        private SipStreamFramer? _framer;

        public Phone() => _contact.Start();

        public int ContactPort => ((IPEndPoint)_contact.LocalEndpoint).Port;

        public string CallId { get; } = Guid.NewGuid().ToString("N");

        /// <summary>The phone's end of the connection it opened.</summary>
        public IPEndPoint? LocalEndPoint { get; private set; }

        public async Task ConnectAsync(IPEndPoint pna)
        {
            var client = new TcpClient(new IPEndPoint(IPAddress.Loopback, 0));
            await client.ConnectAsync(pna);
            LocalEndPoint = (IPEndPoint)client.Client.LocalEndPoint!;
            Use(client.GetStream());
        }

        /// <summary>The next connection the PNA opens to the Contact becomes the phone's.</summary>
        public async Task AcceptAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var client = await _contact.AcceptTcpClientAsync(timeout.Token);
            Use(client.GetStream());
        }

        private void Use(Stream stream)
        {
            _streams.Add(stream);
            _stream = stream;
            _framer = new SipStreamFramer(PipeReader.Create(stream));
        }

        public async Task CloseAsync()
        {
            await _stream!.DisposeAsync();
            _stream = null;
        }

        public Task SendAsync(SipMessage message) => _stream!.WriteAsync(SipMessageWriter.ToBytes(message)).AsTask();

        public async Task<SipMessage> NextAsync()
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            var frame = await _framer!.ReadAsync(timeout.Token);
            return frame.Message ?? throw new EndOfStreamException("the PNA closed the connection (" + frame.Kind + ")");
        }

        public SipRequest Subscribe(string? toTag = null, int cseq = 1) => (SipRequest)SipMessageParser.Parse(
            "SUBSCRIBE sip:juliet@example.com SIP/2.0\r\n" +
            $"Via: SIP/2.0/TCP 127.0.0.1:{ContactPort};branch={SipTransactionKey.NewBranch()};rport\r\n" +
            "Max-Forwards: 70\r\n" +
            "From: <sip:juliet@example.com>;tag=phone1\r\n" +
            $"To: <sip:juliet@example.com>{(toTag is null ? "" : ";tag=" + toTag)}\r\n" +
            $"Call-ID: {CallId}\r\n" +
            $"CSeq: {cseq} SUBSCRIBE\r\n" +
            $"Contact: <sip:juliet@127.0.0.1:{ContactPort};transport=tcp>\r\n" +
            "Event: message-summary\r\n" +
            "Expires: 3600\r\n" +
            "Content-Length: 0\r\n\r\n");

        public async ValueTask DisposeAsync()
        {
            foreach (var stream in _streams)
            {
                await stream.DisposeAsync();
            }
            _contact.Stop();
            _contact.Dispose();
        }
    }

    /// <summary>SUBSCRIBE over TCP, its 200 and the first NOTIFY (answered) on the same connection.</summary>
    private async Task<Subscription> SubscribeAsync(Phone phone)
    {
        await phone.ConnectAsync(_tcp.LocalEndPoint);
        await phone.SendAsync(phone.Subscribe());
        var ok = Assert.IsType<SipResponse>(await phone.NextAsync());
        Assert.Equal(200, ok.StatusCode);
        _toTag = ok.To.Tag;
        var notify = Assert.IsType<SipRequest>(await phone.NextAsync());
        await phone.SendAsync(TestSubscriber.Answer(notify, 200));
        await Wait.Until(() => !_host.Live.IsEmpty, "the subscription");
        return _host.Live.Values.Single();
    }

    private string? _toTag;

    private void Deliver(Subscription subscription, uint newMessages) =>
        _notifier.Deliver(new Notification(subscription, NotificationKind.Event, null, MailboxPath.Inbox, new MailboxTotals(newMessages, 0, newMessages, 0), newMessages + 1));

    [Fact]
    public async Task A_connection_carrying_a_subscription_is_not_closed_for_idleness()
    {
        await using var phone = new Phone();
        var subscription = await SubscribeAsync(phone);

        _sweepClock.Advance(IdleTimeout * 3); // the sweep runs several times; the dialog pins its connection
        Assert.Equal(1, _tcp.ConnectionCount);

        Deliver(subscription, 5);
        var notify = Assert.IsType<SipRequest>(await phone.NextAsync()); // on the phone's own connection
        Assert.Equal(SipMethods.Notify, notify.Method);
        await phone.SendAsync(TestSubscriber.Answer(notify, 200));
        Assert.Empty(_host.Ended);
    }

    [Fact]
    public async Task When_the_subscription_ends_its_connection_is_idle_closed_again()
    {
        await using var phone = new Phone();
        var subscription = await SubscribeAsync(phone);
        Assert.True(_tcp.IsPinned(phone.LocalEndPoint!));

        _notifier.Revoke(subscription, "deactivated");
        var final = Assert.IsType<SipRequest>(await phone.NextAsync());
        Assert.StartsWith("terminated", final.Headers.GetFirstValue(SipHeaderNames.SubscriptionState), StringComparison.Ordinal);
        await phone.SendAsync(TestSubscriber.Answer(final, 200));
        await Wait.Until(() => !_tcp.IsPinned(phone.LocalEndPoint!), "the dialog to unpin its connection");

        _sweepClock.Advance(IdleTimeout * 2);
        await Assert.ThrowsAsync<EndOfStreamException>(phone.NextAsync);
    }

    [Fact]
    public async Task When_the_subscriber_closed_the_connection_the_next_notify_goes_to_its_contact()
    {
        await using var phone = new Phone();
        var subscription = await SubscribeAsync(phone);
        await phone.CloseAsync();
        await Wait.Until(() => _tcp.ConnectionCount == 0, "the PNA to see the connection closed");

        Deliver(subscription, 7);
        await phone.AcceptAsync(); // the PNA connects to the Contact's port
        var notify = Assert.IsType<SipRequest>(await phone.NextAsync());
        Assert.Equal(SipMethods.Notify, notify.Method);
        Assert.Equal($"sip:juliet@127.0.0.1:{phone.ContactPort};transport=tcp", notify.RequestUri.ToString());
        await phone.SendAsync(TestSubscriber.Answer(notify, 200));

        // The new connection is the dialog's now: pinned, stored for a restart.
        Assert.True(_tcp.IsPinned(new IPEndPoint(IPAddress.Loopback, phone.ContactPort)));
        await Wait.Until(() => _host.StateUpdates.Any(u => u.State.Contains($"127.0.0.1:{phone.ContactPort}\"", StringComparison.Ordinal)), "the new remote stored");
        Deliver(subscription, 8);
        var next = Assert.IsType<SipRequest>(await phone.NextAsync());
        await phone.SendAsync(TestSubscriber.Answer(next, 200));
        Assert.Empty(_host.Ended);
    }

    [Fact]
    public async Task A_refresh_over_a_new_connection_moves_the_dialog_onto_it()
    {
        await using var phone = new Phone();
        var subscription = await SubscribeAsync(phone);
        var first = phone.LocalEndPoint!;

        await phone.ConnectAsync(_tcp.LocalEndPoint); // a second connection (the phone's NAT binding changed)
        await phone.SendAsync(phone.Subscribe(_toTag, cseq: 2));
        Assert.Equal(200, Assert.IsType<SipResponse>(await phone.NextAsync()).StatusCode);
        var notify = Assert.IsType<SipRequest>(await phone.NextAsync()); // the refresh's NOTIFY, on the new connection
        await phone.SendAsync(TestSubscriber.Answer(notify, 200));
        Assert.True(_tcp.IsPinned(phone.LocalEndPoint!));
        Assert.False(_tcp.IsPinned(first));

        Deliver(subscription, 9);
        Assert.Equal(SipMethods.Notify, Assert.IsType<SipRequest>(await phone.NextAsync()).Method);
    }

    [Fact]
    public async Task When_the_contact_cannot_be_reached_either_the_subscription_ends()
    {
        var phone = new Phone();
        var subscription = await SubscribeAsync(phone);
        await phone.DisposeAsync(); // the connection and the Contact's listener are gone
        await Wait.Until(() => _tcp.ConnectionCount == 0, "the PNA to see the connection closed");

        Deliver(subscription, 7);
        await Wait.Until(() => !_host.Ended.IsEmpty, "the subscription to end");
        Assert.Contains("transport error", _host.Ended.Single().Reason, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        _notifier.Shutdown();
        await _tcp.DisposeAsync();
        _inbox.Writer.TryComplete();
        await _receiving;
    }
}
