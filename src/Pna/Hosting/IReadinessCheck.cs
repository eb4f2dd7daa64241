namespace Aggregators.Pna.Hosting;

/// <summary>
/// A part of the PNA that /readyz waits for besides the store, dispatcher and ingest (e.g. the
/// XMPP component's connection). Register each as a singleton <see cref="IReadinessCheck"/>.
/// </summary>
public interface IReadinessCheck
{
    /// <summary>Short name shown in the /readyz body ("xmpp").</summary>
    string Name { get; }

    /// <summary>Null when ready; otherwise why not, one line.</summary>
    string? NotReadyReason { get; }
}
