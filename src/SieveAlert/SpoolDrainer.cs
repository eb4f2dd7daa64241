namespace Aggregators.SieveAlert;

/// <summary>
/// Posts spooled alerts until the spool is empty, one drainer per spool (lock file). While the
/// PNA does not take them it waits 1 s, 2 s, 4 s ... up to 60 s between passes; with --once it
/// makes one pass (for a systemd timer). The PNA recognises a repeat by the alert's clientId, so
/// an alert posted twice (a crash between the 202 and the delete) is delivered once.
/// </summary>
internal sealed class SpoolDrainer(SieveAlertConfig config, bool detached, bool once)
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(60);

    public async Task RunAsync()
    {
        var spool = new AlertSpool(config.Spool);
        using var poster = new AlertPoster(config);
        while (true)
        {
            using (var held = spool.TryLock())
            {
                if (held is null)
                {
                    Log("another drainer holds the spool; exiting");
                    return;
                }
                if (!await DrainAsync(spool, poster).ConfigureAwait(false))
                {
                    return; // --once and the PNA still down
                }
            }
            // An alert spooled while we were releasing the lock found it held and left it to us.
            if (spool.List().Count == 0)
            {
                return;
            }
        }
    }

    /// <summary>False when --once gave up with alerts left.</summary>
    private async Task<bool> DrainAsync(AlertSpool spool, AlertPoster poster)
    {
        var delay = TimeSpan.FromSeconds(1);
        while (spool.List() is { Count: > 0 } files)
        {
            var blocked = false;
            foreach (var file in files)
            {
                if (DateTimeOffset.UtcNow - AlertSpool.CreatedOf(file) > config.MaxAge)
                {
                    spool.Fail(file, $"not accepted by the PNA within max_age ({config.MaxAge})");
                    Log($"{Path.GetFileName(file)}: too old, moved to failed/");
                    continue;
                }
                byte[] body;
                try
                {
                    body = await File.ReadAllBytesAsync(file).ConfigureAwait(false);
                }
                catch (FileNotFoundException)
                {
                    continue; // the sender removed it after its own post succeeded
                }
                var (result, detail) = await poster.PostAsync(body, TimeSpan.FromSeconds(10), CancellationToken.None).ConfigureAwait(false);
                switch (result)
                {
                    case PostResult.Accepted:
                        File.Delete(file);
                        Log($"{Path.GetFileName(file)}: posted: {detail}");
                        break;
                    case PostResult.Invalid:
                        spool.Fail(file, detail);
                        Log($"{Path.GetFileName(file)}: refused as invalid, moved to failed/: {detail}");
                        break;
                    default:
                        Log($"{Path.GetFileName(file)}: {detail}; retry in {delay.TotalSeconds:0} s");
                        blocked = true;
                        break;
                }
                if (blocked)
                {
                    break;
                }
            }
            if (!blocked)
            {
                delay = TimeSpan.FromSeconds(1);
                continue;
            }
            if (once)
            {
                return false;
            }
            await Task.Delay(delay).ConfigureAwait(false);
            delay = delay * 2 > MaxDelay ? MaxDelay : delay * 2;
        }
        return true;
    }

    private void Log(string line)
    {
        var text = $"{DateTimeOffset.UtcNow:yyyy-MM-ddTHH:mm:ss.fffZ} pna-alert drain: {line}";
        if (!detached)
        {
            Console.Error.WriteLine(text);
            return;
        }
        try
        {
            File.AppendAllText(Path.Combine(config.Spool, "drain.log"), text + "\n");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
