using System.Diagnostics.Metrics;

namespace Aggregators.Pna.Operations;

/// <summary>
/// The PNA's instruments on the meter "Aggregators.Pna" (names as exported at GET /metrics in
/// docs/configuration.md). Created through the host's <see cref="IMeterFactory"/> so two hosts in
/// one process (tests) keep their numbers apart.
/// </summary>
public sealed class PnaMetrics
{
    public const string MeterName = "Aggregators.Pna";

    public PnaMetrics(IMeterFactory meterFactory)
    {
        ArgumentNullException.ThrowIfNull(meterFactory);
        Meter = meterFactory.Create(MeterName);
        EventsReceived = Meter.CreateCounter<long>("pna.events.received", "{event}", "Events decoded from ingest requests, by source and type");
        EventsAccepted = Meter.CreateCounter<long>("pna.events.accepted", "{event}", "Events queued for dispatch, by source and type");
        EventsRejected = Meter.CreateCounter<long>("pna.events.rejected", "{event}", "Events refused as invalid, by source");
        EventsDuplicate = Meter.CreateCounter<long>("pna.events.duplicate", "{event}", "Events recognised as repeats by id, by source and type");
        Matches = Meter.CreateCounter<long>("pna.matches", "{match}", "Subscriptions matched by events");
        NotificationsOut = Meter.CreateCounter<long>("pna.notifications.out", "{notification}", "Notifications handed to transports, by transport and kind");
        TransportFailures = Meter.CreateCounter<long>("pna.transport.failures", "{failure}", "Transport Deliver calls that threw, by transport");
    }

    public Meter Meter { get; }
    public Counter<long> EventsReceived { get; }
    public Counter<long> EventsAccepted { get; }
    public Counter<long> EventsRejected { get; }
    public Counter<long> EventsDuplicate { get; }
    public Counter<long> Matches { get; }
    public Counter<long> NotificationsOut { get; }
    public Counter<long> TransportFailures { get; }

    /// <summary>Registers the gauges once their sources exist.</summary>
    public void ObserveGauges(Func<long> subscriptions, Func<long> queueDepth)
    {
        Meter.CreateObservableGauge("pna.subscriptions", subscriptions, "{subscription}", "Active subscriptions");
        Meter.CreateObservableGauge("pna.dispatcher.queue_depth", queueDepth, "{event}", "Events accepted but not yet dispatched");
    }
}
