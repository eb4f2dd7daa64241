using Aggregators.Pna.Alerts;

namespace Aggregators.Pna.Storage;

/// <summary>Alerts and their statuses (table <c>alerts</c> of pna.db). Calls are thread-safe.</summary>
public interface IAlertStore
{
    /// <summary>Stores a new alert and returns its id (the <c>Id</c> of the argument is ignored).</summary>
    long InsertAlert(AlertRecord alert);

    /// <summary>Sets status, reason, folded-into and attempts; false when the id is unknown.</summary>
    bool UpdateAlert(long id, AlertStatus status, string? reason, long? foldedInto, int attempts, DateTimeOffset updated);

    AlertRecord? GetAlert(long id);

    /// <summary>The alert a source already created for this client id and target, if any.</summary>
    AlertRecord? FindAlertByClientId(string source, string clientId, string target);

    /// <summary>Newest first, optionally of one status and/or target, ids below <paramref name="before"/>.</summary>
    IReadOnlyList<AlertRecord> ListAlerts(AlertStatus? status, string? target, long? before, int limit);

    /// <summary>Alerts still queued (after a restart they are delivered again).</summary>
    IReadOnlyList<AlertRecord> LoadQueuedAlerts();

    /// <summary>How many alerts each status holds.</summary>
    IReadOnlyDictionary<AlertStatus, long> CountAlerts();

    /// <summary>Deletes final alerts last updated before <paramref name="cutoff"/>; returns how many.</summary>
    int DeleteAlertsBefore(DateTimeOffset cutoff);
}
