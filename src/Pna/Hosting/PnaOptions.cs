using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Hosting;

/// <summary>The PNA's configuration, bound from the "Pna" section (docs/configuration.md).</summary>
public sealed class PnaOptions
{
    public const string SectionName = "Pna";

    /// <summary>Where the SQLite file (pna.db) and the generated ingest token live; created if missing.</summary>
    public string DataDirectory { get; set; } = "./data";

    public IngestOptions Ingest { get; set; } = new();

    public StateOptions State { get; set; } = new();

    public SubscriptionOptions Subscriptions { get; set; } = new();

    public AdminOptions Admin { get; set; } = new();

    /// <summary>The data directory as an absolute path.</summary>
    public string DataDirectoryFullPath => Path.GetFullPath(DataDirectory);

    /// <summary>Creates the data directory if missing, readable only by the PNA's user (it holds the ingest token).</summary>
    public string EnsureDataDirectory()
    {
        var path = DataDirectoryFullPath;
        if (!Directory.Exists(path))
        {
            if (OperatingSystem.IsWindows())
            {
                Directory.CreateDirectory(path);
            }
            else
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
        }
        return path;
    }
}

/// <summary>One producer allowed to post events: its name (used in metrics and logs) and bearer token.</summary>
public sealed class IngestSource
{
    public string Name { get; set; } = "";
    public string Token { get; set; } = "";
}

public sealed class IngestOptions
{
    public const long DefaultMaxBodyBytes = 16 * 1024 * 1024;

    /// <summary>Producers and their bearer tokens; when empty a "local" token is generated in the data directory.</summary>
    public List<IngestSource> Sources { get; set; } = [];

    /// <summary>Largest accepted request body; larger ones get 413.</summary>
    public long MaxBodyBytes { get; set; } = DefaultMaxBodyBytes;

    /// <summary>Most events in one request.</summary>
    public int MaxEventsPerRequest { get; set; } = 100_000;

    /// <summary>How many recent event ids per source are remembered to recognise duplicates.</summary>
    public int DuplicateWindow { get; set; } = 100_000;

    /// <summary>How many accepted batches may wait for the dispatcher before requests wait.</summary>
    public int QueueCapacity { get; set; } = 256;

    /// <summary>How long a request waits for room in the queue before it gets 503.</summary>
    public TimeSpan EnqueueTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Seconds sent in Retry-After with a 503.</summary>
    public int RetryAfterSeconds { get; set; } = 1;
}

public sealed class StateOptions
{
    /// <summary>How often changed mailbox state is written to the store (written behind).</summary>
    public TimeSpan FlushInterval { get; set; } = TimeSpan.FromMilliseconds(200);
}

public sealed class SubscriptionOptions
{
    /// <summary>How often expired subscriptions are swept (a safety net; transports expire their own).</summary>
    public TimeSpan ExpirySweepInterval { get; set; } = TimeSpan.FromSeconds(30);
}

public sealed class AdminOptions
{
    /// <summary>Bearer token that opens the read-only admin endpoints from non-loopback addresses; empty: loopback only.</summary>
    public string Token { get; set; } = "";
}

/// <summary>Checks the options at start so a bad configuration fails with words an admin can act on.</summary>
internal sealed class PnaOptionsValidator : IValidateOptions<PnaOptions>
{
    public ValidateOptionsResult Validate(string? name, PnaOptions options)
    {
        var errors = new List<string>();
        if (string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            errors.Add("Pna:DataDirectory must not be empty.");
        }
        var ingest = options.Ingest;
        if (ingest.MaxBodyBytes is < 1024 or > 1L << 30)
        {
            errors.Add($"Pna:Ingest:MaxBodyBytes must be between 1024 and 1073741824 (was {ingest.MaxBodyBytes}).");
        }
        if (ingest.MaxEventsPerRequest is < 1 or > 10_000_000)
        {
            errors.Add($"Pna:Ingest:MaxEventsPerRequest must be between 1 and 10000000 (was {ingest.MaxEventsPerRequest}).");
        }
        if (ingest.DuplicateWindow is < 0 or > 100_000_000)
        {
            errors.Add($"Pna:Ingest:DuplicateWindow must be between 0 (off) and 100000000 (was {ingest.DuplicateWindow}).");
        }
        if (ingest.QueueCapacity is < 1 or > 1_000_000)
        {
            errors.Add($"Pna:Ingest:QueueCapacity must be between 1 and 1000000 (was {ingest.QueueCapacity}).");
        }
        if (ingest.EnqueueTimeout <= TimeSpan.Zero || ingest.EnqueueTimeout > TimeSpan.FromMinutes(10))
        {
            errors.Add($"Pna:Ingest:EnqueueTimeout must be above 0 and at most 00:10:00 (was {ingest.EnqueueTimeout}).");
        }
        if (ingest.RetryAfterSeconds is < 1 or > 3600)
        {
            errors.Add($"Pna:Ingest:RetryAfterSeconds must be between 1 and 3600 (was {ingest.RetryAfterSeconds}).");
        }
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < ingest.Sources.Count; i++)
        {
            var s = ingest.Sources[i];
            if (string.IsNullOrWhiteSpace(s.Name))
            {
                errors.Add($"Pna:Ingest:Sources:{i}:Name must not be empty.");
            }
            else if (!names.Add(s.Name))
            {
                errors.Add($"Pna:Ingest:Sources:{i}:Name '{s.Name}' is used twice; source names must be unique.");
            }
            if (s.Token is null || s.Token.Length < 16)
            {
                errors.Add($"Pna:Ingest:Sources:{i}:Token (source '{s.Name}') must be at least 16 characters.");
            }
        }
        if (options.State.FlushInterval < TimeSpan.FromMilliseconds(10) || options.State.FlushInterval > TimeSpan.FromMinutes(5))
        {
            errors.Add($"Pna:State:FlushInterval must be between 00:00:00.010 and 00:05:00 (was {options.State.FlushInterval}).");
        }
        if (options.Subscriptions.ExpirySweepInterval < TimeSpan.FromSeconds(1) || options.Subscriptions.ExpirySweepInterval > TimeSpan.FromHours(1))
        {
            errors.Add($"Pna:Subscriptions:ExpirySweepInterval must be between 00:00:01 and 01:00:00 (was {options.Subscriptions.ExpirySweepInterval}).");
        }
        if (options.Admin.Token is { Length: > 0 and < 16 })
        {
            errors.Add("Pna:Admin:Token must be empty (loopback only) or at least 16 characters.");
        }
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
