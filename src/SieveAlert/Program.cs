using Aggregators.SieveAlert;

// Exit code 0 whatever happens: Sieve's execute must never fail or hold up mail delivery.
try
{
    return await SieveAlertProgram.RunAsync(args, Console.OpenStandardInput(), Environment.GetEnvironmentVariables()
        .Cast<System.Collections.DictionaryEntry>().ToDictionary(e => (string)e.Key, e => (string?)e.Value)).ConfigureAwait(false);
}
#pragma warning disable CA1031 // the whole point: nothing escapes
catch (Exception e)
#pragma warning restore CA1031
{
    await Console.Error.WriteLineAsync("pna-alert: " + e.Message).ConfigureAwait(false);
    return 0;
}
