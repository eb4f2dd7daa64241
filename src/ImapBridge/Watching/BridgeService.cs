using Aggregators.ImapBridge.State;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.ImapBridge.Watching;

/// <summary>
/// Runs one <see cref="AccountWatcher"/> per configured account, all concurrently (async: an idle
/// account costs one connection and a parked read), with one <see cref="ImapServerEndpoint"/> (and
/// circuit breaker) per server. Used by the PNA host when co-hosted and by the standalone bridge host.
/// </summary>
public sealed partial class BridgeService : BackgroundService
{
    private readonly BridgeOptions _options;
    private readonly IEventSink _sink;
    private readonly IWatcherStateStore _store;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly List<AccountWatcher> _watchers = [];

    public BridgeService(IOptions<BridgeOptions> options, IEventSink sink, IWatcherStateStore store, ILoggerFactory loggers, TimeProvider? time = null)
    {
        _options = options.Value;
        _sink = sink;
        _store = store;
        _logger = loggers.CreateLogger<BridgeService>();
        _time = time ?? TimeProvider.System;
        var watcherLogger = loggers.CreateLogger<AccountWatcher>();
        foreach (var server in _options.Servers)
        {
            if (server.AllowInvalidCertificate && server.Security != Imap.ImapSecurity.None)
            {
                LogAnyCertificate(server.Name, server.Host);
            }
            var endpoint = new ImapServerEndpoint(server, loggers.CreateLogger("Aggregators.ImapBridge.Imap." + server.Name));
            foreach (var account in server.AllAccounts())
            {
                _watchers.Add(new AccountWatcher(endpoint, account, _sink, _store, watcherLogger, _time));
            }
        }
    }

    public IReadOnlyList<AccountWatcher> Watchers => _watchers;

    /// <summary>A snapshot of every watcher's state (for the status page).</summary>
    public IReadOnlyList<WatcherStatus> Status => _watchers.Select(w => w.Status).ToArray();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        LogStarting(_watchers.Count, _options.Servers.Count);
        // Spread the first connections (5 ms apart: 1,000 accounts over 5 s) so a restart does not
        // open every connection to a server at the same instant.
        await Task.WhenAll(_watchers.Select((w, i) => Task.Run(async () =>
        {
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(5 * i), _time, stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            await w.RunAsync(stoppingToken).ConfigureAwait(false);
        }, CancellationToken.None))).ConfigureAwait(false);
    }

    [LoggerMessage(EventId = 11, Level = LogLevel.Warning, Message = "IMAP server {Server} ({Host}): AllowInvalidCertificate is on, ANY certificate is accepted and passwords can be read by anyone on the path. For tests only: use TlsCaFile or TlsPinnedCertificate instead")]
    private partial void LogAnyCertificate(string server, string host);

    [LoggerMessage(EventId = 10, Level = LogLevel.Information, Message = "IMAP bridge: watching {Accounts} accounts on {Servers} servers")]
    private partial void LogStarting(int accounts, int servers);
}

/// <summary>Registration of the bridge in a host.</summary>
public static class BridgeServiceCollectionExtensions
{
    /// <summary>
    /// Binds <see cref="BridgeOptions"/> from <paramref name="section"/> and, when enabled, registers the
    /// SQLite watcher state (<c>bridge.db</c> in <see cref="BridgeOptions.DataDirectory"/> or
    /// <paramref name="defaultDataDirectory"/>) and the <see cref="BridgeService"/>. The host registers an
    /// <see cref="IEventSink"/>. Invalid options fail the host's start with the list of problems.
    /// </summary>
    public static IServiceCollection AddImapBridge(this IServiceCollection services, IConfiguration section, Func<IServiceProvider, string> defaultDataDirectory)
    {
        services.AddOptions<BridgeOptions>().Bind(section)
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<BridgeOptions>, BridgeOptionsValidator>();
        if (!section.GetValue<bool>(nameof(BridgeOptions.Enabled)))
        {
            return services;
        }
        services.AddSingleton<IWatcherStateStore>(sp =>
        {
            var o = sp.GetRequiredService<IOptions<BridgeOptions>>().Value;
            var dir = o.DataDirectory ?? defaultDataDirectory(sp);
            return new SqliteWatcherStateStore(Path.Combine(dir, SqliteWatcherStateStore.DefaultFileName));
        });
        services.AddSingleton<BridgeService>();
        services.AddHostedService(sp => sp.GetRequiredService<BridgeService>());
        return services;
    }
}

internal sealed class BridgeOptionsValidator : IValidateOptions<BridgeOptions>
{
    public ValidateOptionsResult Validate(string? name, BridgeOptions options)
    {
        var errors = options.Validate();
        return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
    }
}
