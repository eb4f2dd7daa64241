using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Translation;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;
using Polly.Retry;

namespace Aggregators.ImapBridge.Watching;

/// <summary>
/// Watches one account over one IMAP connection and delivers what changes as RFC 5423 events.
/// A session: connect and log in (through the server's circuit breaker), resync (LIST + STATUS,
/// SELECT INBOX, corrective events only), then watch: with NOTIFY (RFC 5465) NOTIFY SET STATUS for
/// the selected INBOX and the personal mailboxes, followed by IDLE on the same connection (Dovecot
/// pushes selected-mailbox changes reliably only during IDLE, testbed-notes "blind window");
/// without NOTIFY, IDLE on INBOX (RFC 2177) and LIST + STATUS polling of the other mailboxes.
/// IDLE is re-issued every <see cref="ImapServerOptions.IdleRenewInterval"/> (below RFC 2177's 29
/// minutes), which also proves the connection alive (DONE must be answered within the command timeout);
/// a NOOP is sent when nothing was heard for <see cref="ImapServerOptions.KeepAliveInterval"/>.
/// A failed session is retried with Polly: exponential backoff with jitter, slowly after a refused login.
/// </summary>
public sealed partial class AccountWatcher
{
    private const int MaxNewUidsPerResync = 200;

    private readonly ImapServerEndpoint _server;
    private readonly AccountOptions _account;
    private readonly IEventSink _sink;
    private readonly IWatcherStateStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly EventFactory _factory;
    private readonly MailboxFilter _filter;
    private readonly bool _envelope;
    private readonly Lock _statusLock = new();
    private WatcherStatus _status;

    // Per session
    private Dictionary<string, MailboxSnapshot> _saved = new(StringComparer.Ordinal);
    private AccountMailboxes? _mailboxes;
    private SelectedMailbox? _selected;

    public AccountWatcher(
        ImapServerEndpoint server, AccountOptions account, IEventSink sink, IWatcherStateStore store,
        ILogger logger, TimeProvider? time = null)
    {
        _server = server;
        _account = account;
        _sink = sink;
        _store = store;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        AccountId = AccountId.Parse(account.Account ?? account.Login);
        _factory = new EventFactory(AccountId, _time);
        var o = server.Options;
        _filter = new MailboxFilter(account.IncludeMailboxes ?? o.IncludeMailboxes, account.ExcludeMailboxes ?? o.ExcludeMailboxes);
        _envelope = account.IncludeEnvelope ?? o.IncludeEnvelope;
        _status = new WatcherStatus(o.Name, AccountId.Value, WatcherState.Stopped, false, null, null, null, 0);
    }

    public AccountId AccountId { get; }

    /// <summary>Where the watcher is now (for logs and the status page).</summary>
    public WatcherStatus Status
    {
        get
        {
            lock (_statusLock)
            {
                return _status;
            }
        }
    }

    /// <summary>The number of sessions (connection attempts) started so far.</summary>
    public int Sessions { get; private set; }

    /// <summary>Runs until <paramref name="cancellationToken"/> fires: sessions, with backoff between failed ones.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var o = _server.Options;
        var retry = new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                ShouldHandle = new PredicateBuilder().Handle<Exception>(e => !(e is OperationCanceledException && cancellationToken.IsCancellationRequested)),
                MaxRetryAttempts = int.MaxValue,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = o.ReconnectBaseDelay,
                MaxDelay = o.ReconnectMaxDelay,
                DelayGenerator = args => args.Outcome.Exception switch
                {
                    ImapAuthenticationException => ValueTask.FromResult<TimeSpan?>(o.AuthFailureRetryDelay),
                    BrokenCircuitException { RetryAfter: { } after } => ValueTask.FromResult<TimeSpan?>(after + Jitter(o.ReconnectBaseDelay)),
                    _ => ValueTask.FromResult<TimeSpan?>(null),
                },
                OnRetry = args =>
                {
                    var e = args.Outcome.Exception!;
                    var state = e is ImapAuthenticationException ? WatcherState.AuthFailed : WatcherState.BackingOff;
                    SetStatus(state, e.Message);
                    LogSessionFailed(e.GetType().Name, e.Message, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        try
        {
            while (!cancellationToken.IsCancellationRequested)
            {
                // A session that was watching ends normally (returns) when its connection fails: the next
                // pipeline run starts with an immediate attempt and a fresh backoff.
                await retry.ExecuteAsync(static (self, ct) => new ValueTask(self.SessionAsync(ct)), this, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            SetStatus(WatcherState.Stopped, null);
        }
    }

    private static TimeSpan Jitter(TimeSpan max) =>
        TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * Math.Max(1, max.TotalMilliseconds));

    /// <summary>
    /// One connection. Throws when it fails before watching (retried with backoff); returns when a
    /// watching connection failed (reconnect at once, then backoff).
    /// </summary>
    private async Task SessionAsync(CancellationToken ct)
    {
        Sessions++;
        SetStatus(WatcherState.Connecting, null);
        var client = await _server.ConnectAsync(_account, ct).ConfigureAwait(false);
        await using var _ = client.ConfigureAwait(false);
        var notify = _server.Options.Mode == WatchMode.Auto && client.Supports("NOTIFY");
        var discovery = ReadDiscovery(client);
        lock (_statusLock)
        {
            _status = _status with { NotifyMode = notify, Discovery = discovery };
        }
        SetStatus(WatcherState.Resyncing, null);
        await ResyncAsync(client, ct).ConfigureAwait(false);
        if (notify)
        {
            await NotifySetAsync(client, ct).ConfigureAwait(false);
        }
        lock (_statusLock)
        {
            _status = _status with { State = WatcherState.Watching, WatchingSince = _time.GetUtcNow() };
        }
        LogWatching(AccountId.Value, notify ? "NOTIFY + IDLE" : "IDLE + STATUS polling");
        try
        {
            await WatchAsync(client, notify, ct).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ImapConnectionException or ImapProtocolException or ResyncRequiredException or IOException
            && !ct.IsCancellationRequested)
        {
            SetStatus(WatcherState.Connecting, e.Message);
            LogConnectionLost(AccountId.Value, e.Message);
        }
    }

    private async Task NotifySetAsync(ImapClient client, CancellationToken ct)
    {
        var fetch = new List<string> { "UID", "FLAGS", "RFC822.SIZE" };
        if (_envelope)
        {
            fetch.Add("ENVELOPE");
        }
        // RFC 5465 §5: selected (INBOX) with message events, personal mailboxes with counts and names.
        await client.NotifySetAsync(
            [
                ImapNotifyEventGroup.Selected(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.FlagChange)
                    with { MessageNewFetchAttributes = fetch },
                ImapNotifyEventGroup.Personal(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.FlagChange,
                    ImapNotifyEvent.MailboxName, ImapNotifyEvent.SubscriptionChange),
            ],
            status: true, ct).ConfigureAwait(false);
    }

    /// <summary>Resync (piece 4): LIST + STATUS against the stored state, SELECT INBOX, corrective events, save.</summary>
    private async Task ResyncAsync(ImapClient client, CancellationToken ct)
    {
        var stored = await _store.LoadAsync(AccountId.Value, ct).ConfigureAwait(false);
        _saved = new Dictionary<string, MailboxSnapshot>(stored, StringComparer.Ordinal);
        // Events computed from this saved state get this generation's ids, the same as before a crash.
        _factory.StartGeneration(stored.Count == 0 ? 0 : stored.Values.Max(s => s.Generation));
        var mailboxes = new AccountMailboxes(_factory, _filter);
        _mailboxes = mailboxes;
        var list = await ListAsync(client, ct).ConfigureAwait(false);
        var events = mailboxes.Reconcile(stored, list.Mailboxes, list.Status);

        var state = await client.SelectAsync("INBOX", client.Supports("CONDSTORE"), ct).ConfigureAwait(false);
        var uidValidity = state.UidValidity ?? 0;
        var selected = new SelectedMailbox(_factory, "INBOX", mailboxes.Delimiter, uidValidity, state.UidNext ?? 1, mailboxes.IsJunk("INBOX"));
        _selected = selected;
        if (state.Exists > 0)
        {
            var all = await client.UidFetchAsync(ImapSequenceSet.Range(1, ImapSequenceSet.Star), ImapFetchItem.Uid | ImapFetchItem.Flags, ct).ConfigureAwait(false);
            selected.Load(all, state.Exists);
        }
        DrainSelectResponses(client);
        var now = Snapshot(selected);
        if (stored.TryGetValue("INBOX", out var old))
        {
            IReadOnlyList<NewUid>? newUids = null;
            var fresh = selected.Uids.Where(u => u >= old.UidNext && old.UidValidity == uidValidity).ToArray();
            if (fresh.Length is > 0 and <= MaxNewUidsPerResync)
            {
                newUids = await NewUidsAsync(client, fresh, ct).ConfigureAwait(false);
            }
            else if (fresh.Length == 0)
            {
                newUids = [];
            }
            events.AddRange(StatusDelta.Compute(_factory, old, now, mailboxes.Delimiter, selected.IsJunk, newUids));
        }
        else if (stored.Count > 0)
        {
            events.AddRange(StatusDelta.Compute(_factory, now with { Messages = 0, Unseen = 0, UidNext = 1 }, now, mailboxes.Delimiter, selected.IsJunk));
        }
        mailboxes.SetSnapshot(now);
        await DeliverAsync(events, ct).ConfigureAwait(false);
    }

    private async Task<ImapListResult> ListAsync(ImapClient client, CancellationToken ct) =>
        await client.ListAsync("", "*", new ImapListOptions
        {
            Subscribed = true,
            SpecialUse = client.Supports("SPECIAL-USE"),
            Status = ImapStatusItem.Default,
        }, ct).ConfigureAwait(false);

    private async Task<IReadOnlyList<NewUid>> NewUidsAsync(ImapClient client, IReadOnlyList<uint> uids, CancellationToken ct)
    {
        var items = ImapFetchItem.Uid | ImapFetchItem.Flags | ImapFetchItem.Rfc822Size | (_envelope ? ImapFetchItem.Envelope : ImapFetchItem.None);
        var set = ImapSequenceSet.Parse(UidSets.Format(uids));
        var fetched = await client.UidFetchAsync(set, items, ct).ConfigureAwait(false);
        return fetched.Where(f => f.Uid is not null).OrderBy(f => f.Uid).Select(f => new NewUid(
            f.Uid!.Value, f.Rfc822Size, Envelopes.FormatFrom(f.Envelope), Envelopes.Clean(f.Envelope?.Subject),
            f.Flags is { } fl && SelectedMailbox.Has(fl, "$Junk"),
            f.Flags is { } fs && SelectedMailbox.Has(fs, "\\Seen"))).ToArray();
    }

    /// <summary>SELECT's own EXISTS/RECENT/FLAGS also went to the unsolicited channel: feed them (no-ops for the loaded state).</summary>
    private void DrainSelectResponses(ImapClient client)
    {
        while (client.Unsolicited.TryRead(out var r))
        {
            Feed(r);
        }
    }

    private MailboxSnapshot Snapshot(SelectedMailbox s)
    {
        var subscribed = _mailboxes?.Known.TryGetValue(s.Name, out var k) == true && k.Subscribed;
        return new MailboxSnapshot(s.Name, s.UidValidity, s.UidNext, (uint)s.Messages, (uint)s.Unseen, subscribed, Generation: _factory.Generation);
    }

    private readonly List<MailEvent> _pending = [];

    private void Feed(ImapUntaggedResponse r)
    {
        var mailboxes = _mailboxes!;
        switch (r)
        {
            case ImapStatusResponse st:
                _pending.AddRange(mailboxes.OnStatus(st.Mailbox, st.Items));
                break;
            case ImapListResponse l:
                _pending.AddRange(mailboxes.OnList(l));
                break;
            default:
                _selected!.Feed(r);
                break;
        }
    }

    private async Task WatchAsync(ImapClient client, bool notify, CancellationToken ct)
    {
        var o = _server.Options;
        var reader = client.Unsolicited;
        var dropped = client.UnsolicitedDropped;
        var nextPoll = _time.GetUtcNow() + o.PollInterval;
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            await DoPendingCommandsAsync(client, ct).ConfigureAwait(false);
            var idleStart = _time.GetUtcNow();
            var idle = await client.IdleAsync(ct).ConfigureAwait(false);
            var stopped = false;
            // One timer per IDLE, not one per push: it is re-armed only after it fired (a deadline
            // that moved later, e.g. the keepalive after traffic, costs one spurious wake-up).
            CancellationTokenSource? timer = null;
            try
            {
                while (true)
                {
                    var now = _time.GetUtcNow();
                    var deadline = idleStart + o.IdleRenewInterval;
                    var keepAlive = client.LastActivity + o.KeepAliveInterval;
                    if (keepAlive < deadline)
                    {
                        deadline = keepAlive;
                    }
                    if (!notify && nextPoll < deadline)
                    {
                        deadline = nextPoll;
                    }
                    var wait = deadline - now;
                    if (wait <= TimeSpan.Zero)
                    {
                        break; // renew IDLE / keepalive / poll
                    }
                    if (timer is null)
                    {
                        timer = CancellationTokenSource.CreateLinkedTokenSource(ct);
                        timer.CancelAfter(wait);
                    }
                    bool more;
                    try
                    {
                        // Responses already queued are taken without waiting (and without a timer).
                        more = reader.TryPeek(out _) || await reader.WaitToReadAsync(timer.Token).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (!ct.IsCancellationRequested)
                    {
                        timer.Dispose();
                        timer = null;
                        continue; // a deadline: re-evaluate
                    }
                    if (!more)
                    {
                        throw client.Failure ?? new ImapConnectionException("the connection closed");
                    }
                    while (reader.TryRead(out var r))
                    {
                        Feed(r);
                    }
                    if (client.UnsolicitedDropped != dropped)
                    {
                        throw new ResyncRequiredException("unsolicited responses were dropped: resynchronising");
                    }
                    _pending.AddRange(_selected!.Flush());
                    if (_pending.Count > 0)
                    {
                        await DeliverAsync(_pending.ToList(), ct).ConfigureAwait(false);
                        _pending.Clear();
                    }
                    if (_selected.NeedsFetch || _mailboxes!.PendingStatus.Count > 0 || idle.Ended.IsCompleted)
                    {
                        break;
                    }
                }
                if (_selected!.NeedsFetch)
                {
                    // New mail: DONE and the UID FETCH of it in one write (one round trip, not two).
                    _selected.ApplyFetched(await idle.StopThenUidFetchAsync(_selected.FetchRange, NewMessageItems, ct).ConfigureAwait(false));
                }
                else
                {
                    await idle.StopAsync(ct).ConfigureAwait(false);
                }
                stopped = true;
            }
            finally
            {
                timer?.Dispose();
                if (!stopped)
                {
                    await idle.DisposeAsync().ConfigureAwait(false);
                }
            }
            while (reader.TryRead(out var r))
            {
                Feed(r);
            }
            if (!notify && _time.GetUtcNow() >= nextPoll)
            {
                await PollAsync(client, ct).ConfigureAwait(false);
                nextPoll = _time.GetUtcNow() + o.PollInterval;
            }
            if (_time.GetUtcNow() - client.LastActivity >= o.KeepAliveInterval)
            {
                await client.KeepAliveAsync(ct).ConfigureAwait(false);
                while (reader.TryRead(out var r))
                {
                    Feed(r);
                }
            }
        }
    }

    /// <summary>What a new message is fetched with (the event's UID, flags, size and, if configured, envelope).</summary>
    private ImapFetchItem NewMessageItems =>
        ImapFetchItem.Uid | ImapFetchItem.Flags | ImapFetchItem.Rfc822Size | (_envelope ? ImapFetchItem.Envelope : ImapFetchItem.None);

    /// <summary>UID FETCH for new messages whose UID was not pushed; STATUS for mailboxes that appeared.</summary>
    private async Task DoPendingCommandsAsync(ImapClient client, CancellationToken ct)
    {
        var selected = _selected!;
        var mailboxes = _mailboxes!;
        if (selected.NeedsFetch)
        {
            var fetched = await client.UidFetchAsync(selected.FetchRange, NewMessageItems, ct).ConfigureAwait(false);
            selected.ApplyFetched(fetched);
        }
        foreach (var name in mailboxes.PendingStatus.ToArray())
        {
            try
            {
                var st = await client.StatusAsync(name, ImapStatusItem.Default, ct).ConfigureAwait(false);
                _pending.AddRange(mailboxes.OnStatus(name, st));
            }
            catch (ImapCommandException e)
            {
                // Gone again or not selectable: forget it (a later LIST push or resync says more).
                LogStatusRefused(name, e.Message);
                _pending.AddRange(mailboxes.OnList(new ImapListResponse(false, ["\\NonExistent"], mailboxes.Delimiter, name, [])));
            }
        }
        while (client.Unsolicited.TryRead(out var r))
        {
            Feed(r);
        }
        _pending.AddRange(selected.Flush());
        if (_pending.Count > 0)
        {
            await DeliverAsync(_pending.ToList(), ct).ConfigureAwait(false);
            _pending.Clear();
        }
    }

    /// <summary>IDLE-only mode: LIST + STATUS of the other mailboxes, compared with what we know.</summary>
    private async Task PollAsync(ImapClient client, CancellationToken ct)
    {
        var mailboxes = _mailboxes!;
        var known = new Dictionary<string, MailboxSnapshot>(mailboxes.Known, StringComparer.Ordinal);
        var list = await ListAsync(client, ct).ConfigureAwait(false);
        var events = mailboxes.Reconcile(known, list.Mailboxes, list.Status);
        mailboxes.SetSnapshot(Snapshot(_selected!));
        while (client.Unsolicited.TryRead(out var r))
        {
            Feed(r);
        }
        _pending.AddRange(events);
        _pending.AddRange(_selected!.Flush());
        if (_pending.Count > 0)
        {
            await DeliverAsync(_pending.ToList(), ct).ConfigureAwait(false);
            _pending.Clear();
        }
    }

    /// <summary>At-least-once: deliver, then save the state the events lead to (see <see cref="IEventSink"/>).</summary>
    private async Task DeliverAsync(List<MailEvent> events, CancellationToken ct)
    {
        if (events.Count > 0)
        {
            await _sink.DeliverAsync(events, ct).ConfigureAwait(false);
            lock (_statusLock)
            {
                _status = _status with { EventsDelivered = _status.EventsDelivered + events.Count };
            }
            LogDelivered(AccountId.Value, events.Count);
            // Delivered: the next batch is a new generation, saved below with the INBOX row.
            _factory.StartGeneration(_factory.Generation + 1);
        }
        var mailboxes = _mailboxes!;
        if (_selected is { } s)
        {
            mailboxes.SetSnapshot(Snapshot(s));
        }
        var changed = new List<MailboxSnapshot>();
        foreach (var (name, snap) in mailboxes.Known)
        {
            if (!_saved.TryGetValue(name, out var was) || was != snap)
            {
                changed.Add(snap);
            }
        }
        var removed = _saved.Keys.Where(k => !mailboxes.Known.ContainsKey(k)).ToArray();
        if (changed.Count > 0 || removed.Length > 0)
        {
            await _store.SaveAsync(AccountId.Value, changed, removed, ct).ConfigureAwait(false);
            _saved = new Dictionary<string, MailboxSnapshot>(mailboxes.Known, StringComparer.Ordinal);
        }
    }

    /// <summary>The server's NOTIF= capabilities (docs/discovery.md), logged when they change; bad ones are logged and left out.</summary>
    private IReadOnlyList<string> ReadDiscovery(ImapClient client)
    {
        var (found, errors) = Aggregators.EventModel.Discovery.NotifCapability.FromCapabilities(client.Capabilities);
        foreach (var e in errors)
        {
            LogDiscoveryRefused(AccountId.Value, e);
        }
        var atoms = found.Select(f => f.ToString()).ToArray();
        if (!atoms.SequenceEqual(Status.Discovery, StringComparer.Ordinal))
        {
            LogDiscovery(AccountId.Value, atoms.Length == 0 ? "none" : string.Join(' ', atoms));
        }
        return atoms;
    }

    private void SetStatus(WatcherState state, string? error)
    {
        lock (_statusLock)
        {
            _status = error is null
                ? _status with { State = state }
                : _status with { State = state, LastError = error, LastErrorAt = _time.GetUtcNow() };
        }
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "IMAP watcher {Account}: watching ({Mode})")]
    private partial void LogWatching(string account, string mode);

    [LoggerMessage(EventId = 2, Level = LogLevel.Warning, Message = "IMAP watcher session failed ({Kind}: {Error}); next attempt in {Delay}")]
    private partial void LogSessionFailed(string kind, string error, TimeSpan delay);

    [LoggerMessage(EventId = 3, Level = LogLevel.Warning, Message = "IMAP watcher {Account}: connection lost ({Error}); reconnecting")]
    private partial void LogConnectionLost(string account, string error);

    [LoggerMessage(EventId = 4, Level = LogLevel.Debug, Message = "IMAP watcher {Account}: delivered {Count} events")]
    private partial void LogDelivered(string account, int count);

    [LoggerMessage(EventId = 5, Level = LogLevel.Debug, Message = "STATUS {Mailbox} refused: {Error}")]
    private partial void LogStatusRefused(string mailbox, string error);

    [LoggerMessage(EventId = 6, Level = LogLevel.Information, Message = "IMAP watcher {Account}: the server advertises its PNA as {Discovery}")]
    private partial void LogDiscovery(string account, string discovery);

    [LoggerMessage(EventId = 7, Level = LogLevel.Warning, Message = "IMAP watcher {Account}: ignoring a malformed discovery capability {Capability}")]
    private partial void LogDiscoveryRefused(string account, string capability);
}
