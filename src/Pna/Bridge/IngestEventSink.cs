using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Watching;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Bridge;

/// <summary>
/// The co-hosted bridge's <see cref="IEventSink"/>: hands events to the PNA's in-process
/// <see cref="IEventIngest"/> (same validation, duplicate window by event id and bounded queue as HTTP
/// ingest). Accepted (queued) is durable enough in-process: the PNA and the bridge stop together and the
/// bridge's state is saved only after this returns. While the queue is Busy it waits and retries; when
/// the PNA is shutting down it throws, so the watcher does not advance its state. Invalid events are
/// logged and dropped (they would be refused again).
/// </summary>
public sealed partial class IngestEventSink(IEventIngest ingest, ILogger<IngestEventSink> logger) : IEventSink
{
    /// <summary>The ingest source name of the co-hosted bridge (its duplicate window).</summary>
    public const string SourceName = "imap-bridge";

    private static readonly TimeSpan BusyRetry = TimeSpan.FromMilliseconds(200);

    public async ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await ingest.SubmitAsync(events, SourceName, cancellationToken).ConfigureAwait(false);
            foreach (var r in result.Rejected)
            {
                LogRejected(r.ToString());
            }
            switch (result.Status)
            {
                case IngestStatus.Accepted:
                case IngestStatus.Rejected:
                    return;
                case IngestStatus.Busy:
                    await Task.Delay(BusyRetry, cancellationToken).ConfigureAwait(false);
                    continue;
                default:
                    throw new InvalidOperationException($"the PNA did not take the events: {result.Status}");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "PNA refused an event from the co-hosted IMAP bridge: {Error}")]
    private partial void LogRejected(string error);
}

/// <summary>Registration of the co-hosted bridge (configuration section "Bridge", off by default).</summary>
public static class BridgeHosting
{
    public static IServiceCollection AddCoHostedBridge(this IServiceCollection services, IConfiguration configuration)
    {
        services.TryAddSingleton<IEventSink, IngestEventSink>();
        return services.AddImapBridge(configuration.GetSection(BridgeOptions.SectionName),
            sp => sp.GetRequiredService<IOptions<PnaOptions>>().Value.EnsureDataDirectory());
    }
}
