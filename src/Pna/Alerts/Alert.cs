namespace Aggregators.Pna.Alerts;

/// <summary>Where an alert stands. Queued is the only non-final status.</summary>
public enum AlertStatus
{
    /// <summary>Accepted, waiting for (or between) delivery attempts.</summary>
    Queued,

    /// <summary>The target's server took it (XMPP: written to the server; SIP: a 2xx).</summary>
    Delivered,

    /// <summary>Not delivered and never will be; <see cref="AlertRecord.Reason"/> says why.</summary>
    Refused,

    /// <summary>Temporary failures until <see cref="AlertOptions.Expiry"/>.</summary>
    Expired,

    /// <summary>Identical to an alert accepted shortly before; <see cref="AlertRecord.FoldedInto"/> names it.</summary>
    Folded,
}

/// <summary>One alert to one target, as stored and reported by <c>GET /v1/alerts/{id}</c>.</summary>
public sealed record AlertRecord
{
    public long Id { get; init; }
    public required string Source { get; init; }
    public string? ClientId { get; init; }
    public required string Target { get; init; }
    public required string Text { get; init; }
    public AlertImportance Importance { get; init; }
    public string? Account { get; init; }
    public string? Mailbox { get; init; }
    public string? ImapUrl { get; init; }
    public string? From { get; init; }
    public string? Subject { get; init; }
    public AlertStatus Status { get; init; }
    public string? Reason { get; init; }
    public long? FoldedInto { get; init; }
    public int Attempts { get; init; }
    public DateTimeOffset Created { get; init; }
    public DateTimeOffset Updated { get; init; }
    public DateTimeOffset Expires { get; init; }

    public bool IsFinal => Status != AlertStatus.Queued;

    public static string StatusName(AlertStatus status) => status switch
    {
        AlertStatus.Queued => "queued",
        AlertStatus.Delivered => "delivered",
        AlertStatus.Refused => "refused",
        AlertStatus.Expired => "expired",
        _ => "folded",
    };

    public static bool TryParseStatus(string? text, out AlertStatus status)
    {
        foreach (var s in Enum.GetValues<AlertStatus>())
        {
            if (string.Equals(StatusName(s), text, StringComparison.Ordinal))
            {
                status = s;
                return true;
            }
        }
        status = default;
        return false;
    }
}
