using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>An <see cref="IEventSink"/> that keeps what it got and lets a test wait for it (bounded).</summary>
public sealed class RecordingSink : IEventSink
{
    private readonly Lock _lock = new();
    private readonly List<MailEvent> _events = [];
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public IReadOnlyList<MailEvent> Events
    {
        get
        {
            lock (_lock)
            {
                return _events.ToArray();
            }
        }
    }

    public ValueTask DeliverAsync(IReadOnlyList<MailEvent> events, CancellationToken cancellationToken)
    {
        TaskCompletionSource changed;
        lock (_lock)
        {
            _events.AddRange(events);
            changed = _changed;
            _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        changed.TrySetResult();
        return ValueTask.CompletedTask;
    }

    /// <summary>Waits until <paramref name="done"/> holds for the events so far, at most <paramref name="timeout"/>.</summary>
    public async Task<IReadOnlyList<MailEvent>> WaitAsync(Func<IReadOnlyList<MailEvent>, bool> done, TimeSpan? timeout = null, string? what = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(15));
        while (true)
        {
            Task changed;
            lock (_lock)
            {
                if (done(_events))
                {
                    return _events.ToArray();
                }
                changed = _changed.Task;
            }
            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero || await Task.WhenAny(changed, Task.Delay(left)) != changed)
            {
                throw new TimeoutException($"timed out waiting for {what ?? "events"}; got:\n{Describe(Events)}");
            }
        }
    }

    /// <summary>Waits until at least <paramref name="count"/> events arrived after <paramref name="from"/>; returns those.</summary>
    public async Task<IReadOnlyList<MailEvent>> WaitCountAsync(int from, int count, string what) =>
        (await WaitAsync(e => e.Count >= from + count, what: what)).Skip(from).ToArray();

    public static string Describe(IEnumerable<MailEvent> events) =>
        string.Join('\n', events.Select(Describe));

    public static string Describe(MailEvent e) =>
        string.Create(CultureInfo.InvariantCulture,
            $"{e.Type.ToRfcName()} {e.Mailbox}{(e.OldMailbox is null ? "" : " from " + e.OldMailbox)} uidset={e.Uidset} flags={(e.FlagNames is null ? "" : string.Join(' ', e.FlagNames))} totals={e.Totals}{(e.Spam ? " spam" : "")}");
}
