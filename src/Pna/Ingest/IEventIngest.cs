using Aggregators.EventModel;
using Aggregators.EventModel.Json;

namespace Aggregators.Pna.Ingest;

/// <summary>What happened to a submitted batch as a whole.</summary>
public enum IngestStatus
{
    /// <summary>Every valid event was queued (some may have been duplicates or rejected).</summary>
    Accepted,

    /// <summary>No event was queued because none was valid.</summary>
    Rejected,

    /// <summary>The dispatch queue stayed full for the whole enqueue timeout; nothing was queued, retry later.</summary>
    Busy,

    /// <summary>The PNA is shutting down; nothing was queued.</summary>
    ShuttingDown,
}

/// <summary>The outcome of one submission: counts, and one error per rejected event.</summary>
public sealed record IngestResult(IngestStatus Status, int Accepted, int Duplicates, IReadOnlyList<EventError> Rejected)
{
    public static IngestResult Unavailable(IngestStatus status, IReadOnlyList<EventError> rejected) => new(status, 0, 0, rejected);
}

/// <summary>
/// In-process ingest for a co-hosted bridge. Events go through the same validation, duplicate
/// window and bounded queue as HTTP ingest (docs/ingest.md).
/// </summary>
public interface IEventIngest
{
    /// <summary>
    /// Validates and queues <paramref name="events"/> from <paramref name="source"/>; waits while the
    /// dispatch queue is full (at most the configured enqueue timeout).
    /// </summary>
    ValueTask<IngestResult> SubmitAsync(IReadOnlyList<MailEvent> events, string source, CancellationToken cancellationToken);
}
