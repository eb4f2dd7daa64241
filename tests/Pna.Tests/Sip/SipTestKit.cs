using System.Collections.Concurrent;
using System.Net;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>
/// A transport that records what the notifier sends (through the codec, as on the wire). Unreliable,
/// it is a datagram transport: the notifier then writes NOTIFYs as bytes (its UDP path), parsed here.
/// </summary>
internal sealed class RecordingSipTransport(bool reliable = true) : ISipDatagramTransport
{
    public ConcurrentQueue<(SipMessage Message, IPEndPoint To)> Sent { get; } = new();

    /// <summary>Called for every NOTIFY sent (on the sending thread).</summary>
    public Action<SipRequest>? OnNotify { get; set; }

    public SipTransportProtocol Protocol => reliable ? SipTransportProtocol.Tcp : SipTransportProtocol.Udp;
    public bool IsReliable => reliable;
    public IPEndPoint LocalEndPoint { get; } = new(IPAddress.Loopback, 5060);

    public ValueTask SendAsync(SipMessage message, IPEndPoint remote, CancellationToken cancellationToken = default)
    {
        var copy = SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(message));
        Sent.Enqueue((copy, remote));
        if (copy is SipRequest { Method: SipMethods.Notify } notify)
        {
            OnNotify?.Invoke(notify);
        }
        return ValueTask.CompletedTask;
    }

    public void Send(ReadOnlySpan<byte> datagram, SocketAddress remote)
    {
        if (reliable)
        {
            throw new InvalidOperationException("a reliable transport gets messages, not datagrams");
        }
        var copy = SipMessageParser.ParseDatagram(datagram);
        Sent.Enqueue((copy, (IPEndPoint)new IPEndPoint(IPAddress.Any, 0).Create(remote)));
        if (copy is SipRequest { Method: SipMethods.Notify } notify)
        {
            OnNotify?.Invoke(notify);
        }
    }

    public IReadOnlyList<SipResponse> Responses => [.. Sent.Select(s => s.Message).OfType<SipResponse>()];

    public IReadOnlyList<SipRequest> Notifies => [.. Sent.Select(s => s.Message).OfType<SipRequest>().Where(r => r.Method == SipMethods.Notify)];

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}

/// <summary>The PNA side, faked: subscriptions in a dictionary, an Initial notification with given totals.</summary>
internal sealed class FakeSipHost : ISipSubscriptionHost
{
    private long _nextId;

    public ConcurrentDictionary<long, Subscription> Live { get; } = new();
    public ConcurrentQueue<(long Id, string Reason)> Ended { get; } = new();
    public ConcurrentQueue<(long Id, string State)> StateUpdates { get; } = new();
    public MailboxTotals? Totals { get; set; } = new MailboxTotals(3, 1, 4, 1);
    public HashSet<string> KnownAccounts { get; } = ["juliet@example.com"];

    public ValueTask<SubscribeResult> SubscribeAsync(string subscriber, SubscriptionFilter filter, INotificationTransport transport, string transportState, DateTimeOffset expires, CancellationToken cancellationToken)
    {
        if (subscriber.Contains("mallory", StringComparison.Ordinal))
        {
            return ValueTask.FromResult(new SubscribeResult(null, AuthorizationDecision.Deny("mallory may not")));
        }
        var s = new Subscription(Interlocked.Increment(ref _nextId), subscriber, filter, transport) { TransportState = transportState, Expires = expires };
        Live[s.Id] = s;
        s.Sequence = 1;
        transport.Deliver(new Notification(s, NotificationKind.Initial, null, filter.Mailbox, Totals, 1));
        return ValueTask.FromResult(new SubscribeResult(s, AuthorizationDecision.Allow("test")));
    }

    public bool Refresh(long id, DateTimeOffset expires)
    {
        if (!Live.TryGetValue(id, out var s))
        {
            return false;
        }
        s.Expires = expires;
        return true;
    }

    public bool UpdateTransportState(long id, string state)
    {
        StateUpdates.Enqueue((id, state));
        if (Live.TryGetValue(id, out var s))
        {
            s.TransportState = state;
        }
        return true;
    }

    public bool Unsubscribe(long id, string reason)
    {
        Ended.Enqueue((id, reason));
        return Live.TryRemove(id, out _);
    }

    public bool IsKnownAccount(AccountId account) => KnownAccounts.Contains(account.Value);

    public MailboxTotals? CurrentTotals(AccountId account, MailboxPath mailbox) => Totals;

    public IReadOnlyList<Subscription> Snapshot() => [.. Live.Values];
}

/// <summary>A subscriber UA, as far as the tests need one: SUBSCRIBEs and answers to NOTIFYs.</summary>
internal sealed class TestSubscriber(string aor = "sip:juliet@example.com", int port = 5070)
{
    public string CallId { get; } = Guid.NewGuid().ToString("N");
    public string FromTag { get; } = "ft" + Guid.NewGuid().ToString("N")[..8];
    public string? ToTag { get; set; }
    public uint CSeq { get; private set; }
    public IPEndPoint EndPoint { get; } = new(IPAddress.Loopback, port);

    public SipRequest Subscribe(uint? expires = 600, string eventType = "message-summary", string? requestUri = null, string? body = null)
    {
        var r = (SipRequest)SipMessageParser.Parse(
            $"SUBSCRIBE {requestUri ?? aor} SIP/2.0\r\n" +
            $"Via: SIP/2.0/UDP 127.0.0.1:{EndPoint.Port};branch={SipTransactionKey.NewBranch()};rport\r\n" +
            "Max-Forwards: 70\r\n" +
            $"From: <{aor}>;tag={FromTag}\r\n" +
            $"To: <{aor}>{(ToTag is null ? "" : ";tag=" + ToTag)}\r\n" +
            $"Call-ID: {CallId}\r\n" +
            $"CSeq: {++CSeq} SUBSCRIBE\r\n" +
            $"Contact: <sip:juliet@127.0.0.1:{EndPoint.Port}>\r\n" +
            $"Event: {eventType}\r\n" +
            (expires is { } e ? $"Expires: {e}\r\n" : "") +
            "Accept: application/simple-message-summary\r\n" +
            "Content-Length: 0\r\n\r\n");
        if (body is not null)
        {
            r.ContentType = "application/mail-event-filter+json";
            r.Body = System.Text.Encoding.UTF8.GetBytes(body);
        }
        return r;
    }

    public static SipResponse Answer(SipRequest request, int code)
    {
        var r = new SipResponse(code);
        foreach (var h in request.Headers)
        {
            if (h.Name is SipHeaderNames.Via or SipHeaderNames.From or SipHeaderNames.To or SipHeaderNames.CallId or SipHeaderNames.CSeq)
            {
                r.Headers.Add(h.Name, h.RawValue);
            }
        }
        return r;
    }
}

internal static class Wait
{
    /// <summary>A bounded liveness wait (the notifier answers on the thread pool), not a timing assertion.</summary>
    public static async Task Until(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(5);
        }
    }
}
