using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.State;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.Peers;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Integration.Tests.ImapBridge;

/// <summary>One <see cref="AccountWatcher"/> against the test Dovecot, run in the background.</summary>
public sealed class WatcherHarness : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private Task? _run;

    public WatcherHarness(DovecotServer dovecot, (string User, string Password) account, WatchMode mode,
        IWatcherStateStore? store = null, Action<ImapServerOptions>? configure = null)
    {
        Options = new ImapServerOptions
        {
            Name = "dovecot",
            Host = "127.0.0.1",
            Port = dovecot.Port,
            Security = ImapSecurity.None,
            Mode = mode,
            PollInterval = TimeSpan.FromSeconds(1),
            CommandTimeout = TimeSpan.FromSeconds(10),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(200),
            ReconnectMaxDelay = TimeSpan.FromSeconds(2),
            CircuitBreakDuration = TimeSpan.FromSeconds(1),
            CircuitMinimumThroughput = 100,
        };
        configure?.Invoke(Options);
        Store = store ?? new InMemoryWatcherStateStore();
        Watcher = new AccountWatcher(new ImapServerEndpoint(Options, Environment.GetEnvironmentVariable("BRIDGE_TEST_TRACE") is { Length: > 0 } trace ? new FileLogger(trace) : null), new AccountOptions { Login = account.User, Password = account.Password },
            Sink, Store, NullLogger.Instance);
    }

    public ImapServerOptions Options { get; }
    public RecordingSink Sink { get; } = new();
    public IWatcherStateStore Store { get; }
    public AccountWatcher Watcher { get; }

    /// <summary>Starts the watcher and waits (bounded) until it watches.</summary>
    public async Task StartAsync()
    {
        _run = Task.Run(() => Watcher.RunAsync(_stop.Token));
        await WaitForStateAsync(WatcherState.Watching, sessions: 1);
    }

    /// <summary>Polls the watcher's state (no sleeping as synchronisation: a bounded check every 20 ms).</summary>
    public async Task WaitForStateAsync(WatcherState state, int sessions, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (!(Watcher.Status.State == state && Watcher.Sessions >= sessions))
        {
            if (_run is { IsCompleted: true })
            {
                await _run; // surfaces the failure
                throw new InvalidOperationException("the watcher stopped");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"watcher not {state} (session {sessions}) in time: {Watcher.Status}");
            }
            await Task.Delay(20);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_run is not null)
        {
            await _run.WaitAsync(TimeSpan.FromSeconds(20));
        }
        _stop.Dispose();
    }
}
