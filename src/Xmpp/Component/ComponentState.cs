namespace Aggregators.Xmpp.Component;

/// <summary>Life cycle of an <see cref="XmppComponent"/>.</summary>
public enum ComponentState
{
    /// <summary>Created, not started.</summary>
    Idle,

    /// <summary>Connecting and authenticating (first attempt or a retry).</summary>
    Connecting,

    /// <summary>Authenticated: stanzas flow.</summary>
    Connected,

    /// <summary>The connection failed or ended; a reconnect follows after <see cref="ComponentStateChangedEventArgs.RetryDelay"/>.</summary>
    Disconnected,

    /// <summary>Stopped for good: on request, or after a configuration error (wrong secret, unknown domain).</summary>
    Stopped,
}

/// <summary>A state change, with what caused it: for logs and status pages.</summary>
public sealed class ComponentStateChangedEventArgs : EventArgs
{
    public ComponentStateChangedEventArgs(ComponentState state, string reason, Exception? exception = null,
        ComponentFailure? failure = null, TimeSpan? retryDelay = null, int attempt = 0)
    {
        State = state;
        Reason = reason;
        Exception = exception;
        Failure = failure;
        RetryDelay = retryDelay;
        Attempt = attempt;
    }

    public ComponentState State { get; }

    /// <summary>Human-readable cause ("the server rejected the component secret (not-authorized)", ...).</summary>
    public string Reason { get; }

    public Exception? Exception { get; }

    /// <summary>For a failed connection attempt, its classification.</summary>
    public ComponentFailure? Failure { get; }

    /// <summary>For <see cref="ComponentState.Disconnected"/>, when the next attempt starts.</summary>
    public TimeSpan? RetryDelay { get; }

    /// <summary>Connection attempts since the last successful connection (1 = first).</summary>
    public int Attempt { get; }

    public override string ToString() =>
        $"{State}: {Reason}" + (RetryDelay is { } d ? $" (retry in {d.TotalSeconds:0.##} s)" : "");
}
