using Aggregators.MailWatch.Discovery;
using Aggregators.MailWatch.Imap;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Output;
using Aggregators.MailWatch.Sources;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Spectre.Console;

namespace Aggregators.MailWatch;

/// <summary>The tool's entry: options, discovery, the source, then the live view or <c>--once</c>.</summary>
public static class MailWatchApp
{
    public const int Ok = 0;
    public const int UnexpectedError = 1;
    public const int BadOptions = 2;
    public const int SourceFailed = 3;
    public const int OnceTimedOut = 4;

    public static async Task<int> RunAsync(string[] args, TextWriter stdout, TextWriter stderr, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(stdout);
        ArgumentNullException.ThrowIfNull(stderr);
        MailWatchOptions? options;
        try
        {
            options = CommandLine.Parse(args);
        }
        catch (OptionsException ex)
        {
            await stderr.WriteLineAsync("mailwatch: " + ex.Message).ConfigureAwait(false);
            await stderr.WriteLineAsync("Try 'mailwatch --help'.").ConfigureAwait(false);
            return BadOptions;
        }
        if (options is null)
        {
            await stdout.WriteLineAsync(CommandLine.Usage).ConfigureAwait(false);
            return Ok;
        }
        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        ConsoleCancelEventHandler onCancel = (_, e) =>
        {
            e.Cancel = true; // stop cleanly: unsubscribe, close the stream
            cancel.Cancel();
        };
        Console.CancelKeyPress += onCancel;
        using var sigterm = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, c =>
        {
            c.Cancel = true;
            cancel.Cancel();
        });
        StreamWriter? logFile = null;
        try
        {
            var live = !options.Once && !options.Plain && !Console.IsOutputRedirected;
            ILoggerProvider? provider = null;
            if (options.LogFile is { } path)
            {
                logFile = new StreamWriter(path, append: true);
                provider = new LineLoggerProvider(logFile, LogLevel.Debug);
            }
            else if (!live)
            {
                provider = new LineLoggerProvider(stderr, LogLevel.Warning);
            }
            using var factory = provider is null ? NullLoggerFactory.Instance : LoggerFactory.Create(b =>
            {
                b.SetMinimumLevel(LogLevel.Debug);
                b.AddProvider(provider);
            });
            var logger = factory.CreateLogger("mailwatch");
            return await RunAsync(options, live, stdout, stderr, logger, TimeProvider.System, cancel.Token).ConfigureAwait(false);
        }
        catch (OptionsException ex)
        {
            await stderr.WriteLineAsync("mailwatch: " + ex.Message).ConfigureAwait(false);
            return BadOptions;
        }
        catch (Exception ex) when (ex is SourceException or DiscoveryException || ImapConnect.IsImapFailure(ex))
        {
            await stderr.WriteLineAsync("mailwatch: " + ex.Message).ConfigureAwait(false);
            return SourceFailed;
        }
        finally
        {
            Console.CancelKeyPress -= onCancel;
            if (logFile is not null)
            {
                await logFile.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    internal static async Task<int> RunAsync(MailWatchOptions options, bool live, TextWriter stdout, TextWriter stderr, ILogger logger, TimeProvider time,
        CancellationToken cancellationToken)
    {
        var source = await CreateSourceAsync(options, logger, cancellationToken).ConfigureAwait(false);
        var state = new WatchState(options.Heartbeat, time);
        if (options.Once)
        {
            return await OnceAsync(options, source, state, stdout, stderr, time, cancellationToken).ConfigureAwait(false);
        }
        var notifier = options.Notify ? DesktopNotifier.Create(logger) : null;
        var verifier = options.VerifyImap ? new ImapStatusVerifier(options, time) : null;
        var watcher = new Watcher(options, source, state, logger, time, notifier, verifier);
        var run = watcher.RunAsync(cancellationToken);
        if (live)
        {
            await LiveAsync(options, source, state, run, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            await PlainAsync(state, stdout, run, cancellationToken).ConfigureAwait(false);
        }
        await run.ConfigureAwait(false);
        return Ok;
    }

    private static async Task<IMailSource> CreateSourceAsync(MailWatchOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        if (options.Transport == WatchTransport.Xmpp)
        {
            var service = options.Service ?? (await ImapDiscovery.DiscoverAsync(options, logger, cancellationToken).ConfigureAwait(false)).Host;
            return new XmppMailSource(options, service, logger);
        }
        var pna = options.Pna ?? (await ImapDiscovery.DiscoverAsync(options, logger, cancellationToken).ConfigureAwait(false)).Uri;
        return new SipMailSource(options, pna, logger);
    }

    private static async Task<int> OnceAsync(MailWatchOptions options, IMailSource source, WatchState state, TextWriter stdout, TextWriter stderr,
        TimeProvider time, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.Timeout);
        var sink = new StateSink(state);
        IMailSession session;
        try
        {
            session = await source.OpenAsync(sink, subscribe: false, timeout.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            await stderr.WriteLineAsync($"mailwatch: no counts within {options.Timeout.TotalSeconds:0} s").ConfigureAwait(false);
            return OnceTimedOut;
        }
        await using (session.ConfigureAwait(false))
        {
            try
            {
                while (!options.Mailboxes.All(m => state.Snapshot().Mailboxes.Any(v => v.Mailbox == m && v.Notified)))
                {
                    await Task.WhenAny(session.Completion, Task.Delay(TimeSpan.FromMilliseconds(50), time, timeout.Token)).ConfigureAwait(false);
                    timeout.Token.ThrowIfCancellationRequested();
                    if (session.Completion.IsCompleted)
                    {
                        await session.Completion.ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                await stderr.WriteLineAsync($"mailwatch: no counts for every mailbox within {options.Timeout.TotalSeconds:0} s").ConfigureAwait(false);
                return OnceTimedOut;
            }
            finally
            {
                await session.CloseAsync().ConfigureAwait(false);
            }
        }
        await stdout.WriteLineAsync(CountsJson.Write(options.Address, options.Transport, state.Snapshot())).ConfigureAwait(false);
        return Ok;
    }

    private static async Task LiveAsync(MailWatchOptions options, IMailSource source, WatchState state, Task run, CancellationToken cancellationToken)
    {
        var changed = new SemaphoreSlim(0);
        state.Changed += () => changed.Release();
        await AnsiConsole.Live(StatusView.Render(options.Address, source.Description, state.Snapshot()))
            .AutoClear(false)
            .StartAsync(async ctx =>
            {
                while (!run.IsCompleted && !cancellationToken.IsCancellationRequested)
                {
                    // Redraw on change, and every second for the "ago" clock.
                    try
                    {
                        await changed.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                        break;
                    }
                    ctx.UpdateTarget(StatusView.Render(options.Address, source.Description, state.Snapshot()));
                }
            }).ConfigureAwait(false);
    }

    private static async Task PlainAsync(WatchState state, TextWriter stdout, Task run, CancellationToken cancellationToken)
    {
        var changed = new SemaphoreSlim(0);
        state.Changed += () => changed.Release();
        string? last = null;
        while (!run.IsCompleted && !cancellationToken.IsCancellationRequested)
        {
            try
            {
                await changed.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                break;
            }
            var snapshot = state.Snapshot();
            var line = StatusView.PlainLine(snapshot);
            // One line per change of status or counts (the clock alone is not a change).
            var key = line[(line.IndexOf(' ', StringComparison.Ordinal) + 1)..];
            if (key != last)
            {
                last = key;
                await stdout.WriteLineAsync(line).ConfigureAwait(false);
                await stdout.FlushAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private sealed class StateSink(WatchState state) : IUpdateSink
    {
        public void Update(MailboxUpdate update) => state.Apply(update);

        public void Alive() => state.Alive();

        public void HeartbeatGranted(string mailbox, TimeSpan granted) => state.Grant(granted);
    }
}
