using Aggregators.EventModel;

namespace Aggregators.ImapBridge;

/// <summary>
/// Where the account watchers deliver the RFC 5423 events they produce: the seam between the bridge
/// and the PNA. Two implementations are planned: the in-process adapter to the PNA's IEventIngest
/// when co-hosted (src/Pna/Bridge), and the HTTP ingest sink with a bounded durable queue
/// (POST /v1/events, docs/ingest.md) for the standalone bridge host. Both live outside the watchers;
/// this file is the contract they build on (branch wip/bridgewatch; merged by wip/bridgedeliver).
/// </summary>
/// <remarks>
/// At-least-once: <see cref="DeliverAsync"/> returns only when every event is durably accepted (queued
/// by the PNA, or written to the sink's durable queue). A watcher saves its per-mailbox state
/// (<see cref="State.IWatcherStateStore"/>) only after that, so a crash between delivery and save
/// makes it produce the same events again on restart, with the same deterministic
/// <see cref="MailEvent.Id"/> (see <see cref="Translation.EventIds"/>): the PNA drops the repeats by id.
/// If the sink cannot accept (it throws anything but an <see cref="OperationCanceledException"/> for
/// <paramref name="cancellationToken"/>), the watcher drops its connection, backs off and resynchronises:
/// nothing is lost, the state was not advanced. Events the PNA refuses as invalid must not make the
/// sink throw (they would be refused again): log and drop them.
/// Events of one call are about one account, in the order they happened; calls of one watcher never
/// overlap; calls of different watchers may run concurrently. A call runs on the watcher's connection
/// read loop (no thread hop, for latency): await anything slow, never block on it.
/// </remarks>
public interface IEventSink
{
    ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken);
}
