using Microsoft.Extensions.Logging;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>Protocol trace to a file, for debugging a failing test: set BRIDGE_TEST_TRACE=/path.</summary>
internal sealed class FileLogger(string path) : ILogger
{
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (this)
        {
            File.AppendAllText(path, $"{DateTime.UtcNow:HH:mm:ss.fff} {formatter(state, exception)}\n");
        }
    }
}
