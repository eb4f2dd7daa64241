using System.Threading.Channels;
using Aggregators.Cna.Hosting;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Cna.Sip;

/// <summary>
/// Runs the CNA's SIP side: binds the configured UDP/TCP listeners (local subscribers and upstream
/// subscriptions share them) and feeds what they receive to the <see cref="CnaSipNotifier"/>.
/// </summary>
public sealed partial class CnaSipService(CnaSipNotifier notifier, IOptions<CnaSipOptions> options, TimeProvider time, ILoggerFactory loggers)
    : IHostedService, IAsyncDisposable, ICnaReadinessCheck, ICnaMetricsSource
{
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateBounded<SipReceivedMessage>(
        new BoundedChannelOptions(65_536) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<ISipTransport> _transports = [];
    private readonly ILogger _logger = loggers.CreateLogger<CnaSipService>();
    private Task? _loop;
    private volatile bool _running;

    /// <summary>The bound transports (port 0 resolved), for tests and the benchmark.</summary>
    public IReadOnlyList<ISipTransport> Transports => _transports;

    public CnaSipNotifier Notifier => notifier;

    public string Name => "sip";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var (protocol, endpoint) in options.Value.Listeners())
        {
            var settings = new SipTransportOptions { LocalEndPoint = endpoint, TimeProvider = time, LoggerFactory = loggers };
            ISipTransport transport = protocol == SipTransportProtocol.Udp
                ? SipUdpTransport.Bind(settings, _inbox.Writer)
                : SipStreamTransport.BindTcp(settings, _inbox.Writer);
            _transports.Add(transport);
            notifier.AddTransport(transport);
            LogListening(protocol.ToString(), transport.LocalEndPoint.ToString());
        }
        _loop = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        _running = true;
        return Task.CompletedTask;
    }

    private async Task ReceiveLoopAsync()
    {
        await foreach (var m in _inbox.Reader.ReadAllAsync().ConfigureAwait(false))
        {
            notifier.Receive(m);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _running = false;
        notifier.Shutdown();
        await DisposeTransportsAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await DisposeTransportsAsync().ConfigureAwait(false);
        _inbox.Writer.TryComplete();
    }

    private async Task DisposeTransportsAsync()
    {
        foreach (var t in _transports)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
        _transports.Clear();
    }

    public CnaReadiness Check() => _running
        ? new CnaReadiness(true, $"listening; {notifier.UpstreamCount} upstream ({notifier.StaleUpstreams} stale), {notifier.LocalCount} local")
        : new CnaReadiness(false, "not listening");

    public IEnumerable<CnaMetric> Metrics()
    {
        yield return new CnaMetric("cna_sip_local_subscriptions", "gauge", "Local SIP subscriptions", notifier.LocalCount);
        yield return new CnaMetric("cna_sip_upstream_subscriptions", "gauge", "Upstream SIP subscriptions", notifier.UpstreamCount);
        yield return new CnaMetric("cna_sip_upstream_stale", "gauge", "Upstream SIP subscriptions whose state is stale", notifier.StaleUpstreams);
        yield return new CnaMetric("cna_sip_upstream_subscribes_total", "counter", "Upstream SUBSCRIBEs started (first and re-subscriptions)", notifier.Pool.SubscribesStarted);
        yield return new CnaMetric("cna_sip_upstream_resubscribes_total", "counter", "Upstream re-subscriptions after failure or silence", notifier.Pool.Resubscribes);
        yield return new CnaMetric("cna_sip_notifies_sent_total", "counter", "NOTIFYs sent to local subscribers", notifier.NotifiesSent);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "CNA SIP listening on {Protocol} {EndPoint}")]
    private partial void LogListening(string protocol, string endPoint);
}

public static class CnaSipServiceCollectionExtensions
{
    /// <summary>Adds the CNA's SIP side when <c>Cna:Sip:Enabled</c> is true (docs/cna.md).</summary>
    public static IServiceCollection AddCnaSip(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(CnaSipOptions.SectionName);
        if (!section.GetValue<bool>(nameof(CnaSipOptions.Enabled)))
        {
            return services;
        }
        services.TryAddSingleton(TimeProvider.System);
        services.AddOptions<CnaSipOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<CnaSipOptions>, Validator>();
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<CnaSipOptions>>().Value;
            return new CnaSipNotifier(o, CnaUsers.Load(o.UsersFile!, o.RealmOrDefault), sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<CnaSipNotifier>>());
        });
        services.AddSingleton<CnaSipService>();
        services.AddHostedService(sp => sp.GetRequiredService<CnaSipService>());
        services.AddSingleton<ICnaReadinessCheck>(sp => sp.GetRequiredService<CnaSipService>());
        services.AddSingleton<ICnaMetricsSource>(sp => sp.GetRequiredService<CnaSipService>());
        return services;
    }

    private sealed class Validator : IValidateOptions<CnaSipOptions>
    {
        public ValidateOptionsResult Validate(string? name, CnaSipOptions options)
        {
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
