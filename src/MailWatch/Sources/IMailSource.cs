using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Sources;

/// <summary>Where notifications come from: one transport (XMPP pubsub or SIP) and its subscriptions.</summary>
internal interface IMailSource
{
    /// <summary>For the display: what is subscribed where.</summary>
    string Description { get; }

    /// <summary>
    /// Connects and subscribes to every watched mailbox (with heartbeats), then reads the current
    /// counts; from then on each notification goes to <paramref name="sink"/>. Throws
    /// <see cref="SourceException"/> saying what failed. With <paramref name="subscribe"/> false
    /// (<c>--once</c>) only the current counts are read, where the transport allows it.
    /// </summary>
    Task<IMailSession> OpenAsync(IUpdateSink sink, bool subscribe, CancellationToken cancellationToken);
}

/// <summary>An open connection with its subscriptions.</summary>
internal interface IMailSession : IAsyncDisposable
{
    /// <summary>Completes (faulted, with the reason) when the connection or the subscriptions are gone.</summary>
    Task Completion { get; }

    /// <summary>Subscribes again and re-reads the counts (after STALE); throws <see cref="SourceException"/>.</summary>
    Task ResubscribeAsync(CancellationToken cancellationToken);

    /// <summary>Unsubscribes (best effort) and closes the connection.</summary>
    Task CloseAsync();
}

/// <summary>Receives what a source hears.</summary>
internal interface IUpdateSink
{
    void Update(MailboxUpdate update);

    /// <summary>A sign of life without counts.</summary>
    void Alive();

    /// <summary>The notifier said which heartbeat interval it granted for <paramref name="mailbox"/>'s subscription.</summary>
    void HeartbeatGranted(string mailbox, TimeSpan granted);
}

/// <summary>A source could not connect or subscribe (exit code 3 in <c>--once</c>).</summary>
public sealed class SourceException : Exception
{
    public SourceException(string message, Exception? inner = null, bool permanent = false) : base(message, inner) => Permanent = permanent;

    public SourceException() : base("notification source failed") { }

    public SourceException(string message) : base(message) { }

    public SourceException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Retrying will not help without a change of configuration (wrong password, forbidden).</summary>
    public bool Permanent { get; }
}
