using System.Collections.Concurrent;
using System.Diagnostics.Tracing;

/// <summary>
/// --alloc-types: the runtime's GC AllocationTick events (one sample per ~100 KB allocated, with
/// the type that crossed the threshold), summed per type: where the bytes per NOTIFY go.
/// </summary>
internal sealed class AllocationSampler : EventListener
{
    private readonly ConcurrentDictionary<string, long> _bytes = new();

    protected override void OnEventSourceCreated(EventSource eventSource)
    {
        if (eventSource.Name == "Microsoft-Windows-DotNETRuntime")
        {
            EnableEvents(eventSource, EventLevel.Verbose, (EventKeywords)0x1); // GC keyword
        }
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        if (e.EventName?.StartsWith("GCAllocationTick", StringComparison.Ordinal) != true || e.Payload is null || e.PayloadNames is null) return;
        var type = e.PayloadNames.IndexOf("TypeName") is var t and >= 0 ? e.Payload[t] as string ?? "?" : "?";
        var amount = e.PayloadNames.IndexOf("AllocationAmount64") is var a and >= 0 ? Convert.ToInt64(e.Payload[a], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        _bytes.AddOrUpdate(type, amount, (_, v) => v + amount);
    }

    public void Print(long notifies)
    {
        Console.WriteLine("allocation samples (bytes per NOTIFY by type, top 25):");
        foreach (var (type, bytes) in _bytes.OrderByDescending(kv => kv.Value).Take(25))
        {
            Console.WriteLine($"  {bytes / (double)Math.Max(1, notifies),8:0} {type}");
        }
    }
}
