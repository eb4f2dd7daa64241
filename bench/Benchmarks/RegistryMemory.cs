using System.Diagnostics;
using Aggregators.EventModel;
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
        var subscriptions = RegistryPopulation.Create(accounts, perAccount);
        var withSubscriptions = GC.GetTotalMemory(forceFullCollection: true);
        var registry = new SubscriptionRegistry();
        foreach (var subscription in subscriptions)
        {
            registry.Add(subscription);
        }
        var buildTime = clock.Elapsed;
        var withRegistry = GC.GetTotalMemory(forceFullCollection: true);
        // The array only carried the subscriptions into the registry: not part of the footprint.
        var arrayBytes = 24L + 8L * subscriptions.Length;
        GC.KeepAlive(subscriptions);
        subscriptions = null;
        var after = GC.GetTotalMemory(forceFullCollection: true);
        var count = (double)registry.Count;
        var bytes = after - before;
        Console.WriteLine($"subscriptions:            {registry.Count:N0} over {registry.AccountCount:N0} accounts");
        Console.WriteLine($"trie nodes:               {registry.NodeCount():N0}");
        Console.WriteLine($"build time:               {buildTime.TotalSeconds:F1} s");
        Console.WriteLine($"managed heap held:        {bytes / (1024.0 * 1024.0):F1} MiB");
        Console.WriteLine($"  subscriptions, filters, accounts, URIs, paths: {(withSubscriptions - before - arrayBytes) / count:F0} B each");
        Console.WriteLine($"  registry (trie, entries, account index):      {(withRegistry - withSubscriptions) / count:F0} B each");
        Console.WriteLine($"bytes per subscription:   {bytes / count:F0} (target <= 512, all included)");
        MeasureMatchCpuTime(registry, accounts);
        GC.KeepAlive(registry);
        return 0;
    }

    /// <summary>
    /// A cross-check of the BenchmarkDotNet figures on a busy machine: process CPU time (not wall
    /// time, so time spent descheduled does not count) per match over random subscribed accounts.
    /// </summary>
    private static void MeasureMatchCpuTime(SubscriptionRegistry registry, int accounts)
    {
        const int Events = 1 << 20;
        var random = new Random(5);
        var names = new[] { "INBOX", "Work/Reports/2026/Q1", "Archive/2026", "" };
        var types = new[] { MailEventType.MessageNew, MailEventType.MessageNew, MailEventType.MessageExpunge, MailEventType.QuotaExceed };
        var events = new MailEvent[4096];
        for (var i = 0; i < events.Length; i++)
        {
            var k = random.Next(names.Length);
            events[i] = new MailEvent
            {
                Type = types[k],
                Account = AccountId.Parse(RegistryPopulation.AccountName(random.Next(accounts))),
                Mailbox = names[k].Length == 0 ? MailboxPath.Root : MailboxPath.Parse(names[k]),
            };
        }
        var results = new List<Subscription>(256);
        long matched = 0;
        const int Rounds = 5;
        var best = double.MaxValue;
        for (var round = 0; round < Rounds; round++)
        {
            var allocated = GC.GetAllocatedBytesForCurrentThread();
            var cpu = Process.GetCurrentProcess().TotalProcessorTime;
            for (var i = 0; i < Events; i++)
            {
                results.Clear();
                registry.Match(events[i & (events.Length - 1)], results);
                matched += results.Count;
            }
            cpu = Process.GetCurrentProcess().TotalProcessorTime - cpu;
            allocated = GC.GetAllocatedBytesForCurrentThread() - allocated;
            best = Math.Min(best, cpu.TotalNanoseconds / Events);
            Console.WriteLine($"match, round {round + 1}:         {cpu.TotalNanoseconds / Events:F0} ns CPU per event, {(double)allocated / Events:F1} B allocated per event");
        }
        Console.WriteLine($"match, best round:        {best:F0} ns CPU per event (target <= 1000 ns; 0 B allocated)");
        Console.WriteLine($"matches per event:        {(double)matched / (Rounds * (double)Events):F1}");
    }
}
