using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch.Output;

/// <summary>One line per message to a writer (a file, or stderr in <c>--plain</c>/<c>--once</c>): the live table owns the terminal.</summary>
internal sealed class LineLoggerProvider(TextWriter writer, LogLevel minimum) : ILoggerProvider
{
    private readonly Lock _lock = new();
    private readonly TextWriter _writer = writer;
    private readonly LogLevel _minimum = minimum;

    public ILogger CreateLogger(string categoryName) => new LineLogger(this);

    public void Dispose() => _writer.Flush();

    private sealed class LineLogger(LineLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel >= owner._minimum && logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (!IsEnabled(logLevel))
            {
                return;
            }
            var line = $"{DateTimeOffset.UtcNow:yyyy-MM-dd'T'HH:mm:ss.fff'Z'} {Level(logLevel)} {formatter(state, exception)}"
                + (exception is null || logLevel < LogLevel.Error ? "" : Environment.NewLine + exception);
            lock (owner._lock)
            {
                owner._writer.WriteLine(line);
                owner._writer.Flush();
            }
        }

        private static string Level(LogLevel level) => level switch
        {
            LogLevel.Trace => "trce",
            LogLevel.Debug => "dbug",
            LogLevel.Information => "info",
            LogLevel.Warning => "warn",
            LogLevel.Error => "fail",
            _ => "crit",
        };
    }
}
