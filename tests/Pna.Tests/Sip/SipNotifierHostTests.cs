using System.Net;
using System.Net.Sockets;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Tests.Ingest;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>The notifier inside a real PNA (Kestrel, SQLite), spoken to over UDP on loopback.</summary>
public sealed class SipNotifierHostTests : IAsyncDisposable
{
    private readonly string _dir = PnaTestHost.NewDataDirectory();
    private readonly Socket _ua = new(AddressFamily.InterNetwork, SocketType.Dgram, ProtocolType.Udp);

    public SipNotifierHostTests() => _ua.Bind(new IPEndPoint(IPAddress.Loopback, 0));

    private int UaPort => ((IPEndPoint)_ua.LocalEndPoint!).Port;

    private Task<PnaTestHost> StartPna()
    {
        var credentials = Path.Combine(_dir, "sip-users");
        File.WriteAllText(credentials, "# test users\njuliet:s3cret:with:colons\n");
        return PnaTestHost.StartAsync(_dir, new Dictionary<string, string>
        {
            ["Pna:Sip:Enabled"] = "true",
            ["Pna:Sip:Udp:0"] = "127.0.0.1:0",
            ["Pna:Sip:Domains:0"] = "example.com",
            ["Pna:Sip:Authentication:Realm"] = "example.com",
            ["Pna:Sip:Authentication:CredentialsFile"] = credentials,
        });
    }

    private static IPEndPoint SipEndPoint(PnaTestHost host) =>
        host.App.Services.GetRequiredService<SipNotifierService>().Transports.Single(t => t.Protocol == SipTransportProtocol.Udp).LocalEndPoint;

    private async Task SendAsync(SipMessage m, IPEndPoint to) => await _ua.SendToAsync(SipMessageWriter.ToBytes(m), to);

    private async Task<SipMessage> ReceiveAsync(Func<SipMessage, bool> wanted, string what)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        var buffer = new byte[65536];
        while (true)
        {
            SocketReceiveFromResult r;
            try
            {
                r = await _ua.ReceiveFromAsync(buffer, new IPEndPoint(IPAddress.Any, 0), cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            var m = SipMessageParser.ParseDatagram(buffer.AsSpan(0, r.ReceivedBytes));
            if (wanted(m))
            {
                return m;
            }
        }
    }

    private async Task<SipRequest> NotifyAnswered(IPEndPoint pna, string what, Func<SipRequest, bool>? wanted = null)
    {
        var n = (SipRequest)await ReceiveAsync(m => m is SipRequest { Method: SipMethods.Notify } r && (wanted?.Invoke(r) ?? true), what);
        await SendAsync(TestSubscriber.Answer(n, 200), pna);
        return n;
    }

    private static MessageSummary Body(SipRequest notify) => MessageSummary.Parse(System.Text.Encoding.UTF8.GetString(notify.Body.Span));

    [Fact]
    public async Task Subscribe_with_digest_auth_notify_follows_ingest_and_survives_a_restart()
    {
        var host = await StartPna();
        try
        {
            (await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 2, 1, 3)))).EnsureSuccessStatusCode();
            await PnaTestHost.WaitUntil(() => host.State.MailboxCount == 1, "the first event");
            var pna = SipEndPoint(host);
            var ua = new TestSubscriber(port: UaPort);

            await SendAsync(ua.Subscribe(600), pna);
            var challenge = (SipResponse)await ReceiveAsync(m => m is SipResponse, "the 401");
            Assert.Equal(401, challenge.StatusCode);
            var again = ua.Subscribe(600);
            Assert.True(new DigestClient("juliet", "s3cret:with:colons").Authorize(again, challenge));
            await SendAsync(again, pna);
            var ok = (SipResponse)await ReceiveAsync(m => m is SipResponse, "the 200");
            Assert.Equal(200, ok.StatusCode);
            ua.ToTag = ok.To.Tag;

            var first = await NotifyAnswered(pna, "the immediate NOTIFY");
            Assert.Equal(new MessageSummaryLine("text-message", 1, 1, 0, 0), Body(first).Lines[0]);
            var subscription = Assert.Single(host.Subscriptions.Snapshot());
            Assert.Equal("sip:juliet@example.com", subscription.Subscriber);

            (await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 3, 2, 4)))).EnsureSuccessStatusCode();
            var second = await NotifyAnswered(pna, "the NOTIFY for new mail");
            Assert.Equal(new MessageSummaryLine("text-message", 2, 1, 0, 0), Body(second).Lines[0]);

            // Restart the PNA on the same data directory: the dialog resumes.
            await host.DisposeAsync();
            host = await StartPna();
            Assert.Single(host.Subscriptions.Snapshot());
            pna = SipEndPoint(host);
            // The resumed dialog first gets the current state (nothing was lost while down) ...
            var resumed = await NotifyAnswered(pna, "the current state after the restart");
            Assert.Equal(2u, Body(resumed).Lines[0].New);
            Assert.True(resumed.CSeq.Sequence > second.CSeq.Sequence);
            // ... then what happens next.
            (await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 4, 3, 5)))).EnsureSuccessStatusCode();
            var third = await NotifyAnswered(pna, "a NOTIFY after the restart");
            Assert.Equal(first.CallId, third.CallId);
            Assert.Equal(first.From.Tag, third.From.Tag);
            Assert.True(third.CSeq.Sequence > resumed.CSeq.Sequence);
            Assert.Equal(3u, Body(third).Lines[0].New);
            Assert.Equal("active", third.SubscriptionState!.State);
        }
        finally
        {
            await host.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ua.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
        await Task.CompletedTask;
    }
}
