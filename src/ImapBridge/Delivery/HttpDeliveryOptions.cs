namespace Aggregators.ImapBridge.Delivery;

/// <summary>
/// Delivery of the bridge's events to a PNA over its HTTP ingest (docs/ingest.md), configuration
/// section <see cref="SectionName"/> (docs/imap-bridge.md).
/// </summary>
public sealed class HttpDeliveryOptions
{
    public const string SectionName = "Bridge:Http";

    /// <summary>The PNA's base address; events go to <c>{Url}/v1/events</c>.</summary>
    public Uri Url { get; set; } = new("http://127.0.0.1:8480");

    /// <summary>The ingest token of this bridge's source (Pna:Ingest:Sources), sent as <c>Authorization: Bearer</c>.</summary>
    public string? Token { get; set; }

    /// <summary>A file holding the token (e.g. the PNA's generated <c>ingest.token</c>); used when <see cref="Token"/> is empty.</summary>
    public string? TokenFile { get; set; }

    /// <summary>Most events per POST.</summary>
    public int MaxBatchEvents { get; set; } = 500;

    /// <summary>Most NDJSON bytes per POST (keep well under the PNA's Pna:Ingest:MaxBodyBytes, 16 MiB).</summary>
    public int MaxBatchBytes { get; set; } = 1 << 20;

    /// <summary>Bound of the durable queue (sum of queued events' JSON sizes).</summary>
    public long MaxQueueBytes { get; set; } = 256L << 20;

    /// <summary>
    /// When the queue is full, a watcher's delivery waits this long for room, then fails: the
    /// watcher backs off and resynchronises later (its state was not advanced, nothing is lost).
    /// </summary>
    public TimeSpan QueueFullTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Longest wait for one POST's answer.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>First retry delay after 5xx or a network error; doubled with jitter up to <see cref="RetryMaxDelay"/>.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan RetryMaxDelay { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Retry delay after 401/403/415: a configuration error, retried slowly until fixed.</summary>
    public TimeSpan ConfigurationErrorRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>The queue file; default <c>&lt;Bridge:DataDirectory&gt;/delivery.db</c>.</summary>
    public string? QueuePath { get; set; }

    public IReadOnlyList<string> Validate()
    {
        var errors = new List<string>();
        if (Url is null || !Url.IsAbsoluteUri || Url.Scheme is not ("http" or "https"))
        {
            errors.Add($"{SectionName}:Url must be an absolute http(s) URL");
        }
        if (string.IsNullOrEmpty(Token) && string.IsNullOrEmpty(TokenFile))
        {
            errors.Add($"{SectionName}:Token or {SectionName}:TokenFile is required (the PNA's ingest token for this bridge)");
        }
        else if (string.IsNullOrEmpty(Token))
        {
            try
            {
                if (File.ReadAllText(TokenFile!).Trim().Length == 0)
                {
                    errors.Add($"{SectionName}:TokenFile '{TokenFile}' is empty");
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                errors.Add($"{SectionName}:TokenFile '{TokenFile}' cannot be read: {e.Message}");
            }
        }
        if (MaxBatchEvents < 1)
        {
            errors.Add($"{SectionName}:MaxBatchEvents must be at least 1");
        }
        if (MaxBatchBytes < 1024)
        {
            errors.Add($"{SectionName}:MaxBatchBytes must be at least 1024");
        }
        if (MaxQueueBytes < MaxBatchBytes)
        {
            errors.Add($"{SectionName}:MaxQueueBytes must be at least MaxBatchBytes");
        }
        if (RequestTimeout <= TimeSpan.Zero || RetryBaseDelay <= TimeSpan.Zero || RetryMaxDelay < RetryBaseDelay
            || ConfigurationErrorRetryDelay <= TimeSpan.Zero || QueueFullTimeout < TimeSpan.Zero)
        {
            errors.Add($"{SectionName}: timeouts and delays must be positive, RetryMaxDelay at least RetryBaseDelay");
        }
        return errors;
    }

    /// <summary>The bearer token: <see cref="Token"/>, else the first line of <see cref="TokenFile"/>.</summary>
    public string ResolveToken() =>
        !string.IsNullOrEmpty(Token) ? Token
        : !string.IsNullOrEmpty(TokenFile) ? File.ReadAllText(TokenFile).Trim()
        : throw new InvalidOperationException($"{SectionName}:Token or TokenFile is required");
}

/// <summary>The durable queue stayed full for <see cref="HttpDeliveryOptions.QueueFullTimeout"/>: the events were not taken.</summary>
public sealed class EventQueueFullException : Exception
{
    public EventQueueFullException()
    {
    }

    public EventQueueFullException(string message)
        : base(message)
    {
    }

    public EventQueueFullException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
