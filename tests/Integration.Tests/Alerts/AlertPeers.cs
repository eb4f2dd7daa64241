using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Xmpp.Component;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Alerts;

/// <summary>
/// A PNA for the alert tests: fixed HTTP port (so pna-alert's configured URL survives a restart),
/// the XMPP component events.example.com on the test Prosody, alert source "sieve", consent for
/// juliet's xmpp: (sender romeo) and sip: (source sieve) targets, SIP through an outbound proxy
/// (the test UA).
/// </summary>
public sealed class AlertsPna : IAsyncDisposable
{
    public const string Token = "sieve-token-0123456789abcdef";

    private AlertsPna(WebApplication app) => App = app;

    public WebApplication App { get; }

    public static async Task<AlertsPna> StartAsync(string dataDirectory, int httpPort, int componentPort, int sipProxyPort, IDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["urls"] = $"http://127.0.0.1:{httpPort}",
            ["Pna:DataDirectory"] = dataDirectory,
            ["Pna:Alerts:Sources:0:Name"] = "sieve",
            ["Pna:Alerts:Sources:0:Token"] = Token,
            ["Pna:Alerts:Targets:0:Target"] = "xmpp:juliet@example.com",
            ["Pna:Alerts:Targets:0:AllowSenders:0"] = "romeo@example.com",
            ["Pna:Alerts:Targets:1:Target"] = "sip:juliet@example.com",
            ["Pna:Alerts:Targets:1:AllowSources:0"] = "sieve",
            ["Pna:Alerts:Sip:OutboundProxy"] = $"127.0.0.1:{sipProxyPort}",
            ["Pna:Alerts:Sip:From"] = "sip:alerts@example.com",
            ["Pna:Alerts:RetryDelay"] = "00:00:00.200",
            ["Pna:Xmpp:Enabled"] = "true",
            ["Pna:Xmpp:Host"] = "127.0.0.1",
            ["Pna:Xmpp:Port"] = componentPort.ToString(CultureInfo.InvariantCulture),
            ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
            ["Pna:Xmpp:Secret"] = ProsodyServer.Secret,
            ["Pna:Xmpp:MailDomain"] = "example.com",
            ["Pna:Xmpp:ReconnectDelay"] = "00:00:00.200",
            ["Pna:Xmpp:MaxReconnectDelay"] = "00:00:02",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>())
        {
            settings[k] = v;
        }
        var app = PnaApplication.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        var transport = app.Services.GetRequiredService<XmppPubsubTransport>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (transport.State != ComponentState.Connected)
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"the PNA's XMPP component did not connect: {transport.State} ({transport.StateReason})");
            }
            await Task.Delay(20);
        }
        return new AlertsPna(app);
    }

    private bool _disposed;

    public async ValueTask DisposeAsync()
    {
        if (!_disposed)
        {
            _disposed = true;
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }
}

/// <summary>A raw SIP UA on loopback UDP built on src/Sip: answers every MESSAGE with a 200 and records it.</summary>
public sealed class MessageUa : IAsyncDisposable
{
    private readonly UdpClient _socket = new(new IPEndPoint(IPAddress.Loopback, 0));
    private readonly Channel<SipRequest> _messages = Channel.CreateUnbounded<SipRequest>();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private readonly List<SipRequest> _seen = [];

    public MessageUa() => _loop = Task.Run(LoopAsync);

    public int Port => ((IPEndPoint)_socket.Client.LocalEndPoint!).Port;

    private async Task LoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            UdpReceiveResult received;
            try
            {
                received = await _socket.ReceiveAsync(_stop.Token);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                return;
            }
            if (SipMessageParser.ParseDatagram(received.Buffer) is not SipRequest request)
            {
                continue;
            }
            var response = SipResponse.CreateFor(request, request.Method == SipMethods.Message ? 200 : 405, toTag: "ua");
            await _socket.SendAsync(SipMessageWriter.ToBytes(response), received.RemoteEndPoint);
            if (request.Method == SipMethods.Message)
            {
                _messages.Writer.TryWrite(request); // a retransmission is recorded again: tests match on content
            }
        }
    }

    /// <summary>A MESSAGE (received before or after the call) whose body contains <paramref name="text"/>.</summary>
    public async Task<SipRequest> WaitForAsync(string text, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            while (_messages.Reader.TryRead(out var m))
            {
                _seen.Add(m);
            }
            if (_seen.FirstOrDefault(m => Encoding.UTF8.GetString(m.Body.Span).Contains(text, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no SIP MESSAGE containing '{text}' within {timeout}; seen: " +
                    string.Join(" | ", _seen.Select(m => Encoding.UTF8.GetString(m.Body.Span))));
            }
            using var cts = new CancellationTokenSource(left);
            try
            {
                await _messages.Reader.WaitToReadAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _socket.Dispose();
        await _loop;
        _stop.Dispose();
    }
}
