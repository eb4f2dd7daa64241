using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Threading.Channels;
using Aggregators.Pna.Alerts;
using Aggregators.Sip;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// Sends alerts to sip: targets as SIP MESSAGE requests (RFC 3428, <c>text/plain</c>) in a
/// non-INVITE client transaction (RFC 3261 §17.1.2) of its own UDP socket, apart from the
/// notifier's listeners, so alerts and NOTIFYs do not share a queue. The request goes to the
/// configured outbound proxy (with a loose-routing Route, RFC 3261 §8.1.2) or straight to the
/// target URI's host and port (5060 by default; A/AAAA lookup, no RFC 3263 SRV).
/// 2xx: delivered; 408, 5xx, timeout or a transport error: retried; any other final: refused
/// with the status as the reason. The socket is bound on the first alert.
/// </summary>
public sealed partial class SipAlertChannel : IAlertChannel, IAsyncDisposable
{
    /// <summary>RFC 3261 §18.1.1: requests over UDP should stay well under 1300 bytes; the body is cut to this.</summary>
    public const int MaxBodyBytes = 900;

    private readonly AlertSipOptions _options;
    private readonly TimeProvider _time;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger<SipAlertChannel> _logger;
    private readonly SemaphoreSlim _startLock = new(1, 1);
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateBounded<SipReceivedMessage>(
        new BoundedChannelOptions(4096) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private SipTransactionLayer? _layer;
    private SipUdpTransport? _transport;
    private Task? _loop;

    public SipAlertChannel(IOptions<AlertOptions> options, TimeProvider time, ILoggerFactory loggers)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        _options = options.Value.Sip;
        _time = time;
        _loggers = loggers;
        _logger = loggers.CreateLogger<SipAlertChannel>();
    }

    public string Scheme => "sip";

    /// <summary>The bound socket's address, once the first alert was sent.</summary>
    public IPEndPoint? LocalEndPoint => _transport?.LocalEndPoint;

    public async ValueTask<DeliveryOutcome> SendAsync(AlertRecord alert, AlertTarget target, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(alert);
        ArgumentNullException.ThrowIfNull(target);
        var uri = target.Sip ?? throw new ArgumentException("not a sip: target", nameof(target));
        if (uri.Transport is { } t && !t.Equals("udp", StringComparison.OrdinalIgnoreCase))
        {
            return DeliveryOutcome.Permanent($"the target asks for transport={t}; alerts are sent over UDP only");
        }
        var (host, port) = _options.OutboundProxy.Length > 0 && TryParseHostPort(_options.OutboundProxy, out var ph, out var pp)
            ? (ph, pp)
            : (uri.Host, uri.Port ?? 5060);
        IPAddress address;
        try
        {
            address = await ResolveAsync(host, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            return DeliveryOutcome.Temporary($"cannot resolve '{host}': {e.Message}");
        }
        var (layer, transport) = await EnsureStartedAsync().ConfigureAwait(false);
        var request = BuildMessage(alert, uri, transport.LocalEndPoint);
        var tx = layer.SendRequest(request, transport, new IPEndPoint(address, port));
        var result = await tx.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        return Classify(result, host, port);
    }

    internal static DeliveryOutcome Classify(SipClientTransactionResult result, string host, int port)
    {
        var where = string.Create(CultureInfo.InvariantCulture, $"{host}:{port}");
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

    /// <summary>RFC 3428 §4: a MESSAGE outside any dialog, text/plain body; RFC 3261 §8.1.1 mandatory headers.</summary>
    internal SipRequest BuildMessage(AlertRecord alert, SipUri target, IPEndPoint local)
    {
        var request = new SipRequest(SipMethods.Message, target);
        var host = local.Address.ToString();
        var tag = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var callId = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12)) + "@" + host;
        request.Headers.Add(SipHeaderNames.Via, string.Create(CultureInfo.InvariantCulture,
            $"SIP/2.0/UDP {host}:{local.Port};branch={SipTransactionKey.NewBranch()};rport"));
        request.Headers.Add(SipHeaderNames.MaxForwards, "70");
        if (_options.OutboundProxy.Length > 0)
        {
            request.Headers.Add(SipHeaderNames.Route, $"<sip:{_options.OutboundProxy};lr>");
        }
        request.Headers.Add(SipHeaderNames.From, $"<{_options.From}>;tag={tag}");
        request.Headers.Add(SipHeaderNames.To, $"<{target}>");
        request.Headers.Add(SipHeaderNames.CallId, callId);
        request.Headers.Add(SipHeaderNames.CSeq, "1 MESSAGE");
        // RFC 3261 §20.26: Priority.
        request.Headers.Add("Priority", alert.Importance switch
        {
            AlertImportance.Low => "non-urgent",
            AlertImportance.High => "urgent",
            _ => "normal",
        });
        request.Headers.Add(SipHeaderNames.ContentType, "text/plain;charset=UTF-8");
        request.Body = Body(alert);
        return request;
    }

    /// <summary>The text, then the IMAP URL on its own line; cut at a character boundary to <see cref="MaxBodyBytes"/>.</summary>
    internal static byte[] Body(AlertRecord alert)
    {
        var text = alert.Text.ReplaceLineEndings("\r\n");
        var url = alert.ImapUrl is { } u ? "\r\n" + u : "";
        var budget = MaxBodyBytes - Encoding.UTF8.GetByteCount(url);
        if (Encoding.UTF8.GetByteCount(text) > budget)
        {
            var cut = text.Length;
            while (cut > 0 && Encoding.UTF8.GetByteCount(text.AsSpan(0, cut)) > budget - 3)
            {
                cut--;
            }
            if (cut > 0 && char.IsHighSurrogate(text[cut - 1]))
            {
                cut--;
            }
            text = text[..cut] + "…";
        }
        return Encoding.UTF8.GetBytes(text + url);
    }

    private static async Task<IPAddress> ResolveAsync(string host, CancellationToken cancellationToken)
    {
        var name = host.StartsWith('[') && host.EndsWith(']') ? host[1..^1] : host;
        if (IPAddress.TryParse(name, out var literal))
        {
            return literal;
        }
        var addresses = await Dns.GetHostAddressesAsync(name, cancellationToken).ConfigureAwait(false);
        return addresses.FirstOrDefault(a => a.AddressFamily == AddressFamily.InterNetwork)
            ?? addresses.FirstOrDefault()
            ?? throw new SocketException((int)SocketError.HostNotFound);
    }

    private async ValueTask<(SipTransactionLayer, SipUdpTransport)> EnsureStartedAsync()
    {
        if (_layer is { } l && _transport is { } t)
        {
            return (l, t);
        }
        await _startLock.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_layer is null || _transport is null)
            {
                var layer = new SipTransactionLayer(time: _time);
                var transport = SipUdpTransport.Bind(new SipTransportOptions
                {
                    LocalEndPoint = IPEndPoint.Parse(_options.LocalAddress),
                    TimeProvider = _time,
                    LoggerFactory = _loggers,
                }, _inbox.Writer);
                _layer = layer;
                _transport = transport;
                _loop = Task.Run(ReceiveLoopAsync);
                LogBound(transport.LocalEndPoint.ToString());
            }
            return (_layer, _transport);
        }
        finally
        {
            _startLock.Release();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        await foreach (var m in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            // Responses complete their transactions; requests to this socket are not expected and dropped.
            if (m.Message is SipResponse response)
            {
                _layer?.ProcessResponse(response);
            }
        }
    }

    /// <summary>"host:port", "[v6]:port" or "host" (port 5060).</summary>
    public static bool TryParseHostPort(string text, out string host, out int port)
    {
        host = "";
        port = 5060;
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        var close = text.LastIndexOf(']');
        var colon = text.LastIndexOf(':');
        if (colon > close && colon > 0)
        {
            if (!int.TryParse(text.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535)
            {
                return false;
            }
            host = text[..colon];
        }
        else
        {
            host = text;
        }
        return host.Length > 0 && !host.Any(char.IsWhiteSpace);
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _transport, null) is { } t)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
        _inbox.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }
        _startLock.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP alert sender bound to udp {Address}")]
    private partial void LogBound(string address);
}
