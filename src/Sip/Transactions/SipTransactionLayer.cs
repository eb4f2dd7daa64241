using System.Collections.Concurrent;
using System.Net;
using System.Text;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Transactions;

/// <summary>
/// Holds the non-INVITE client and server transactions and matches incoming messages to them
/// (RFC 3261 §17.1.3, §17.2.3). Timers run on the given <see cref="TimeProvider"/>.
/// </summary>
public sealed class SipTransactionLayer(SipTimerSettings? timers = null, TimeProvider? time = null)
{
    private readonly SipTimerSettings _timers = timers ?? SipTimerSettings.Default;
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly SipTimerQueue _clientTimers = new(time ?? TimeProvider.System);
    private readonly ConcurrentDictionary<SipTransactionKey, SipNonInviteClientTransaction> _clients = new();
    private readonly ConcurrentDictionary<SipTransactionKey, SipNonInviteServerTransaction> _servers = new();
    private Action<SipNonInviteClientTransaction>? _removeClient; // one delegate for all transactions
    private readonly Lock _slotLock = new();
    private readonly Stack<SipClientTransactionSlot> _freeSlots = new();
    private SipClientTransactionSlot[] _slots = [];
    private int _slotCount;

    // Slot branches start with the magic cookie and 64 random bits drawn per layer, not per process: two
    // layers (or a layer made again after an in-process restart) must never send the same branch (§8.1.1.7),
    // and a slot's index and generation restart from 0 with every layer.
    private readonly byte[] _slotBranchPrefix = System.Text.Encoding.ASCII.GetBytes(SipVia.MagicCookie + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8)));

    public int ClientTransactionCount => _clients.Count;

    /// <summary>Scheduled timers E, F and K of client transactions and slots (for tests).</summary>
    internal int ScheduledTimers => _clientTimers.Count;

    /// <summary>
    /// A reusable client transaction for a sender with one request in flight at a time over a
    /// datagram transport (see <see cref="SipClientTransactionSlot"/>); give it back with
    /// <see cref="SipClientTransactionSlot.Release"/>. Its responses are matched by
    /// <see cref="TryMatchResponse"/> (and <see cref="ProcessResponse"/>) from the branch alone.
    /// </summary>
    public SipClientTransactionSlot AcquireSlot()
    {
        lock (_slotLock)
        {
            if (_freeSlots.TryPop(out var free))
            {
                free.Reuse();
                return free;
            }
            if (_slotCount == _slots.Length)
            {
                var bigger = new SipClientTransactionSlot[Math.Max(16, _slots.Length * 2)];
                _slots.CopyTo(bigger, 0);
                Volatile.Write(ref _slots, bigger);
            }
            var slot = new SipClientTransactionSlot(this, _clientTimers, _timers, _slotCount, _slotBranchPrefix);
            _slots[_slotCount] = slot;
            Volatile.Write(ref _slotCount, _slotCount + 1);
            return slot;
        }
    }

    internal void ReleaseSlot(SipClientTransactionSlot slot)
    {
        lock (_slotLock) _freeSlots.Push(slot);
    }

    /// <summary>The slot a branch names (z9hG4bK, this layer's random part, 's', 8 hex digits of index, 8 of generation), else null.</summary>
    private SipClientTransactionSlot? SlotOf(ReadOnlySpan<byte> branch)
    {
        var prefix = _slotBranchPrefix;
        if (branch.Length != SipClientTransactionSlot.BranchLength || !branch.StartsWith(prefix) || branch[prefix.Length] != (byte)'s') return null;
        if (!System.Buffers.Text.Utf8Parser.TryParse(branch.Slice(prefix.Length + 1, 8), out uint index, out var used, 'x') || used != 8) return null;
        var slots = Volatile.Read(ref _slots);
        return index < (uint)Volatile.Read(ref _slotCount) && index < (uint)slots.Length ? slots[index] : null;
    }
    public int ServerTransactionCount => _servers.Count;

    /// <summary>
    /// Starts a client transaction for a non-INVITE request whose top Via carries a fresh RFC 3261
    /// branch (see <see cref="SipTransactionKey.NewBranch"/>).
    /// </summary>
    public SipNonInviteClientTransaction SendRequest(SipRequest request, ISipTransport transport, IPEndPoint destination, Action<SipResponse>? onProvisional = null) =>
        Start(request, transport, destination, onProvisional, null, statusOnly: false);

    /// <summary>
    /// Starts a client transaction whose end is told to <paramref name="user"/> synchronously (no Task
    /// per transaction). With <paramref name="statusOnly"/>, responses that <see cref="TryMatchResponse"/>
    /// can read are matched and completed from their status line, top Via and CSeq alone, and the
    /// result carries only <see cref="SipClientTransactionResult.StatusCode"/> (for a user such as a
    /// notifier that only needs to know whether its NOTIFY got a 2xx).
    /// </summary>
    public SipNonInviteClientTransaction SendRequest(SipRequest request, ISipTransport transport, IPEndPoint destination, ISipClientTransactionUser user, bool statusOnly = false)
    {
        ArgumentNullException.ThrowIfNull(user);
        return Start(request, transport, destination, null, user, statusOnly);
    }

    private SipNonInviteClientTransaction Start(SipRequest request, ISipTransport transport, IPEndPoint destination, Action<SipResponse>? onProvisional, ISipClientTransactionUser? user, bool statusOnly)
    {
        if (request.Method is SipMethods.Invite or SipMethods.Ack)
            throw new NotSupportedException("only non-INVITE transactions are implemented");
        if (SipTransactionKey.ForClientRequest(request) is not { } key || !SipTransactionKey.IsRfc3261Branch(key.Branch))
            throw new ArgumentException("the request needs a top Via with an RFC 3261 branch", nameof(request));
        var tx = new SipNonInviteClientTransaction(key, request, transport, destination, _timers, _clientTimers, onProvisional,
            _removeClient ??= t => _clients.TryRemove(new(t.Key, t)), user, statusOnly);
        if (!_clients.TryAdd(key, tx)) throw new InvalidOperationException($"a client transaction with branch {key.Branch} exists");
        tx.Start();
        return tx;
    }

    /// <summary>
    /// Routes one received message: a response to its client transaction, a request to its server
    /// transaction. Returns the new server transaction the TU must answer, else null.
    /// </summary>
    public SipNonInviteServerTransaction? Dispatch(SipReceivedMessage received)
    {
        if (received.Message is SipRequest request) return ProcessRequest(request, received.Transport, received.RemoteEndPoint);
        ProcessResponse((SipResponse)received.Message); // a stray response is discarded (§17.1.3, §18.1.2)
        return null;
    }

    /// <summary>
    /// The fast path for a received response, before any full parse: reads its head
    /// (<see cref="SipResponseHead"/>) and hands it to a status-only transaction at once. Returns
    /// true when the response was consumed: matched that way, or a stray one (§17.1.3: no transaction
    /// has its branch and method; §18.1.2: discarded). Returns false when the caller must parse the
    /// message fully and use <see cref="Dispatch"/>: a transaction that wants the whole response, or a
    /// head too unusual to read without the full parser.
    /// </summary>
    public bool TryMatchResponse(ReadOnlySpan<byte> message, SipParserLimits limits)
    {
        ArgumentNullException.ThrowIfNull(limits);
        if (!SipResponseHead.TryRead(message, limits, out var head)) return false;
        if (SlotOf(head.Branch) is { } slot)
        {
            slot.Receive(head.Branch, head.Method, head.StatusCode); // a stray (old generation, other method) is dropped there
            return true;
        }
        var key = new SipTransactionKey(Encoding.ASCII.GetString(head.Branch), head.MethodName(), null);
        if (!_clients.TryGetValue(key, out var tx)) return true;
        if (!tx.StatusOnly) return false;
        tx.ReceiveStatus(head.StatusCode);
        return true;
    }

    /// <summary>Hands a response to its client transaction; false for a stray response (§18.1.2: discard).</summary>
    public bool ProcessResponse(SipResponse response)
    {
        if (response.TopVia?.Branch is { Length: SipClientTransactionSlot.BranchLength } branch && SlotOf(Encoding.ASCII.GetBytes(branch)) is { } slot)
        {
            slot.Receive(Encoding.ASCII.GetBytes(branch), Encoding.ASCII.GetBytes(response.CSeq.Method), response.StatusCode);
            return true;
        }
        if (SipTransactionKey.ForResponse(response) is not { } key || !_clients.TryGetValue(key, out var tx)) return false;
        tx.ReceiveResponse(response);
        return true;
    }

    /// <summary>
    /// Matches a request to a server transaction. Returns a new transaction the TU must answer, or
    /// null when the request was a retransmission (handled here), an ACK, or has no RFC 3261 branch.
    /// INVITE transactions are not implemented: an INVITE gets a non-INVITE server transaction, good
    /// only for answering it at once with a final error (e.g. 405 or 501).
    /// </summary>
    public SipNonInviteServerTransaction? ProcessRequest(SipRequest request, ISipTransport transport, IPEndPoint remote)
    {
        if (request.Method == SipMethods.Ack) return null;
        if (SipTransactionKey.ForServer(request) is not { } key) return null;
        var candidate = new SipNonInviteServerTransaction(key, request, transport, remote, _timers, _time, t => _servers.TryRemove(new(t.Key, t)));
        if (_servers.TryAdd(key, candidate)) return candidate;
        if (!_servers.TryGetValue(key, out var tx)) return null; // terminated in between: a late retransmission
        tx.ReceiveRetransmission();
        return null;
    }
}
