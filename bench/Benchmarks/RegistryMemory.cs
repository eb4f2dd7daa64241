using System.Diagnostics;
using Aggregators.Pna.Subscriptions;

namespace Aggregators.Benchmarks;

/// <summary>
/// <c>--registry-memory [accounts] [subscriptionsPerAccount]</c>: builds the benchmark registry
/// (default 100,000 accounts x 10 = 1,000,000 subscriptions) and prints the managed heap it
/// holds per subscription: registry, Subscription objects, filters, account ids, subscriber URIs
/// and mailbox paths. Target: at most 512 bytes per subscription.
/// </summary>
internal static class RegistryMemory
{
    public const string Switch = "--registry-memory";

    public static int Run(string[] args)
    {
        var accounts = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 100_000;
        var perAccount = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 10;
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var clock = Stopwatch.StartNew();
        var registry = RegistryPopulation.Build(accounts, perAccount);
        var buildTime = clock.Elapsed;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var bytes = after - before;
        Console.WriteLine($"subscriptions:            {registry.Count:N0} over {registry.AccountCount:N0} accounts");
        Console.WriteLine($"trie nodes:               {registry.NodeCount():N0}");
        Console.WriteLine($"build time:               {buildTime.TotalSeconds:F1} s");
        Console.WriteLine($"managed heap held:        {bytes / (1024.0 * 1024.0):F1} MiB");
        Console.WriteLine($"bytes per subscription:   {(double)bytes / registry.Count:F0} (target <= 512, all included)");
        GC.KeepAlive(registry);
        return 0;
    }
}
