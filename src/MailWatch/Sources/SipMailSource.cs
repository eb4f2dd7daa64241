using System.Net;
using System.Threading.Channels;
using Aggregators.EventModel.Bodies;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch.Sources;

/// <summary>
/// Subscribes over SIP (docs/sip.md) with the shared RFC 6665 subscriber (src/Sip/Subscriptions):
/// one subscription per watched mailbox to <c>sip:&lt;local&gt;@&lt;domain&gt;</c>, answering the
/// PNA's digest challenge. <c>mail-event</c> asks for heartbeats in its filter body;
/// <c>message-summary</c> has none, so the subscription is refreshed every heartbeat interval
/// instead (every refresh is answered with a NOTIFY, RFC 6665 §4.2.1.2) and that NOTIFY is the
/// heartbeat.
/// </summary>
internal sealed class SipMailSource : IMailSource
{
    private const uint Expires = 3600;
    private static readonly TimeSpan FirstNotifyTimeout = TimeSpan.FromSeconds(15);
    private readonly MailWatchOptions _options;
    private readonly ILogger _logger;
    private readonly SipUri _pna;
    private readonly SipTransportProtocol _protocol;

    public SipMailSource(MailWatchOptions options, string pna, ILogger logger)
    {
        _options = options;
        _logger = logger;
        try
        {
            _pna = SipUri.Parse(pna);
        }
        catch (SipParseException ex)
        {
            throw new OptionsException($"--pna '{pna}': {ex.Message}", ex);
        }
        _protocol = (_pna.Transport?.ToLowerInvariant()) switch
        {
            null or "udp" => SipTransportProtocol.Udp,
            "tcp" => SipTransportProtocol.Tcp,
            var t => throw new OptionsException($"--pna '{pna}': transport '{t}' is not supported by MailWatch (udp or tcp)"),
        };
        Pna = pna;
    }

    public string Pna { get; }

    public string Description => $"sip {(_options.SipPackage == SipPackage.MailEvent ? "mail-event" : "message-summary")} "
        + $"{string.Join(", ", _options.Mailboxes)}{(_options.Subtree ? " (subtree)" : "")} at {Pna}";

    public async Task<IMailSession> OpenAsync(IUpdateSink sink, bool subscribe, CancellationToken cancellationToken)
    {
        IPEndPoint destination;
        try
        {
            var addresses = IPAddress.TryParse(_pna.Host, out var literal) ? [literal]
                : await Dns.GetHostAddressesAsync(_pna.Host, cancellationToken).ConfigureAwait(false);
            destination = new IPEndPoint(addresses.First(), _pna.Port ?? 5060);
        }
        catch (Exception ex) when (ex is System.Net.Sockets.SocketException or InvalidOperationException)
        {
            throw new SourceException($"cannot resolve the PNA host '{_pna.Host}': {ex.Message}", ex);
        }
        var listen = _options.SipListen;
        if (!IPAddress.TryParse(listen.Host, out var local))
        {
            throw new OptionsException($"--sip-listen '{listen}': an IP address is needed (it goes into Via and Contact)");
        }
        var inbox = Channel.CreateUnbounded<SipReceivedMessage>(new UnboundedChannelOptions { SingleReader = true });
        var transportOptions = new SipTransportOptions { LocalEndPoint = new IPEndPoint(local, listen.Port) };
        ISipTransport transport;
        try
        {
            transport = _protocol == SipTransportProtocol.Udp
                ? SipUdpTransport.Bind(transportOptions, inbox.Writer)
                : SipStreamTransport.BindTcp(transportOptions, inbox.Writer);
        }
        catch (System.Net.Sockets.SocketException ex)
        {
            throw new SourceException($"cannot bind SIP {_protocol} on {listen}: {ex.SocketErrorCode}", ex, permanent: true);
        }
        var session = new Session(this, transport, inbox.Reader, destination, sink);
        try
        {
            await session.SubscribeAllAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private sealed class Session : IMailSession
    {
        private readonly SipMailSource _source;
        private readonly ISipTransport _transport;
        private readonly IPEndPoint _destination;
        private readonly IUpdateSink _sink;
        private readonly SipTransactionLayer _transactions = new();
        private readonly SipSubscriber _subscriber;
        private readonly DigestClient _credentials;
        private readonly TaskCompletionSource _completion = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _receive;
        private readonly Lock _lock = new();
        private List<Entry> _current = [];
        private bool _closing;

        public Session(SipMailSource source, ISipTransport transport, ChannelReader<SipReceivedMessage> inbox, IPEndPoint destination, IUpdateSink sink)
        {
            _source = source;
            _transport = transport;
            _destination = destination;
            _sink = sink;
            _subscriber = new SipSubscriber(_transactions);
            _credentials = new DigestClient(source._options.SipUser ?? source._options.LocalPart, source._options.EffectiveSipPassword);
            _receive = ReceiveAsync(inbox, _stop.Token);
        }

        public Task Completion => _completion.Task;

        private async Task ReceiveAsync(ChannelReader<SipReceivedMessage> inbox, CancellationToken cancellationToken)
        {
            try
            {
                await foreach (var received in inbox.ReadAllAsync(cancellationToken).ConfigureAwait(false))
                {
                    if (_transactions.Dispatch(received) is { } tx && !_subscriber.HandleNotify(tx))
                    {
                        // RFC 3261 §8.2.1: only NOTIFY is served here.
                        var response = SipResponse.CreateFor(tx.Request, 405, "Method Not Allowed");
                        response.Headers.Set(SipHeaderNames.Allow, "NOTIFY");
                        _ = tx.SendResponseAsync(response).AsTask();
                    }
                }
            }
            catch (OperationCanceledException)
            {
                // closing
            }
        }

        private sealed class Entry(string mailbox)
        {
            public string Mailbox { get; } = mailbox;
            public SipSubscription? Subscription { get; set; }
            public TaskCompletionSource FirstNotify { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }

        public async Task SubscribeAllAsync(CancellationToken cancellationToken)
        {
            var options = _source._options;
            var fresh = options.Mailboxes.Select(m => new Entry(m)).ToList();
            foreach (var entry in fresh)
            {
                entry.Subscription = _subscriber.Subscribe(Options(entry));
            }
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(FirstNotifyTimeout);
                await Task.WhenAll(fresh.Select(e => e.FirstNotify.Task)).WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or SourceException)
            {
                foreach (var entry in fresh)
                {
                    entry.Subscription?.Unsubscribe();
                }
                cancellationToken.ThrowIfCancellationRequested();
                throw ex as SourceException ?? new SourceException($"no NOTIFY from {_source.Pna} within {FirstNotifyTimeout.TotalSeconds:0} s", ex);
            }
            List<Entry> old;
            lock (_lock)
            {
                old = _current;
                _current = fresh;
            }
            foreach (var entry in old)
            {
                entry.Subscription?.Unsubscribe(); // replaced by the new subscription
            }
        }

        private SipSubscriptionOptions Options(Entry entry)
        {
            var o = _source._options;
            var account = $"sip:{o.LocalPart}@{o.Domain}";
            var requestUri = SipUri.Parse(account);
            var mailEvent = o.SipPackage == SipPackage.MailEvent;
            if (!mailEvent && !string.Equals(entry.Mailbox, "INBOX", StringComparison.Ordinal))
            {
                // docs/sip.md, mailbox naming: ;mailbox= percent-encoded.
                requestUri = SipUri.Parse(account + ";mailbox=" + Uri.EscapeDataString(entry.Mailbox));
            }
            return new SipSubscriptionOptions
            {
                RequestUri = requestUri,
                From = SipNameAddress.Parse($"<sip:{o.SipUser ?? o.LocalPart}@{o.Domain}>"),
                Event = mailEvent ? MailEventNotifyBody.EventPackage : MessageSummary.EventPackage,
                Accept = mailEvent ? MailEventNotifyBody.MediaType : MessageSummary.MediaType,
                ContentType = mailEvent ? MailEventFilterBody.MediaType : null,
                Body = mailEvent ? SipBodies.Filter(entry.Mailbox, o.Subtree, o.Heartbeat) : ReadOnlyMemory<byte>.Empty,
                Expires = Expires,
                // message-summary has no heartbeats: a refresh every interval brings a NOTIFY (RFC 6665 §4.2.1.2).
                MaxRefreshInterval = mailEvent ? null : o.Heartbeat,
                Transport = _transport,
                Destination = _destination,
                Credentials = _credentials,
                OnNotify = (_, n) => OnNotify(entry, n),
                OnEnded = (s, end) => OnEnded(entry, end),
            };
        }

        private void OnNotify(Entry entry, SipNotification notification)
        {
            var reading = SipBodies.Read(notification.ContentType, notification.Body.Span, entry.Mailbox);
            if (reading.Error is { } error)
            {
                _source._logger.LogWarning("NOTIFY from {Pna}: {Error}", _source.Pna, error);
            }
            if (reading.Heartbeat is { } granted)
            {
                _sink.HeartbeatGranted(entry.Mailbox, granted);
            }
            if (reading.Update is { } update && PubsubProtocol.IsWatched(update.Mailbox, _source._options.Mailboxes, _source._options.Subtree))
            {
                _sink.Update(update);
            }
            else if (!notification.IsTerminated)
            {
                _sink.Alive();
            }
            if (reading.Stale)
            {
                // A CNA in between says it has not heard from the PNA (docs/cna.md).
                _source._logger.LogWarning("the notifier marks the counts as stale");
            }
            entry.FirstNotify.TrySetResult();
        }

        private void OnEnded(Entry entry, SipSubscriptionEnd end)
        {
            var failure = new SourceException($"SIP subscription to {entry.Mailbox} at {_source.Pna} ended: {end}", null,
                permanent: end.Kind == SipSubscriptionEndKind.Rejected && end.StatusCode is 403 or 404 or 489);
            entry.FirstNotify.TrySetException(failure);
            bool current;
            lock (_lock)
            {
                current = !_closing && _current.Contains(entry);
            }
            if (current && end.Kind != SipSubscriptionEndKind.Unsubscribed)
            {
                _completion.TrySetException(failure);
            }
        }

        public Task ResubscribeAsync(CancellationToken cancellationToken) => SubscribeAllAsync(cancellationToken);

        public async Task CloseAsync()
        {
            List<Entry> entries;
            lock (_lock)
            {
                _closing = true;
                entries = _current;
            }
            foreach (var entry in entries)
            {
                entry.Subscription?.Unsubscribe();
            }
            // Give the un-SUBSCRIBEs a moment to go out and be answered (their final NOTIFYs get 200s meanwhile).
            var deadline = DateTime.UtcNow.AddSeconds(2);
            while (_transactions.ClientTransactionCount > 0 && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20).ConfigureAwait(false);
            }
        }

        private int _disposed;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            lock (_lock)
            {
                _closing = true;
            }
            await _stop.CancelAsync().ConfigureAwait(false);
            await _receive.ConfigureAwait(false);
            await _transport.DisposeAsync().ConfigureAwait(false);
            _stop.Dispose();
        }
    }
}
