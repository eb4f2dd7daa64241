using Microsoft.Extensions.Logging;

namespace Aggregators.Pna.Operations.Status;

/// <summary>One warning or error for the status page.</summary>
public sealed record RecentError(DateTimeOffset At, string Level, string Source, string Message);

/// <summary>
/// The last <see cref="Capacity"/> warnings and errors, newest last: fed by
/// <see cref="RecentErrorsLoggerProvider"/> (every Warning or worse the PNA logs) and by explicit
/// <see cref="Add"/> calls.
/// </summary>
public sealed class RecentErrors(TimeProvider time)
{
    public const int Capacity = 50;

    /// <summary>Longest message kept; the rest is cut so a hostile peer cannot fill memory through logs.</summary>
    public const int MaxMessageLength = 1000;

    private readonly Lock _lock = new();
    private readonly Queue<RecentError> _items = new();

    public void Add(string level, string source, string message)
    {
        if (message.Length > MaxMessageLength)
        {
            message = string.Concat(message.AsSpan(0, MaxMessageLength), "…");
        }
        var item = new RecentError(time.GetUtcNow(), level, source, message);
        lock (_lock)
        {
            if (_items.Count == Capacity)
            {
                _items.Dequeue();
            }
            _items.Enqueue(item);
        }
    }

    public IReadOnlyList<RecentError> Snapshot()
    {
        lock (_lock)
        {
            return _items.ToArray();
        }
    }
}

/// <summary>A logger provider that copies Warning, Error and Critical entries into <see cref="RecentErrors"/>.</summary>
public sealed class RecentErrorsLoggerProvider(RecentErrors errors) : ILoggerProvider
{
    public ILogger CreateLogger(string categoryName) => new Logger(errors, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(RecentErrors errors, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel is >= LogLevel.Warning and < LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var message = formatter(state, exception);
            if (exception is not null)
            {
                message += $" ({exception.GetType().Name}: {exception.Message})";
            }
            errors.Add(logLevel.ToString(), category, message);
        }
    }
}
