using System.Net;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Transactions;

public enum SipClientTransactionOutcome
{
    /// <summary>A final response arrived.</summary>
    Response,

    /// <summary>Timer F fired: the TU treats this as 408 Request Timeout (§8.1.3.1).</summary>
    Timeout,

    /// <summary>The transport failed (§17.1.4): treat as 503 Service Unavailable.</summary>
    TransportError,
}

public sealed record SipClientTransactionResult(SipClientTransactionOutcome Outcome, SipResponse? Response = null, Exception? Error = null)
{
    /// <summary>
    /// The final response's status code (0 without one). Set also when <see cref="Response"/> is null
    /// because the transaction was started status-only (see <see cref="SipTransactionLayer.SendRequest(SipRequest, ISipTransport, IPEndPoint, ISipClientTransactionUser, bool)"/>).
    /// </summary>
    public int StatusCode { get; init; } = Response?.StatusCode ?? 0;
}

/// <summary>
/// The transaction user of a client transaction, told of its end synchronously on the thread that
/// ended it (the transport's receive loop, the timer, or the sender on a transport error): no Task and
/// no thread-pool hop per transaction. It must return quickly and not block.
/// </summary>
public interface ISipClientTransactionUser
{
    void OnCompleted(SipNonInviteClientTransaction transaction, SipClientTransactionResult result);
}

/// <summary>
/// Non-INVITE client transaction (RFC 3261 §17.1.2, figure 6): Trying → Proceeding → Completed →
/// Terminated, retransmitting on unreliable transports with timer E (T1 doubling up to T2),
/// timing out with timer F (64*T1), absorbing response retransmissions for timer K (T4).
/// </summary>
public sealed class SipNonInviteClientTransaction : ISipTimerTarget
{
    private readonly Lock _lock = new();
    private readonly ISipTransport _transport;
    private readonly IPEndPoint _destination;
    private readonly SipTimerSettings _timers;
    private readonly SipTimerQueue _timerQueue;
    private readonly Action<SipResponse>? _onProvisional;
    private readonly Action<SipNonInviteClientTransaction> _onTerminated;
    private readonly ISipClientTransactionUser? _user;
    private TaskCompletionSource<SipClientTransactionResult>? _completion; // only when Completion is read
    private SipClientTransactionResult? _result;
    private SipTimerEntry? _timerE;
    private SipTimerEntry? _timerF;
    private SipTimerEntry? _timerK;
    private TimeSpan _intervalE;

    internal SipNonInviteClientTransaction(SipTransactionKey key, SipRequest request, ISipTransport transport, IPEndPoint destination,
        SipTimerSettings timers, SipTimerQueue timerQueue, Action<SipResponse>? onProvisional, Action<SipNonInviteClientTransaction> onTerminated,
        ISipClientTransactionUser? user = null, bool statusOnly = false)
    {
        _user = user;
        StatusOnly = statusOnly;
        Key = key;
        Request = request;
        _transport = transport;
        _destination = destination;
        _timers = timers;
        _timerQueue = timerQueue;
        _onProvisional = onProvisional;
        _onTerminated = onTerminated;
    }

    public SipTransactionKey Key { get; }
    public SipRequest Request { get; }
    public SipTransactionState State { get; private set; } = SipTransactionState.Trying;

    /// <summary>How many times the request was sent (1 + retransmissions).</summary>
    public int Transmissions { get; private set; }

    /// <summary>Responses are matched and completed from their head alone (<see cref="Parsing.SipResponseHead"/>); the result has no <see cref="SipClientTransactionResult.Response"/>.</summary>
    public bool StatusOnly { get; }

    /// <summary>Completes with the final response, a timeout or a transport error (created on first read).</summary>
    public Task<SipClientTransactionResult> Completion
    {
        get
        {
            lock (_lock)
            {
                _completion ??= new(TaskCreationOptions.RunContinuationsAsynchronously);
                if (_result is not null) _completion.TrySetResult(_result);
                return _completion.Task;
            }
        }
    }

    internal void Start()
    {
        lock (_lock)
        {
            _timerF = _timerQueue.Schedule(this, SipTimerKind.F, _timers.TransactionTimeout);
            if (!_transport.IsReliable)
            {
                _intervalE = _timers.T1;
                _timerE = _timerQueue.Schedule(this, SipTimerKind.E, _intervalE); // rescheduled, not renewed, on every retransmission
            }
        }
        Send();
    }

    private void Send()
    {
        lock (_lock) Transmissions++;
        ValueTask sending;
        try
        {
            sending = _transport.SendAsync(Request, _destination);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            OnTransportError(e);
            return;
        }
        if (sending.IsCompletedSuccessfully) return;
        _ = ObserveAsync(sending);
    }

    private async Task ObserveAsync(ValueTask sending)
    {
        try
        {
            await sending.ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            OnTransportError(e);
        }
    }

    void ISipTimerTarget.OnTimer(SipTimerKind kind)
    {
        switch (kind)
        {
            case SipTimerKind.E: OnTimerE(); break;
            case SipTimerKind.F: OnTimerF(); break;
            default: Terminate(null); break; // timer K
        }
    }

    // Timer E: retransmit; in Trying the interval doubles up to T2, in Proceeding it is T2 (§17.1.2.2).
    private void OnTimerE()
    {
        lock (_lock)
        {
            if (State is not (SipTransactionState.Trying or SipTransactionState.Proceeding)) return;
            _intervalE = State == SipTransactionState.Trying ? Min(_intervalE * 2, _timers.T2) : _timers.T2;
            _timerQueue.Schedule(_timerE!, _intervalE);
        }
        Send();
    }

    private void OnTimerF()
    {
        lock (_lock)
        {
            if (State is not (SipTransactionState.Trying or SipTransactionState.Proceeding)) return;
        }
        Terminate(new SipClientTransactionResult(SipClientTransactionOutcome.Timeout));
    }

    private void OnTransportError(Exception e)
    {
        lock (_lock)
        {
            if (State == SipTransactionState.Terminated) return;
        }
        Terminate(new SipClientTransactionResult(SipClientTransactionOutcome.TransportError, Error: e));
    }

    internal void ReceiveResponse(SipResponse response) => Receive(response.StatusCode, response);

    /// <summary>A response matched by its head (status-only transactions): no message object.</summary>
    internal void ReceiveStatus(int statusCode) => Receive(statusCode, null);

    private void Receive(int statusCode, SipResponse? response)
    {
        SipClientTransactionResult? final = null;
        bool terminate = false;
        lock (_lock)
        {
            switch (State)
            {
                case SipTransactionState.Trying or SipTransactionState.Proceeding when statusCode < 200:
                    State = SipTransactionState.Proceeding;
                    break;
                case SipTransactionState.Trying or SipTransactionState.Proceeding:
                    State = SipTransactionState.Completed;
                    _timerE?.Cancel();
                    _timerF?.Cancel();
                    final = new SipClientTransactionResult(SipClientTransactionOutcome.Response, response) { StatusCode = statusCode };
                    if (_transport.IsReliable) terminate = true;
                    else _timerK = _timerQueue.Schedule(this, SipTimerKind.K, _timers.T4);
                    break;
                default:
                    return; // Completed: response retransmissions are absorbed
            }
        }
        if (final is null)
        {
            if (response is not null) _onProvisional?.Invoke(response);
            return;
        }
        Complete(final);
        if (terminate) Terminate(null);
    }

    private void Complete(SipClientTransactionResult result)
    {
        TaskCompletionSource<SipClientTransactionResult>? completion;
        lock (_lock)
        {
            if (_result is not null) return;
            _result = result;
            completion = _completion;
        }
        completion?.TrySetResult(result);
        _user?.OnCompleted(this, result);
    }

    private void Terminate(SipClientTransactionResult? result)
    {
        lock (_lock)
        {
            if (State == SipTransactionState.Terminated) return;
            State = SipTransactionState.Terminated;
            _timerE?.Cancel();
            _timerF?.Cancel();
            _timerK?.Cancel();
        }
        _onTerminated(this);
        if (result is not null) Complete(result);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;
}
