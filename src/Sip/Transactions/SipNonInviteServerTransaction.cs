using System.Net;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Transactions;

/// <summary>
/// Non-INVITE server transaction (RFC 3261 §17.2.2, figure 8): absorbs request retransmissions,
/// re-sending the last provisional (Proceeding) or final (Completed) response, and keeps the final
/// response for timer J (64*T1 on unreliable transports, 0 on reliable ones).
/// </summary>
public sealed class SipNonInviteServerTransaction
{
    private readonly Lock _lock = new();
    private readonly SipTimerSettings _timers;
    private readonly TimeProvider _time;
    private readonly Action<SipNonInviteServerTransaction> _onTerminated;
    private readonly TaskCompletionSource _terminated = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private SipResponse? _lastResponse;
    private ITimer? _timerJ;

    internal SipNonInviteServerTransaction(SipTransactionKey key, SipRequest request, ISipTransport transport, IPEndPoint remote,
        SipTimerSettings timers, TimeProvider time, Action<SipNonInviteServerTransaction> onTerminated)
    {
        Key = key;
        Request = request;
        Transport = transport;
        RemoteEndPoint = remote;
        _timers = timers;
        _time = time;
        _onTerminated = onTerminated;
    }

    public SipTransactionKey Key { get; }
    public SipRequest Request { get; }
    public ISipTransport Transport { get; }
    public IPEndPoint RemoteEndPoint { get; }
    public SipTransactionState State { get; private set; } = SipTransactionState.Trying;
    public Task Terminated => _terminated.Task;

    /// <summary>Where responses go: the connection the request came on, or on UDP received/rport (§18.2.2).</summary>
    private IPEndPoint ResponseDestination =>
        Transport.IsReliable ? RemoteEndPoint : Request.TopVia is { } via ? SipTransportRules.ResponseDestination(via, RemoteEndPoint) ?? RemoteEndPoint : RemoteEndPoint;

    /// <summary>
    /// Sends a response from the TU: a provisional one moves Trying to Proceeding, a final one moves to
    /// Completed. Responses after the final one are refused (§17.2.2).
    /// </summary>
    public async ValueTask SendResponseAsync(SipResponse response, CancellationToken cancellationToken = default)
    {
        lock (_lock)
        {
            if (State is SipTransactionState.Completed or SipTransactionState.Terminated)
                throw new InvalidOperationException($"the transaction is {State}; it has already sent its final response");
            _lastResponse = response;
            if (response.IsProvisional)
            {
                State = SipTransactionState.Proceeding;
            }
            else
            {
                State = SipTransactionState.Completed;
                var j = Transport.IsReliable ? TimeSpan.Zero : _timers.TransactionTimeout;
                _timerJ = _time.CreateTimer(_ => Terminate(), null, j, Timeout.InfiniteTimeSpan);
            }
        }
        try
        {
            await Transport.SendAsync(response, ResponseDestination, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Terminate(); // §17.2.4: a transport error terminates the transaction
            throw;
        }
    }

    /// <summary>A retransmission of the request: re-send the last response, if any (§17.2.2).</summary>
    internal void ReceiveRetransmission()
    {
        SipResponse? resend;
        lock (_lock)
        {
            resend = State is SipTransactionState.Proceeding or SipTransactionState.Completed ? _lastResponse : null;
        }
        if (resend is null) return;
        _ = ResendAsync(resend);
    }

    private async Task ResendAsync(SipResponse response)
    {
        try
        {
            await Transport.SendAsync(response, ResponseDestination).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            Terminate();
        }
    }

    private void Terminate()
    {
        lock (_lock)
        {
            if (State == SipTransactionState.Terminated) return;
            State = SipTransactionState.Terminated;
            _timerJ?.Dispose();
        }
        _terminated.TrySetResult();
        _onTerminated(this);
    }
}
