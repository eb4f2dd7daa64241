using System.Collections.Concurrent;
using System.Globalization;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// Requests the CNA sent upstream, waiting for their answer (RFC 6120 §8.2.3: a result or error
/// with the same id, from the entity the request was sent to).
/// </summary>
internal sealed class IqTracker
{
    private readonly ConcurrentDictionary<string, (Jid To, TaskCompletionSource<Iq> Answer)> _pending = new(StringComparer.Ordinal);
    private long _next;

    public int Count => _pending.Count;

    /// <summary>Gives <paramref name="request"/> a fresh id and returns the task of its answer.</summary>
    public (string Id, Task<Iq> Answer) Register(Iq request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var id = "cna-" + Interlocked.Increment(ref _next).ToString(CultureInfo.InvariantCulture);
        request.Id = id;
        var answer = new TaskCompletionSource<Iq>(TaskCreationOptions.RunContinuationsAsynchronously);
        _pending[id] = (request.To!, answer);
        return (id, answer.Task);
    }

    /// <summary>Completes the request <paramref name="response"/> answers; false if it answers none of ours (or comes from elsewhere).</summary>
    public bool TryComplete(Iq response)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Id is not { } id || !_pending.TryGetValue(id, out var entry) || response.From != entry.To)
        {
            return false;
        }
        if (_pending.TryRemove(id, out entry))
        {
            entry.Answer.TrySetResult(response);
        }
        return true;
    }

    /// <summary>Stops waiting for <paramref name="id"/> (timed out or cancelled); a late answer is then ignored.</summary>
    public void Forget(string id) => _pending.TryRemove(id, out _);
}
