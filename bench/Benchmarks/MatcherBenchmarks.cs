using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>
/// One event matched against 1,000,000 subscriptions over 100,000 accounts (see
/// <see cref="RegistryPopulation"/>). Each benchmark cycles through <see cref="Batch"/> events on
/// different accounts so the figures include cache misses, and reports the time per event.
/// Targets: at most 1 us and 0 B allocated per event. No forced GC between iterations: the
/// registry is a 400 MB heap a forced full collection would spend seconds on, and matching
/// allocates nothing. Run with <c>--inProcess</c> (this project's assembly name differs from
/// its file name, which BenchmarkDotNet's out-of-process toolchain cannot find).
/// </summary>
[MemoryDiagnoser]
[GcForce(false)]
public class MatcherBenchmarks
{
    private const int Accounts = 100_000;
    private const int SubscriptionsPerAccount = 10;
    private const int Batch = 1024;

    private SubscriptionRegistry _registry = null!;
    private readonly List<Subscription> _results = new(256);
    private MailEvent[] _inboxNew = null!;
    private MailEvent[] _deepNew = null!;
    private MailEvent[] _rename = null!;
    private MailEvent[] _quota = null!;
    private MailEvent[] _unsubscribedAccount = null!;

    [GlobalSetup]
    public void Setup()
    {
        _registry = RegistryPopulation.Build(Accounts, SubscriptionsPerAccount);
        var random = new Random(1);
        MailEvent[] Events(Func<AccountId, MailEvent> make, bool subscribed) =>
            Enumerable.Range(0, Batch)
                .Select(_ => make(AccountId.Parse(RegistryPopulation.AccountName(subscribed ? random.Next(Accounts) : Accounts + random.Next(Accounts)))))
                .ToArray();
        var inbox = MailboxPath.Inbox;
        var deep = MailboxPath.Parse("Work/Reports/2026/Q1");
        var oldName = MailboxPath.Parse("Work/Projects/Alpha");
        var newName = MailboxPath.Parse("Archive/2026/Alpha");
        _inboxNew = Events(a => new MailEvent { Type = MailEventType.MessageNew, Account = a, Mailbox = inbox }, subscribed: true);
        _deepNew = Events(a => new MailEvent { Type = MailEventType.MessageNew, Account = a, Mailbox = deep }, subscribed: true);
        _rename = Events(a => new MailEvent { Type = MailEventType.MailboxRename, Account = a, Mailbox = newName, OldMailbox = oldName }, subscribed: true);
        _quota = Events(a => new MailEvent { Type = MailEventType.QuotaExceed, Account = a }, subscribed: true);
        _unsubscribedAccount = Events(a => new MailEvent { Type = MailEventType.MessageNew, Account = a, Mailbox = inbox }, subscribed: false);
    }

    private int Run(MailEvent[] events)
    {
        var total = 0;
        foreach (var e in events)
        {
            _results.Clear();
            _registry.Match(e, _results);
            total += _results.Count;
        }
        return total;
    }

    [Benchmark(OperationsPerInvoke = Batch, Description = "INBOX MessageNew, subscribed account")]
    public int InboxNew() => Run(_inboxNew);

    [Benchmark(OperationsPerInvoke = Batch, Description = "Work/Reports/2026/Q1 MessageNew")]
    public int DeepNew() => Run(_deepNew);

    [Benchmark(OperationsPerInvoke = Batch, Description = "MailboxRename (two names)")]
    public int Rename() => Run(_rename);

    [Benchmark(OperationsPerInvoke = Batch, Description = "QuotaExceed (account level)")]
    public int Quota() => Run(_quota);

    [Benchmark(OperationsPerInvoke = Batch, Description = "account without subscriptions")]
    public int UnsubscribedAccount() => Run(_unsubscribedAccount);
}
