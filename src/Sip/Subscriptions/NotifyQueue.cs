namespace Aggregators.Sip.Subscriptions;

/// <summary>
/// What a notifier sends next on one dialog, as decided by <see cref="NotifyQueue{TState}"/>:
/// nothing, or one NOTIFY carrying <see cref="State"/>, the final one when
/// <see cref="TerminateReason"/> is set (RFC 6665 §4.1.3 <c>terminated;reason=</c>).
/// </summary>
public readonly struct NotifyStep<TState>
{
    private NotifyStep(TState state, string? terminateReason)
    {
        Send = true;
        State = state;
        TerminateReason = terminateReason;
    }

    /// <summary>Nothing to send now.</summary>
    public static NotifyStep<TState> None => default;

    /// <summary>True when a NOTIFY must go out now; the queue counts it in flight.</summary>
    public bool Send { get; }

    /// <summary>The state the NOTIFY carries (may be the notifier's "no state yet" value).</summary>
    public TState State { get; }

    /// <summary>Set on the final NOTIFY: the reason of its <c>Subscription-State: terminated</c>.</summary>
    public string? TerminateReason { get; }

    public bool IsFinal => TerminateReason is not null;

    internal static NotifyStep<TState> Of(TState state, string? terminateReason) => new(state, terminateReason);
}

/// <summary>
/// The NOTIFY queue of one subscription dialog on the notifier's side (RFC 6665 §4.2.2): at most one
/// NOTIFY in flight, so NOTIFYs of a dialog never overtake each other; states offered meanwhile
/// collapse into one pending state, the newest (the RFC 3842 §5 rate rule), so the last state
/// always goes out; NOTIFYs are held until the 200 to the SUBSCRIBE went out (§4.2.1.2: the NOTIFY
/// follows it); and once a terminate reason is set, the next NOTIFY is the final one, carrying the
/// latest state.
/// <para>
/// A plain mutable struct: keep it in a field of the dialog (not a property, which would copy it)
/// and call it under the dialog's own lock. It neither locks nor allocates. Every method that
/// returns a <see cref="NotifyStep{TState}"/> with <see cref="NotifyStep{TState}.Send"/> set has
/// counted that NOTIFY in flight: the caller sends it (outside the lock) and calls
/// <see cref="Completed"/> when its transaction succeeds, or <see cref="End"/> when it fails
/// (a failed NOTIFY ends the subscription, §4.2.2) or when the final NOTIFY completes.
/// </para>
/// </summary>
/// <typeparam name="TState">What a NOTIFY body is made from.</typeparam>
public struct NotifyQueue<TState>
{
    private TState _latest;
    private TState _pending;
    private bool _hasPending;
    private bool _stateWithheld;

    /// <param name="held">True for a dialog whose 200 has not gone out yet: nothing is sent before <see cref="Release"/>.</param>
    public NotifyQueue(bool held)
    {
        _latest = default!;
        _pending = default!;
        Held = held;
    }

    /// <summary>Before the 200 to the SUBSCRIBE went out: NOTIFYs wait.</summary>
    public bool Held { get; private set; }

    /// <summary>A NOTIFY of this dialog is in flight.</summary>
    public bool InFlight { get; private set; }

    /// <summary>A state waits for the NOTIFY in flight (or for the release).</summary>
    public readonly bool HasPending => _hasPending;

    /// <summary>The latest state known (sent or pending): the body of a refresh and of the final NOTIFY.</summary>
    public readonly TState Latest => _latest;

    /// <summary>Set once the subscription is ending: the RFC 6665 §4.1.3 reason of the final NOTIFY.</summary>
    public string? TerminateReason { get; private set; }

    /// <summary>The final NOTIFY completed, or the subscription ended without one.</summary>
    public bool Ended { get; private set; }

    /// <summary>Ending or ended: no further state is queued.</summary>
    public readonly bool Closing => Ended || TerminateReason is not null;

    /// <summary>
    /// A new state: sent at once when nothing is in flight and the dialog is not held, else it
    /// replaces the pending one. After <see cref="Terminate"/> it only becomes the latest state,
    /// which the final NOTIFY carries (unless <see cref="Revoke"/> withheld it).
    /// </summary>
    public NotifyStep<TState> Offer(TState state)
    {
        if (Closing)
        {
            if (!_stateWithheld)
            {
                _latest = state;
            }
            return NotifyStep<TState>.None;
        }
        _latest = state;
        if (InFlight || Held)
        {
            _pending = state;
            _hasPending = true;
            return NotifyStep<TState>.None;
        }
        InFlight = true;
        return NotifyStep<TState>.Of(state, null);
    }

    /// <summary>
    /// The current state once more (after a refresh, §4.2.1.2, or a restart), without making it
    /// the latest: sent at once when nothing is in flight; else pending, unless a state is
    /// pending already (that one is newer).
    /// </summary>
    public NotifyStep<TState> Repeat(TState state)
    {
        if (Closing)
        {
            return NotifyStep<TState>.None;
        }
        if (InFlight || Held)
        {
            if (!_hasPending)
            {
                _pending = state;
                _hasPending = true;
            }
            return NotifyStep<TState>.None;
        }
        InFlight = true;
        return NotifyStep<TState>.Of(state, null);
    }

    /// <summary>
    /// The 200 to the SUBSCRIBE went out: the held NOTIFY goes, the pending state (or the final
    /// NOTIFY when the dialog was terminated meanwhile). Nothing goes when nothing is pending.
    /// </summary>
    public NotifyStep<TState> Release()
    {
        Held = false;
        if (InFlight || Ended || (!_hasPending && TerminateReason is null))
        {
            return NotifyStep<TState>.None;
        }
        return Next();
    }

    /// <summary>
    /// As <see cref="Release()"/>, but a NOTIFY always goes (§4.2.1.2: the notifier sends one at once
    /// after accepting): the pending state, else the latest, else <paramref name="known"/>, which
    /// also becomes the latest state when none was offered.
    /// </summary>
    public NotifyStep<TState> ReleaseWith(TState known)
    {
        Held = false;
        if (_latest is null && !_stateWithheld)
        {
            _latest = known;
        }
        if (InFlight || Ended)
        {
            return NotifyStep<TState>.None;
        }
        if (!_hasPending && TerminateReason is null)
        {
            InFlight = true;
            return NotifyStep<TState>.Of(_latest, null);
        }
        return Next();
    }

    /// <summary>
    /// Ends the subscription with a final NOTIFY carrying the latest state (§4.2.2): at once when
    /// nothing is in flight and the dialog is not held, else when the NOTIFY in flight completes
    /// or at the release. Only the first reason counts.
    /// </summary>
    public NotifyStep<TState> Terminate(string reason)
    {
        ArgumentNullException.ThrowIfNull(reason);
        if (Closing)
        {
            return NotifyStep<TState>.None;
        }
        TerminateReason = reason;
        if (InFlight || Held)
        {
            return NotifyStep<TState>.None;
        }
        return Next();
    }

    /// <summary>
    /// Authorization withdrawn: as <see cref="Terminate"/> with <paramref name="reason"/> (RFC 6665
    /// §4.1.3 <c>rejected</c>), but the state is forgotten and no state goes out any more, so the
    /// final NOTIFY carries none. Also strips the state from a final NOTIFY already queued.
    /// </summary>
    public NotifyStep<TState> Revoke(string reason)
    {
        _latest = default!;
        _pending = default!;
        _hasPending = false;
        _stateWithheld = true;
        return Terminate(reason);
    }

    /// <summary>
    /// The NOTIFY in flight succeeded (and was not the final one): the final NOTIFY when
    /// terminating, else the pending state, else nothing and the dialog is idle.
    /// </summary>
    public NotifyStep<TState> Completed()
    {
        if (Ended)
        {
            return NotifyStep<TState>.None;
        }
        if (TerminateReason is null && !_hasPending)
        {
            InFlight = false;
            return NotifyStep<TState>.None;
        }
        return Next();
    }

    /// <summary>The subscription is over: nothing more is sent. False when it had ended already.</summary>
    public bool End()
    {
        if (Ended)
        {
            return false;
        }
        Ended = true;
        InFlight = false;
        _pending = default!;
        _hasPending = false;
        return true;
    }

    /// <summary>The final NOTIFY (latest state) when terminating, else the pending state; counted in flight.</summary>
    private NotifyStep<TState> Next()
    {
        InFlight = true;
        var state = TerminateReason is null ? _pending : _latest;
        _pending = default!;
        _hasPending = false;
        return NotifyStep<TState>.Of(state, TerminateReason);
    }
}
