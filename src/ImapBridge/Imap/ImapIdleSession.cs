using System.Runtime.CompilerServices;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// A running IDLE (RFC 2177). The pushed untagged responses (EXISTS, EXPUNGE, FETCH FLAGS, and
/// with NOTIFY also STATUS and LIST) are read from the client's <see cref="ImapClient.Unsolicited"/>
/// channel: use <see cref="ReadAllAsync"/> or that channel, not both at once.
/// </summary>
public sealed class ImapIdleSession : IAsyncDisposable
{
    private readonly ImapClient _client;
    private readonly PendingCommand _pending;
    private readonly CancellationTokenSource _stopping = new();
    private int _stopped;

    internal ImapIdleSession(ImapClient client, PendingCommand pending)
    {
        _client = client;
        _pending = pending;
        // The server may end IDLE on its own (a tagged response without DONE): the stream ends then.
        _ = pending.Completion.ContinueWith(
            static (_, state) => ((CancellationTokenSource)state!).Cancel(),
            _stopping,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Completes when the server ended the IDLE on its own or the connection failed.</summary>
    public Task Ended => _pending.Completion;

    /// <summary>
    /// Responses as they arrive, until <see cref="StopAsync"/> is called, the server ends the IDLE, or
    /// <paramref name="cancellationToken"/> fires. Throws the <see cref="ImapConnectionException"/> if the connection is lost.
    /// </summary>
    public async IAsyncEnumerable<ImapUntaggedResponse> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _stopping.Token);
        var reader = _client.Unsolicited;
        while (true)
        {
            while (reader.TryRead(out var response))
            {
                yield return response;
            }
            if (!await WaitAsync(reader, linked.Token).ConfigureAwait(false))
            {
                yield break;
            }
        }
    }

    private async Task<bool> WaitAsync(System.Threading.Channels.ChannelReader<ImapUntaggedResponse> reader, CancellationToken token)
    {
        try
        {
            if (await reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                return true;
            }
            // Completed: normally after LOGOUT/Dispose (the stream just ends), with the error otherwise.
            return false;
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>Sends DONE and waits for the tagged OK; the client can run commands again afterwards.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            return;
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        await _client.EndIdleAsync(_pending, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Sends DONE and UID FETCH together (see <see cref="ImapClient"/>'s EndIdleThenUidFetchAsync) and
    /// returns the FETCH responses for <paramref name="uids"/>; the client can run commands again afterwards.
    /// </summary>
    public async Task<IReadOnlyList<ImapFetchResponse>> StopThenUidFetchAsync(ImapSequenceSet uids, ImapFetchItem items, CancellationToken cancellationToken = default)
    {
        if (Interlocked.Exchange(ref _stopped, 1) != 0)
        {
            throw new InvalidOperationException("the IDLE was already stopped");
        }
        await _stopping.CancelAsync().ConfigureAwait(false);
        return await _client.EndIdleThenUidFetchAsync(_pending, uids, items, cancellationToken).ConfigureAwait(false);
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await StopAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is ImapConnectionException or ImapCommandException or OperationCanceledException)
        {
            // disposing must not throw; the connection's Failure says what happened
        }
        // _stopping is not disposed: the completion callback above may still cancel it (it holds no timer).
    }
}
