using System.Globalization;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Aggregators.Pna.Alerts;
using Aggregators.ImapBridge.Imap;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Dns;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// Sends alerts to sip: and sips: targets as SIP MESSAGE requests (RFC 3428, <c>text/plain</c>) in
/// a non-INVITE client transaction (RFC 3261 §17.1.2) of its own sockets, apart from the
/// notifier's listeners, so alerts and NOTIFYs do not share a queue. The request goes to the
/// configured outbound proxy (with a loose-routing Route, RFC 3261 §8.1.2) or straight to the
/// target; the transport (UDP, TCP or TLS) and the address are chosen as RFC 3263 §4 says
/// (<see cref="SipAlertRouting"/>; SRV when <c>DnsSrv</c> is on). A 401 or 407 is answered once with
/// digest credentials of the challenge's realm (RFC 3261 §22.2, §22.3), when configured.
/// 2xx: delivered; 408, 5xx, timeout or a transport error: retried; any other final: refused
/// with the status as the reason. Sockets are opened on the first alert that needs them.
/// </summary>
public sealed partial class SipAlertChannel : IAlertChannel, IAsyncDisposable
{
    /// <summary>RFC 3261 §18.1.1: requests over UDP should stay well under 1300 bytes; a UDP body is cut to this (TCP/TLS: whole).</summary>
    public const int MaxBodyBytes = 900;

    private readonly AlertSipOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<SipAlertChannel> _logger;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateBounded<SipReceivedMessage>(
        new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly SipTransactionLayer _layer;
    private readonly ISipAlertDns _dns;
    private readonly SipUri? _proxy;
    private readonly Dictionary<AlertSipCredential, DigestClient> _digest = [];
    private readonly RemoteCertificateValidationCallback? _tlsValidation;
    private SipUdpTransport? _transport;
    private SipStreamTransport? _tcp;
    private SipStreamTransport? _tls;
    private readonly Lock _loopGate = new();
    private Task? _loop;

    public SipAlertChannel(IOptions<AlertOptions> options, TimeProvider time, ILoggerFactory loggers)
        : this(options, time, loggers, dns: null)
    {
    }

    internal SipAlertChannel(IOptions<AlertOptions> options, TimeProvider time, ILoggerFactory loggers, ISipAlertDns? dns)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value.Sip;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<SipAlertChannel>();
        _layer = new SipTransactionLayer(time: time);
        _dns = dns ?? new SipAlertDns(_options.DnsSrv ? new DnsSrvResolver(DnsSrvResolver.ServerFrom(_options.DnsServer), time) : null);
        if (_options.OutboundProxy.Length > 0 && SipAlertRouting.TryParseProxy(_options.OutboundProxy, out var proxy, out _))
        {
            _proxy = proxy;
        }
        foreach (var credential in _options.Credentials)
        {
            _digest[credential] = new DigestClient(credential.Username, credential.Password);
        }
        _tlsValidation = ImapTlsTrust.Create(
            _options.TlsCaFile.Length > 0 ? _options.TlsCaFile : null,
            _options.TlsPinnedSha256.Length > 0 ? _options.TlsPinnedSha256 : null,
            allowInvalid: false);
    }

    public string Scheme => "sip";

    /// <summary>The bound UDP socket's address, once the first alert over UDP was sent.</summary>
    public IPEndPoint? LocalEndPoint => _transport?.LocalEndPoint;

    public async ValueTask<DeliveryOutcome> SendAsync(AlertRecord alert, AlertTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(target);
        var uri = target.Sip ?? throw new ArgumentException("not a sip: target", nameof(target));
        var (hops, error, permanent) = await SipAlertRouting.ResolveHopsAsync(_proxy ?? uri, _dns, cancellationToken).ConfigureAwait(false);
        if (hops.Count == 0)
        {
            return permanent ? DeliveryOutcome.Permanent(error!) : DeliveryOutcome.Temporary(error!);
        }
        // RFC 3263 §4.3: a hop that fails at the transport (refused, connect timeout, TLS refused)
        // is followed by the next SRV target; the alert's attempt fails only when all have.
        var failures = new List<string>();
        for (var i = 0; i < hops.Count; i++)
        {
            var (outcome, transportFailed) = await SendToHopAsync(alert, uri, hops[i], cancellationToken).ConfigureAwait(false);
            if (!transportFailed)
            {
                return outcome;
            }
            LogHopFailed(alert.Id, hops[i].ToString(), outcome.Reason, i + 1 < hops.Count ? hops[i + 1].ToString() : "none");
            failures.Add(outcome.Reason);
        }
        return DeliveryOutcome.Temporary(string.Join("; then ", failures));
    }

    /// <summary>One alert to one hop; whether it failed at the transport (so the next hop may be tried).</summary>
    private async Task<(DeliveryOutcome Outcome, bool TransportFailed)> SendToHopAsync(AlertRecord alert, SipUri uri, SipAlertHop hop, CancellationToken cancellationToken)
    {
        var where = hop.ToString();
        ISipTransport transport;
        IPEndPoint local;
        try
        {
            (transport, local) = await OpenAsync(hop, cancellationToken).ConfigureAwait(false);
        }
        catch (IOException e)
        {
            return (DeliveryOutcome.Temporary($"{e.Message} (towards {where})"), true);
        }
        catch (SocketException e)
        {
            return (DeliveryOutcome.Temporary($"cannot open a {hop.Protocol} socket towards {where}: {e.Message}"), true);
        }
        EnsureReceiving();
        var ids = new MessageIds(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)),
            Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "@" + local.Address, 1);
        var request = BuildMessage(alert, uri, hop.Protocol, local, ids);
        var result = await _layer.SendRequest(request, transport, hop.Destination).Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (result.Outcome == SipClientTransactionOutcome.TransportError)
        {
            return (Classify(result, where), true);
        }
        if (result.Response is { StatusCode: 401 or 407 } challenge)
        {
            // RFC 3261 §22.2/§22.3: once more with credentials of the challenge's realm, same Call-ID and tag, next CSeq.
            if (Credentials(challenge) is not { } digest)
            {
                var refused = Classify(result, where);
                return (refused with { Reason = refused.Reason + $" (no Pna:Alerts:Sip:Credentials for realm {RealmOf(challenge) ?? "?"})" }, false);
            }
            var again = BuildMessage(alert, uri, hop.Protocol, local, ids with { CSeq = 2 });
            if (!digest.Authorize(again, challenge))
            {
                return (DeliveryOutcome.Permanent($"SIP {challenge.StatusCode} from {where}: no digest challenge this sender can answer"), false);
            }
            result = await _layer.SendRequest(again, transport, hop.Destination).Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
            if (result.Response is { StatusCode: 401 or 407 })
            {
                var refused = Classify(result, where);
                return (refused with { Reason = refused.Reason + $" (the credentials for realm {RealmOf(challenge)} were refused)" }, false);
            }
        }
        return (Classify(result, where), false);
    }

    /// <summary>The digest client for a challenge's realm (a credential of that realm, else one of realm "*").</summary>
    private DigestClient? Credentials(SipResponse challenge)
    {
        if (RealmOf(challenge) is not { } realm)
        {
            return null;
        }
        var credential = _options.Credentials.FirstOrDefault(c => string.Equals(c.Realm, realm, StringComparison.OrdinalIgnoreCase))
                         ?? _options.Credentials.FirstOrDefault(c => c.Realm == "*");
        return credential is null ? null : _digest[credential];
    }

    private static string? RealmOf(SipResponse challenge)
    {
        try
        {
            var offered = challenge.StatusCode == 407 ? challenge.ProxyAuthenticate : challenge.WwwAuthenticate;
            return DigestClient.Choose(offered)?["realm"];
        }
        catch (SipParseException)
        {
            return null;
        }
    }

    /// <summary>The transport for a hop and the local endpoint the Via names (a stream's own connection).</summary>
    private async Task<(ISipTransport, IPEndPoint)> OpenAsync(SipAlertHop hop, CancellationToken cancellationToken)
    {
        if (hop.Protocol == SipTransportProtocol.Udp)
        {
            var udp = await EnsureUdpAsync().ConfigureAwait(false);
            return (udp, udp.LocalEndPoint);
        }
        var stream = await EnsureStreamAsync(hop.Protocol).ConfigureAwait(false);
        // RFC 5922 §7.2: a TLS server is checked against the domain the hop was found for, not its address.
        var local = await stream.ConnectAsync(hop.Destination, hop.Host, cancellationToken).ConfigureAwait(false);
        return (stream.Towards(hop.Host), local);
    }

    internal static DeliveryOutcome Classify(SipClientTransactionResult result, string host, int port) =>
        Classify(result, string.Create(CultureInfo.InvariantCulture, $"{host}:{port}"));

    internal static DeliveryOutcome Classify(SipClientTransactionResult result, string where)
    {
        switch (result.Outcome)
        {
            case SipClientTransactionOutcome.Timeout:
                return DeliveryOutcome.Temporary($"no final response from {where} (timer F, RFC 3261 §17.1.2.2: treated as 408)");
            case SipClientTransactionOutcome.TransportError:
                return DeliveryOutcome.Temporary($"transport error towards {where}: {result.Error?.Message}");
        }
        var response = result.Response!;
        var status = string.Create(CultureInfo.InvariantCulture, $"SIP {response.StatusCode} {response.ReasonPhrase}");
        return response.StatusCode switch
        {
            >= 200 and < 300 => DeliveryOutcome.Delivered($"{status} from {where}"),
            408 or >= 500 and < 600 => DeliveryOutcome.Temporary($"{status} from {where}"),
            _ => DeliveryOutcome.Permanent($"{status} from {where}"),
        };
    }

    /// <summary>The Call-ID, From tag and CSeq of one alert's MESSAGE; a retry with credentials keeps the first two (RFC 3261 §8.1.3.5).</summary>
    internal sealed record MessageIds(string Tag, string CallId, int CSeq);

    /// <summary>RFC 3428 §4: a MESSAGE outside any dialog, text/plain body; RFC 3261 §8.1.1 mandatory headers.</summary>
    internal SipRequest BuildMessage(AlertRecord alert, SipUri target, IPEndPoint local) =>
        BuildMessage(alert, target, SipTransportProtocol.Udp, local,
            new MessageIds(Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6)), Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "@" + local.Address, 1));

    internal SipRequest BuildMessage(AlertRecord alert, SipUri target, SipTransportProtocol protocol, IPEndPoint local, MessageIds ids)
    {
        var request = new SipRequest(SipMethods.Message, target);
        var host = local.Address.ToString();
        var via = protocol switch { SipTransportProtocol.Tcp => "TCP", SipTransportProtocol.Tls => "TLS", _ => "UDP" };
        request.Headers.Add(SipHeaderNames.Via, string.Create(CultureInfo.InvariantCulture,
            $"SIP/2.0/{via} {host}:{local.Port};branch={SipTransactionKey.NewBranch()};rport"));
        request.Headers.Add(SipHeaderNames.MaxForwards, "70");
        if (_proxy is not null)
        {
            var route = SipUri.Parse(_proxy.ToString());
            route.Parameters.Set("lr", null);
            request.Headers.Add(SipHeaderNames.Route, $"<{route}>");
        }
        request.Headers.Add(SipHeaderNames.From, $"<{_options.From}>;tag={ids.Tag}");
        request.Headers.Add(SipHeaderNames.To, $"<{target}>");
        request.Headers.Add(SipHeaderNames.CallId, ids.CallId);
        request.Headers.Add(SipHeaderNames.CSeq, string.Create(CultureInfo.InvariantCulture, $"{ids.CSeq} MESSAGE"));
        // RFC 3261 §20.26: Priority.
        request.Headers.Add("Priority", alert.Importance switch
        {
            AlertImportance.Low => "non-urgent",
            AlertImportance.High => "urgent",
            _ => "normal",
        });
        request.Headers.Add(SipHeaderNames.ContentType, "text/plain;charset=UTF-8");
        request.Body = Body(alert, cut: protocol == SipTransportProtocol.Udp);
        return request;
    }

    /// <summary>
    /// The text, then the IMAP URL on its own line; for UDP (<paramref name="cut"/>) cut at a
    /// character boundary to <see cref="MaxBodyBytes"/>. TCP and TLS carry it whole: the MTU rule
    /// is UDP's (RFC 3261 §18.1.1), and the text is already at most <c>Pna:Alerts:MaxTextLength</c>.
    /// </summary>
    internal static byte[] Body(AlertRecord alert, bool cut = true)
    {
        var text = alert.Text.ReplaceLineEndings("\r\n");
        var url = alert.ImapUrl is { } u ? "\r\n" + u : "";
        var budget = MaxBodyBytes - Encoding.UTF8.GetByteCount(url);
        if (cut && Encoding.UTF8.GetByteCount(text) > budget)
        {
            var end = text.Length;
            while (end > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, end)) > budget - 3)
            {
                end--;
            }
            if (end > 0 && char.IsHighSurrogate(text[end - 1]))
            {
                end--;
            }
            text = text[..end] + "…";
        }
        return Encoding.UTF8.GetBytes(text + url);
    }

    private async ValueTask<SipUdpTransport> EnsureUdpAsync()
    {
        if (_transport is { } t)
        {
            return t;
        }
        await _startLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_transport is null)
            {
                var transport = SipUdpTransport.Bind(new SipTransportOptions
                {
                    LocalEndPoint = IPEndPoint.Parse(_options.LocalAddress),
                    TimeProvider = _time,
                    LoggerFactory = _loggers,
                }, _inbox.Writer);
                _transport = transport;
                LogBound(transport.LocalEndPoint.ToString());
            }
            return _transport;
        }
        finally
        {
            _startLock.Release();
        }
    }

    /// <summary>A stream connection without traffic for this long is closed.</summary>
    internal static TimeSpan StreamIdleTimeout { get; } = TimeSpan.FromMinutes(2);

    /// <summary>The TCP or TLS transport: connect-only (no listener), from the address of <c>LocalAddress</c>.</summary>
    private async ValueTask<SipStreamTransport> EnsureStreamAsync(SipTransportProtocol protocol)
    {
        await _startLock.WaitAsync().ConfigureAwait(false);
        try
        {
            ref var slot = ref protocol == SipTransportProtocol.Tls ? ref _tls : ref _tcp;
            slot ??= SipStreamTransport.ConnectOnly(protocol, new SipTransportOptions
            {
                LocalEndPoint = new IPEndPoint(IPEndPoint.Parse(_options.LocalAddress).Address, 0),
                IdleTimeout = StreamIdleTimeout,
                RemoteCertificateValidation = _tlsValidation,
                TimeProvider = _time,
                LoggerFactory = _loggers,
            }, _inbox.Writer);
            return slot;
        }
        finally
        {
            _startLock.Release();
        }
    }

    private void EnsureReceiving()
    {
        if (_loop is null)
        {
            lock (_loopGate)
            {
                _loop ??= Task.Run(ReceiveLoopAsync);
            }
        }
    }

    private async Task ReceiveLoopAsync()
    {
        await foreach (var m in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // Responses complete their transactions; requests to this socket are not expected and dropped.
            if (m.Message is SipResponse response)
            {
                _layer.ProcessResponse(response);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _transport, null) is { } t)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
        foreach (var stream in new[] { Interlocked.Exchange(ref _tcp, null), Interlocked.Exchange(ref _tls, null) })
        {
            if (stream is not null)
            {
                await stream.DisposeAsync().ConfigureAwait(false);
            }
        }
        _inbox.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _startLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "SIP alert {AlertId}: next hop {Hop} failed at the transport ({Reason}); next: {Next}")]
    private partial void LogHopFailed(long alertId, string hop, string reason, string next);

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP alert sender bound to udp {Address}")]
    private partial void LogBound(string address);
}
