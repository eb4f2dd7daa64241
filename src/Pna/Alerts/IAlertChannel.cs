namespace Aggregators.Pna.Alerts;

public enum DeliveryResult
{
    /// <summary>The target's server took the alert.</summary>
    Delivered,

    /// <summary>Worth retrying (timeout, 408, 5xx, component down).</summary>
    Temporary,

    /// <summary>Will never work (4xx, unknown user, transport off).</summary>
    Permanent,
}

/// <summary>What one delivery attempt gave, with the reason reported in the alert's status.</summary>
public readonly record struct DeliveryOutcome(DeliveryResult Result, string Reason)
{
    public static DeliveryOutcome Delivered(string reason) => new(DeliveryResult.Delivered, reason);
    public static DeliveryOutcome Temporary(string reason) => new(DeliveryResult.Temporary, reason);
    public static DeliveryOutcome Permanent(string reason) => new(DeliveryResult.Permanent, reason);
}

/// <summary>Sends alerts to targets of one URI scheme ("xmpp" or "sip").</summary>
public interface IAlertChannel
{
    string Scheme { get; }

    /// <summary>One attempt; never throws for a delivery failure (returns it).</summary>
    ValueTask<DeliveryOutcome> SendAsync(AlertRecord alert, AlertTarget target, CancellationToken cancellationToken);
}
