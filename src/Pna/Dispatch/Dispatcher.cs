using System.Threading.Channels;
using Aggregators.EventModel;
using Aggregators.Pna.Operations;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Dispatch;

/// <summary>
/// The one consumer that turns accepted events into state changes and notifications. Being the
/// only writer of <see cref="Subscription.Sequence"/> and of mailbox state, it keeps every
/// subscription's notifications in order with gap-free sequence numbers. Event batches come
/// through a bounded channel (back-pressure on ingest); heartbeats and new subscriptions through
/// an unbounded control channel that is served first.
/// </summary>
public sealed partial class Dispatcher
{
    private readonly Channel<EventBatch> _events;
    private readonly Channel<ControlItem> _control;
    private readonly MailboxStateStore _state;
    private readonly SubscriptionRegistry _registry;
    private readonly ActiveSubscriptions _active;
    private readonly PnaMetrics _metrics;
    private readonly TimeProvider _time;
    private readonly ILogger<Dispatcher> _logger;
    private readonly List<Subscription> _matches = new(64);
    private readonly Dictionary<(INotificationTransport, NotificationKind), long> _outCounts = [];
    private readonly List<IBurstingTransport> _bursting = new(2); // in a burst since the current batch or control item began
    private Task? _run;
    private long _queuedEvents;
    private long _dispatchedEvents;

    public Dispatcher(
        int capacity,
        MailboxStateStore state,
        SubscriptionRegistry registry,
        ActiveSubscriptions active,
        PnaMetrics metrics,
        TimeProvider time,
        ILogger<Dispatcher> logger)
    {
        _events = Channel.CreateBounded<EventBatch>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _control = Channel.CreateUnbounded<ControlItem>(new UnboundedChannelOptions { SingleReader = true });
        _state = state;
        _registry = registry;
        _active = active;
        _metrics = metrics;
        _time = time;
        _logger = logger;
    }

    /// <summary>Events accepted and not yet dispatched.</summary>
    public long QueueDepth => Interlocked.Read(ref _queuedEvents);

    /// <summary>Events dispatched since start.</summary>
    public long DispatchedEvents => Interlocked.Read(ref _dispatchedEvents);

    public bool IsRunning => _run is { IsCompleted: false };

    public void Start() => _run ??= Task.Factory.StartNew(
        RunAsync, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default).Unwrap();

    /// <summary>
    /// Queues a batch, waiting while the queue is full, for at most <paramref name="timeout"/>.
    /// Throws <see cref="ChannelClosedException"/> once shutdown began,
    /// <see cref="OperationCanceledException"/> when the time is up or <paramref name="cancellationToken"/> fires.
    /// </summary>
    public async ValueTask EnqueueAsync(MailEvent[] events, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(events);
        var batch = new EventBatch(events, count);
        Interlocked.Add(ref _queuedEvents, count);
        try
        {
            if (!_events.Writer.TryWrite(batch))
            {
                // Only a batch that must wait gets a timeout (a linked token and a timer): not one per batch.
                using var timed = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timed.CancelAfter(timeout);
                await _events.Writer.WriteAsync(batch, timed.Token).ConfigureAwait(false);
            }
        }
        catch
        {
            Interlocked.Add(ref _queuedEvents, -count);
            throw;
        }
    }

    /// <summary>Asks for a heartbeat for <paramref name="subscription"/>; false once shutdown began.</summary>
    public bool EnqueueHeartbeat(Subscription subscription) =>
        _control.Writer.TryWrite(new ControlItem(ControlKind.Heartbeat, subscription, null));

    /// <summary>
    /// Removes <paramref name="subscription"/> from the registry on the dispatcher thread too, after
    /// any activation still queued, so an unsubscribe racing its own subscribe leaves nothing behind.
    /// </summary>
    public void EnqueueDeactivate(Subscription subscription) =>
        _control.Writer.TryWrite(new ControlItem(ControlKind.Deactivate, subscription, null));

    /// <summary>
    /// Activates a new subscription on the dispatcher thread: it joins the registry and gets its
    /// Initial notification before any later event, so its sequence starts at 1 with the truth.
    /// </summary>
    public Task ActivateAsync(Subscription subscription)
    {
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_control.Writer.TryWrite(new ControlItem(ControlKind.Activate, subscription, done)))
        {
            throw new InvalidOperationException("the PNA is shutting down");
        }
        return done.Task;
    }

    /// <summary>Stops taking work and returns when every queued item was dispatched.</summary>
    public Task DrainAsync()
    {
        _events.Writer.TryComplete();
        _control.Writer.TryComplete();
        return _run ?? Task.CompletedTask;
    }

    private async Task RunAsync()
    {
        var events = _events.Reader;
        var control = _control.Reader;
        // One outstanding wait per channel, kept across wake-ups until it completes: asking a
        // single-reader channel again while its last wait is pending cancels that wait, which cost
        // an OperationCanceledException per wake-up (hundreds per second under load).
        Task<bool>? eventsWait = null, controlWait = null;
        while (true)
        {
            while (control.TryRead(out var item))
            {
                Handle(item);
            }
            if (events.TryRead(out var batch))
            {
                Handle(batch);
                continue;
            }
            eventsWait ??= events.WaitToReadAsync().AsTask();
            controlWait ??= control.WaitToReadAsync().AsTask();
            var eventsClosed = eventsWait.IsCompleted && !await eventsWait.ConfigureAwait(false);
            var controlClosed = controlWait.IsCompleted && !await controlWait.ConfigureAwait(false);
            if (eventsClosed && controlClosed)
            {
                return; // both completed and empty: drained
            }
            // A closed channel's wait stays completed: wait for the other one alone.
            await (eventsClosed ? controlWait : controlClosed ? eventsWait : (Task)Task.WhenAny(eventsWait, controlWait)).ConfigureAwait(false);
            if (eventsWait.IsCompleted && await eventsWait.ConfigureAwait(false))
            {
                eventsWait = null; // something to read: a new wait after it is read
            }
            if (controlWait.IsCompleted && await controlWait.ConfigureAwait(false))
            {
                controlWait = null;
            }
        }
    }

    private void Handle(EventBatch batch)
    {
        var now = _time.GetUtcNow();
        for (var i = 0; i < batch.Count; i++)
        {
            var e = batch.Events[i];
            try
            {
                Dispatch(e, now);
            }
#pragma warning disable CA1031 // one bad event must not stop the dispatcher
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogDispatchFailed(ex, e.Type, e.Account.Value, e.Mailbox.Value);
            }
        }
        Interlocked.Add(ref _queuedEvents, -batch.Count);
        Interlocked.Add(ref _dispatchedEvents, batch.Count);
        EndBurst();
    }

    private void Dispatch(MailEvent e, DateTimeOffset now)
    {
        var totals = _state.Apply(e, now);
        _matches.Clear();
        _registry.Match(e, _matches);
        if (_matches.Count == 0)
        {
            return;
        }
        _metrics.Matches.Add(_matches.Count);
        var ticks = _time.GetTimestamp(); // one clock read per event, not per matching subscription
        foreach (var subscription in _matches)
        {
            Notify(subscription, NotificationKind.Event, e, e.Mailbox, totals, ticks);
        }
    }

    private void Handle(ControlItem item)
    {
        var subscription = item.Subscription;
        try
        {
            switch (item.Kind)
            {
                case ControlKind.Activate:
                    if (_active.Contains(subscription))
                    {
                        _registry.Add(subscription);
                        NotifyCurrent(subscription, NotificationKind.Initial);
                    }
                    item.Activated?.TrySetResult();
                    break;
                case ControlKind.Heartbeat when _active.Contains(subscription):
                    NotifyCurrent(subscription, NotificationKind.Heartbeat);
                    break;
                case ControlKind.Deactivate:
                    _registry.Remove(subscription);
                    break;
            }
        }
#pragma warning disable CA1031 // a failing control item must not stop the dispatcher
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogControlFailed(ex, subscription.Id);
            item.Activated?.TrySetException(ex);
        }
        EndBurst();
    }

    /// <summary>The subscribed mailbox's current totals; INBOX for an account-root subscription.</summary>
    private void NotifyCurrent(Subscription subscription, NotificationKind kind)
    {
        var mailbox = subscription.Filter.Mailbox.IsRoot ? MailboxPath.Inbox : subscription.Filter.Mailbox;
        var totals = _state.Get(subscription.Filter.Account, mailbox)?.Totals;
        Notify(subscription, kind, null, mailbox, totals, _time.GetTimestamp());
    }

    private void Notify(Subscription subscription, NotificationKind kind, MailEvent? e, MailboxPath mailbox, MailboxTotals? totals, long ticks)
    {
        var sequence = ++subscription.Sequence;
        Volatile.Write(ref subscription.LastNotifiedTicks, ticks);
        var transport = subscription.Transport;
        try
        {
            if (transport is IBurstingTransport bursting && !InBurst(bursting))
            {
                bursting.BeginBurst();
                _bursting.Add(bursting);
            }
            transport.Deliver(new Notification(subscription, kind, e, mailbox, totals, sequence));
        }
#pragma warning disable CA1031 // a throwing transport is logged and never stops the dispatcher
        catch (Exception ex)
#pragma warning restore CA1031
        {
            _metrics.TransportFailures.Add(1, new KeyValuePair<string, object?>("transport", transport.Name));
            LogTransportFailed(ex, transport.Name, subscription.Id, kind);
        }
        // Counted in runs (a fan-out is one long run): a dictionary update per run, not per notification.
        if (ReferenceEquals(transport, _runTransport) && kind == _runKind)
        {
            _runCount++;
            return;
        }
        CloseRun();
        (_runTransport, _runKind, _runCount) = (transport, kind, 1);
    }

    private INotificationTransport? _runTransport;
    private NotificationKind _runKind;
    private long _runCount;

    private void CloseRun()
    {
        if (_runTransport is { } t)
        {
            var key = (t, _runKind);
            _outCounts[key] = _outCounts.GetValueOrDefault(key) + _runCount;
            _runTransport = null;
        }
    }

    private bool InBurst(IBurstingTransport transport)
    {
        foreach (var t in _bursting)
        {
            if (ReferenceEquals(t, transport))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>After a batch or control item: held deliveries leave, counts go to the metrics.</summary>
    private void EndBurst()
    {
        foreach (var transport in _bursting)
        {
            try
            {
                transport.EndBurst();
            }
#pragma warning disable CA1031 // a throwing transport is logged and never stops the dispatcher
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogBurstFailed(ex, ((INotificationTransport)transport).Name);
            }
        }
        _bursting.Clear();
        FlushOutCounts();
    }

    private void FlushOutCounts()
    {
        CloseRun();
        if (_outCounts.Count == 0)
        {
            return;
        }
        foreach (var ((transport, kind), n) in _outCounts)
        {
            _metrics.NotificationsOut.Add(n,
                new KeyValuePair<string, object?>("transport", transport.Name),
                new KeyValuePair<string, object?>("kind", KindName(kind)));
        }
        _outCounts.Clear();
    }

    private static string KindName(NotificationKind kind) => kind switch
    {
        NotificationKind.Event => "event",
        NotificationKind.Initial => "initial",
        NotificationKind.Heartbeat => "heartbeat",
        _ => "other",
    };

    private readonly record struct EventBatch(MailEvent[] Events, int Count);

    private enum ControlKind : byte
    {
        Activate,
        Heartbeat,
        Deactivate,
    }

    private readonly record struct ControlItem(ControlKind Kind, Subscription Subscription, TaskCompletionSource? Activated);

    [LoggerMessage(Level = LogLevel.Error, Message = "Dispatching {Type} for {Account}/{Mailbox} failed; event skipped")]
    private partial void LogDispatchFailed(Exception exception, MailEventType type, string account, string mailbox);

    [LoggerMessage(Level = LogLevel.Error, Message = "Control item for subscription #{Id} failed")]
    private partial void LogControlFailed(Exception exception, long id);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transport {Transport} threw ending a burst of deliveries")]
    private partial void LogBurstFailed(Exception exception, string transport);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Transport {Transport} threw delivering a {Kind} notification for subscription #{Id}")]
    private partial void LogTransportFailed(Exception exception, string transport, long id, NotificationKind kind);
}

/// <summary>The set of live subscriptions by id, shared by the manager (writer) and the dispatcher (reader).</summary>
public sealed class ActiveSubscriptions
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<long, Subscription> _byId = new();

    public int Count => _byId.Count;

    public bool Contains(Subscription subscription) =>
        _byId.TryGetValue(subscription.Id, out var s) && ReferenceEquals(s, subscription);

    public bool TryGet(long id, out Subscription subscription) => _byId.TryGetValue(id, out subscription!);

    public void Add(Subscription subscription) => _byId[subscription.Id] = subscription;

    public bool TryRemove(long id, out Subscription subscription) => _byId.TryRemove(id, out subscription!);

    public IReadOnlyList<Subscription> Snapshot() => [.. _byId.Values.OrderBy(s => s.Id)];
}
