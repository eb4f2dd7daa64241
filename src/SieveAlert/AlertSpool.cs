namespace Aggregators.SieveAlert;

/// <summary>
/// Alerts that could not be posted, one file each: <c>&lt;spool&gt;/&lt;ticks&gt;-&lt;clientId&gt;.alert</c>
/// holding the JSON body to post. A file is written under <c>tmp/</c>, flushed to disk and renamed
/// into place, so a reader never sees half a file. Alerts the PNA refuses as invalid go to
/// <c>failed/</c> with a <c>.reason</c> file beside them.
/// </summary>
internal sealed class AlertSpool(string directory)
{
    public const string Extension = ".alert";
    public const string LockName = ".drain.lock";

    public string Directory { get; } = directory;

    public string Write(string clientId, byte[] body, DateTimeOffset now)
    {
        var tmp = Path.Combine(Directory, "tmp");
        System.IO.Directory.CreateDirectory(tmp);
        var name = $"{now.UtcTicks:D20}-{clientId}{Extension}";
        var temporary = Path.Combine(tmp, name);
        using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 4096, FileOptions.WriteThrough))
        {
            stream.Write(body);
            stream.Flush(flushToDisk: true);
        }
        var final = Path.Combine(Directory, name);
        File.Move(temporary, final);
        return final;
    }

    /// <summary>Spooled alerts, oldest first.</summary>
    public IReadOnlyList<string> List() =>
        System.IO.Directory.Exists(Directory)
            ? [.. System.IO.Directory.EnumerateFiles(Directory, "*" + Extension).Order(StringComparer.Ordinal)]
            : [];

    public static DateTimeOffset CreatedOf(string path)
    {
        var name = Path.GetFileName(path);
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && long.TryParse(name.AsSpan(0, dash), out var ticks) && ticks > 0 && ticks < DateTime.MaxValue.Ticks
            ? new DateTimeOffset(ticks, TimeSpan.Zero)
            : File.GetLastWriteTimeUtc(path);
    }

    public void Fail(string path, string reason)
    {
        var failed = Path.Combine(Directory, "failed");
        System.IO.Directory.CreateDirectory(failed);
        var target = Path.Combine(failed, Path.GetFileName(path));
        File.Move(path, target, overwrite: true);
        File.WriteAllText(target + ".reason", reason + "\n");
    }

    /// <summary>The drainer's lock (one drainer per spool): null when another process holds it.</summary>
    public FileStream? TryLock()
    {
        System.IO.Directory.CreateDirectory(Directory);
        try
        {
            // FileShare.None takes an exclusive advisory lock (flock) on Unix; it goes with the process.
            return new FileStream(Path.Combine(Directory, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException)
        {
            return null;
        }
    }
}
