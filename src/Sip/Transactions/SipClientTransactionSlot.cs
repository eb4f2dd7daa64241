using System.Buffers.Text;
using System.Net;
using System.Net.Sockets;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Transactions;

/// <summary>
/// Writes one request into <paramref name="buffer"/> with <paramref name="branch"/> as its top Via's
/// branch; returns the bytes written, or -1 when the buffer is too small (it is then offered a bigger one).
/// </summary>
public delegate int SipRequestBytesWriter<in TState>(Span<byte> buffer, ReadOnlySpan<byte> branch, TState state);

/// <summary>Told synchronously when a slot's transaction ends (see <see cref="ISipClientTransactionUser"/> for the rules).</summary>
public interface ISipClientSlotUser
{
    /// <summary><paramref name="statusCode"/> is the final response's, 0 on a timeout or transport error.</summary>
    void OnCompleted(SipClientTransactionSlot slot, SipClientTransactionOutcome outcome, int statusCode);
}

/// <summary>
/// A non-INVITE client transaction (RFC 3261 §17.1.2.2) over a datagram transport, reused for the
/// successive requests of one sender that never has two in flight — a notifier's dialog, where
/// RFC 6665 §4.2.2 allows one NOTIFY at a time. Nothing is allocated per request: the request is
/// written straight into the slot's buffer (which timer E retransmits), timers E and F are the slot's
/// two reusable queue entries, and the branch encodes the slot's index and a generation number
/// (<c>z9hG4bK</c>, the layer's random part, <c>s</c>, 8 + 8 hex digits), so a response is matched
/// by parsing its branch and indexing an array (§17.1.3: the whole branch and the CSeq method are
/// still compared). Timer K is not run: in Completed a non-INVITE client transaction only absorbs
/// response retransmissions (§17.1.2.2), and a slot absorbs those of its last request until it starts
/// the next one; later ones are strays, discarded as §18.1.2 says — on the wire the same. Responses
/// are read from their head only (status code); provisional ones move the transaction to Proceeding.
/// Timers E and F are not cancelled when a transaction ends: the next <see cref="Start"/> moves them
/// (one timer-queue operation per request instead of two), and one that falls due first finds the
/// transaction over and does nothing.
/// </summary>
public sealed class SipClientTransactionSlot : ISipTimerTarget
{
    internal const int BranchLength = 7 + 16 + 1 + 8 + 8; // z9hG4bK, random part, 's', index, generation

    private readonly Lock _lock = new();
    private readonly SipTransactionLayer _layer;
    private readonly SipTimerQueue _queue;
    private readonly SipTimerSettings _timers;
    private readonly SipTimerEntry _timerE;
    private readonly SipTimerEntry _timerF;
    private readonly byte[] _branch = new byte[BranchLength];
    private byte[] _wire = new byte[1024];
    private int _length;
    private ISipDatagramTransport? _transport;
    private SocketAddress? _destination;
    private ISipClientSlotUser? _user;
    private string _method = "";
    private TimeSpan _intervalE;
    private bool _released;

    internal SipClientTransactionSlot(SipTransactionLayer layer, SipTimerQueue queue, SipTimerSettings timers, int index, ReadOnlySpan<byte> branchPrefix)
    {
        _layer = layer;
        _queue = queue;
        _timers = timers;
        Index = index;
        _timerE = new SipTimerEntry(this, SipTimerKind.E);
        _timerF = new SipTimerEntry(this, SipTimerKind.F);
        branchPrefix.CopyTo(_branch);
        _branch[branchPrefix.Length] = (byte)'s';
        Utf8Formatter.TryFormat((uint)index, _branch.AsSpan(branchPrefix.Length + 1, 8), out _, new System.Buffers.StandardFormat('x', 8));
    }

    internal int Index { get; }

    /// <summary>Increases with every request; part of the branch (unique over time, §8.1.1.7).</summary>
    internal uint Generation { get; private set; }

    /// <summary>Terminated when idle (nothing started yet, or the last transaction ended).</summary>
    public SipTransactionState State { get; private set; } = SipTransactionState.Terminated;

    /// <summary>How many times the current request was sent (1 + retransmissions).</summary>
    public int Transmissions { get; private set; }

    /// <summary>The current request's bytes, as sent (for tests).</summary>
    public ReadOnlySpan<byte> Request => _wire.AsSpan(0, _length);

    /// <summary>
    /// Starts the next transaction: a fresh branch, the request written by <paramref name="write"/>,
    /// timers F and E (§17.1.2.2), the first send from this thread. The slot must be idle or Completed
    /// (one request at a time). A send that fails ends the transaction with
    /// <see cref="SipClientTransactionOutcome.TransportError"/>, told to <paramref name="user"/> before this returns.
    /// With <paramref name="batch"/> (on <paramref name="transport"/>) the first send is queued there and
    /// leaves when its owner flushes it; retransmissions are sent directly.
    /// </summary>
    public void Start<TState>(ISipDatagramTransport transport, SocketAddress destination, string method, ISipClientSlotUser user, TState state, SipRequestBytesWriter<TState> write, SipDatagramBatch? batch = null)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(destination);
        ArgumentNullException.ThrowIfNull(write);
        if (method is SipMethods.Invite or SipMethods.Ack) throw new NotSupportedException("only non-INVITE transactions are implemented");
        Exception? failed;
        lock (_lock)
        {
            if (_released) throw new ObjectDisposedException(nameof(SipClientTransactionSlot));
            if (State is SipTransactionState.Trying or SipTransactionState.Proceeding)
                throw new InvalidOperationException("a request of this slot is still in flight");
            Generation++;
            Utf8Formatter.TryFormat(Generation, _branch.AsSpan(BranchLength - 8), out _, new System.Buffers.StandardFormat('x', 8));
            int n;
            while ((n = write(_wire, _branch, state)) < 0)
            {
                if (_wire.Length >= 1 << 16) throw new InvalidOperationException("the request does not fit in a datagram");
                _wire = new byte[_wire.Length * 2];
            }
            _length = n;
            _transport = transport;
            _destination = destination;
            _method = method;
            _user = user;
            State = SipTransactionState.Trying;
            Transmissions = 0;
            _intervalE = _timers.T1;
            _queue.Schedule(_timerF, _timers.TransactionTimeout, _timerE, _intervalE);
            failed = SendLocked(batch is not null && ReferenceEquals(batch.Transport, transport) ? batch : null);
        }
        if (failed is not null) End(SipClientTransactionOutcome.TransportError, 0, Generation);
    }

    /// <summary>Gives the slot back to the layer (its index may be reused, with later generations); a transaction in flight is dropped silently.</summary>
    public void Release()
    {
        lock (_lock)
        {
            if (_released) return;
            _released = true;
            _timerE.Cancel();
            _timerF.Cancel();
            State = SipTransactionState.Terminated;
            _user = null;
        }
        _layer.ReleaseSlot(this);
    }

    // Under _lock.
    private Exception? SendLocked(SipDatagramBatch? batch = null)
    {
        Transmissions++;
        try
        {
            if (batch is not null) batch.Send(_wire.AsSpan(0, _length), _destination!);
            else _transport!.Send(_wire.AsSpan(0, _length), _destination!);
            return null;
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            return e;
        }
    }

    /// <summary>
    /// A response whose branch names this slot (§17.1.3): it matches when the whole branch (so the
    /// generation) and the CSeq method are the current request's; anything else is a stray, dropped.
    /// </summary>
    internal void Receive(ReadOnlySpan<byte> branch, ReadOnlySpan<byte> method, int statusCode)
    {
        ISipClientSlotUser? user;
        lock (_lock)
        {
            if (_released || !branch.SequenceEqual(_branch) || !System.Text.Ascii.Equals(method, _method)) return;
            switch (State)
            {
                case SipTransactionState.Trying or SipTransactionState.Proceeding when statusCode < 200:
                    State = SipTransactionState.Proceeding;
                    return;
                case SipTransactionState.Trying or SipTransactionState.Proceeding:
                    // A final response: Completed, absorbing retransmissions until the next request.
                    State = SipTransactionState.Completed;
                    user = _user;
                    break;
                default:
                    return; // Completed: a retransmitted response, absorbed
            }
        }
        user?.OnCompleted(this, SipClientTransactionOutcome.Response, statusCode);
    }

    /// <summary>Taken from the layer again after <see cref="Release"/>: the generation goes on, so no branch repeats.</summary>
    internal void Reuse()
    {
        lock (_lock) _released = false;
    }

    void ISipTimerTarget.OnTimer(SipTimerKind kind)
    {
        Exception? failed;
        uint generation;
        lock (_lock)
        {
            // Rescheduled between falling due and this call (the next request started): not this firing's.
            var entry = kind == SipTimerKind.E ? _timerE : _timerF;
            if (entry.IsScheduled || _released || State is not (SipTransactionState.Trying or SipTransactionState.Proceeding)) return;
            generation = Generation;
            if (kind == SipTimerKind.F)
            {
                failed = null;
            }
            else
            {
                // Timer E: retransmit; in Trying the interval doubles up to T2, in Proceeding it is T2 (§17.1.2.2).
                _intervalE = State == SipTransactionState.Trying ? (_intervalE * 2 < _timers.T2 ? _intervalE * 2 : _timers.T2) : _timers.T2;
                _queue.Schedule(_timerE, _intervalE);
                failed = SendLocked();
                if (failed is null) return;
            }
        }
        End(kind == SipTimerKind.F ? SipClientTransactionOutcome.Timeout : SipClientTransactionOutcome.TransportError, 0, generation);
    }

    /// <summary>A timeout or transport error: Terminated (timers left to the next <see cref="Start"/>, see the class remarks).</summary>
    private void End(SipClientTransactionOutcome outcome, int statusCode, uint generation)
    {
        ISipClientSlotUser? user;
        lock (_lock)
        {
            if (generation != Generation || State is not (SipTransactionState.Trying or SipTransactionState.Proceeding)) return;
            State = SipTransactionState.Terminated;
            user = _user;
        }
        user?.OnCompleted(this, outcome, statusCode);
    }
}
