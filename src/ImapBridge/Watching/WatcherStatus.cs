namespace Aggregators.ImapBridge.Watching;

/// <summary>Where an account watcher is (for logs and the status page).</summary>
public enum WatcherState
{
    Stopped,
    Connecting,
    Resyncing,
    Watching,
    BackingOff,

    /// <summary>The server said AUTHENTICATIONFAILED (RFC 5530) or refused the login; retried only slowly.</summary>
    AuthFailed,
}

/// <summary>A snapshot of one watcher's state.</summary>
public sealed record WatcherStatus(
    string Server,
    string Account,
    WatcherState State,
    bool NotifyMode,
    string? LastError,
    DateTimeOffset? LastErrorAt,
    DateTimeOffset? WatchingSince,
    long EventsDelivered)
{
    /// <summary>
    /// Where the server says its PNA takes subscriptions: the <c>NOTIF=</c> capabilities read after
    /// login (docs/discovery.md), e.g. <c>NOTIF=xmpp:events.example.com</c>; empty when it advertises none.
    /// </summary>
    public IReadOnlyList<string> Discovery { get; init; } = [];
}
