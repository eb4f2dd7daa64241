using Aggregators.MailWatch.Imap;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Output;
using Aggregators.MailWatch.Sources;
using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch;

/// <summary>
/// Keeps a subscription alive and the display honest: opens the source, checks freshness every
/// tick, re-subscribes with backoff while STALE, reconnects with backoff when the connection is
/// lost, and (with <c>--verify-imap</c>) reads IMAP STATUS once per STALE episode and then every
/// few minutes while it lasts.
/// </summary>
internal sealed class Watcher : IUpdateSink
{
    private readonly MailWatchOptions _options;
    private readonly IMailSource _source;
    private readonly WatchState _state;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly DesktopNotifier? _notifier;
    private readonly ImapStatusVerifier? _verifier;

    public Watcher(MailWatchOptions options, IMailSource source, WatchState state, ILogger logger, TimeProvider time,
        DesktopNotifier? notifier, ImapStatusVerifier? verifier)
    {
        _options = options;
        _source = source;
        _state = state;
        _logger = logger;
        _time = time;
        _notifier = notifier;
        _verifier = verifier;
    }

    /// <summary>How often freshness is checked.</summary>
    public TimeSpan Tick => TimeSpan.FromMilliseconds(Math.Clamp(_options.Heartbeat.TotalMilliseconds / 10, 100, 1000));

    public void Update(MailboxUpdate update)
    {
        _logger.LogDebug("{Kind} {Mailbox}: {Unseen} unseen of {Messages}", update.Kind, update.Mailbox, update.Unseen, update.Messages);
        if (_state.Apply(update) is { } news)
        {
            _notifier?.NewMail(news);
        }
    }

    public void Alive() => _state.Alive();

    public void HeartbeatGranted(string mailbox, TimeSpan granted)
    {
        if (granted != _state.Requested)
        {
            _logger.LogInformation("{Mailbox}: the notifier granted heartbeats every {Granted} s, not the {Requested} s asked for; STALE after twice that",
                mailbox, granted.TotalSeconds, _state.Requested.TotalSeconds);
        }
        _state.Grant(granted);
    }

    /// <summary>Runs until cancelled; unsubscribes on the way out.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        var reconnect = new Backoff(TimeSpan.FromSeconds(1), _options.MaxBackoff);
        while (!cancellationToken.IsCancellationRequested)
        {
            IMailSession? session = null;
            try
            {
                session = await _source.OpenAsync(this, subscribe: true, cancellationToken).ConfigureAwait(false);
                _logger.LogInformation("subscribed: {Source}", _source.Description);
                reconnect.Reset();
                await SuperviseAsync(session, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            catch (SourceException ex)
            {
                _logger.LogWarning("{Reason}", ex.Message);
                _state.Lost(ex.Message);
            }
            finally
            {
                if (session is not null)
                {
                    if (cancellationToken.IsCancellationRequested)
                    {
                        await session.CloseAsync().ConfigureAwait(false);
                    }
                    await session.DisposeAsync().ConfigureAwait(false);
                }
            }
            if (cancellationToken.IsCancellationRequested)
            {
                break;
            }
            await VerifyAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await Task.Delay(reconnect.Next(), _time, cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    private async Task SuperviseAsync(IMailSession session, CancellationToken cancellationToken)
    {
        var resubscribe = new Backoff(TimeSpan.FromSeconds(1), _options.MaxBackoff);
        DateTimeOffset? resubscribeAt = null;
        DateTimeOffset? verifyAt = null;
        while (true)
        {
            await Task.WhenAny(session.Completion, Task.Delay(Tick, _time, cancellationToken)).ConfigureAwait(false);
            cancellationToken.ThrowIfCancellationRequested();
            if (session.Completion.IsCompleted)
            {
                await session.Completion.ConfigureAwait(false); // throws the reason
                throw new SourceException("the connection closed");
            }
            _state.Evaluate();
            if (_state.Status != WatchStatus.Stale)
            {
                resubscribe.Reset();
                resubscribeAt = null;
                verifyAt = null;
                continue;
            }
            var now = _time.GetUtcNow();
            if (verifyAt is null || now >= verifyAt)
            {
                await VerifyAsync(cancellationToken).ConfigureAwait(false);
                verifyAt = now + TimeSpan.FromSeconds(Math.Max(60, _state.Heartbeat.TotalSeconds * 2));
            }
            if (resubscribeAt is null || now >= resubscribeAt)
            {
                // The client re-subscribes when it stops hearing (draft-dusseault-email-notif-model, reliability).
                try
                {
                    _logger.LogInformation("stale: re-subscribing");
                    await session.ResubscribeAsync(cancellationToken).ConfigureAwait(false);
                }
                catch (SourceException ex)
                {
                    _logger.LogWarning("re-subscribe failed: {Reason}", ex.Message);
                    _state.Lost("re-subscribe failed: " + ex.Message);
                }
                resubscribeAt = _time.GetUtcNow() + resubscribe.Next();
            }
        }
    }

    private async Task VerifyAsync(CancellationToken cancellationToken)
    {
        if (_verifier is null)
        {
            return;
        }
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            var mailboxes = _state.Snapshot().Mailboxes.Select(m => m.Mailbox).Union(_options.Mailboxes, StringComparer.Ordinal);
            foreach (var counts in await _verifier.VerifyAsync(mailboxes, timeout.Token).ConfigureAwait(false))
            {
                _state.Verified(counts);
            }
        }
        catch (Exception ex) when (ImapConnect.IsImapFailure(ex) || ex is OperationCanceledException && !cancellationToken.IsCancellationRequested || ex is ArgumentException)
        {
            _logger.LogWarning("IMAP verification failed: {Reason}", ex.Message);
        }
    }
}

/// <summary>Exponential backoff with ±20 % jitter: 1 s, 2 s, 4 s ... up to the maximum.</summary>
internal sealed class Backoff(TimeSpan first, TimeSpan max)
{
    private readonly TimeSpan _first = first;
    private TimeSpan _next = first;

    public TimeSpan Next()
    {
        var current = _next;
        _next = TimeSpan.FromTicks(Math.Min(max.Ticks, _next.Ticks * 2));
        var jitter = 0.8 + (Random.Shared.NextDouble() * 0.4);
        return TimeSpan.FromTicks((long)(Math.Min(current.Ticks, max.Ticks) * jitter));
    }

    public void Reset() => _next = _first;
}
