using System.Security.Cryptography.X509Certificates;
using System.Threading.Channels;
using Aggregators.EventModel;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// Runs the notifier: binds the configured UDP/TCP/TLS listeners, feeds what they receive to the
/// <see cref="SipNotifier"/>, and takes back restored subscriptions. Starts after the PNA's
/// lifecycle service (registered after it), so the store has been restored by then.
/// </summary>
public sealed partial class SipNotifierService(
    SipNotifier notifier,
    IOptions<SipNotifierOptions> options,
    TimeProvider time,
    ILoggerFactory loggers) : IHostedService, IAsyncDisposable
{
    private readonly Channel<SipReceivedMessage> _inbox = Channel.CreateBounded<SipReceivedMessage>(
        new BoundedChannelOptions(65_536) { SingleReader = true, FullMode = BoundedChannelFullMode.DropWrite });
    private readonly List<ISipTransport> _transports = [];
    private readonly ILogger _logger = loggers.CreateLogger<SipNotifierService>();
    private Task? _loop;

    /// <summary>The bound transports (port 0 resolved), for tests and the load generator.</summary>
    public IReadOnlyList<ISipTransport> Transports => _transports;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var o = options.Value;
        X509Certificate2? certificate = null;
        if (o.Tls.Count > 0)
        {
            certificate = o.TlsCertificateFile!.EndsWith(".pem", StringComparison.OrdinalIgnoreCase)
                ? X509Certificate2.CreateFromPemFile(o.TlsCertificateFile)
                : X509CertificateLoader.LoadPkcs12FromFile(o.TlsCertificateFile, o.TlsCertificatePassword);
        }
        foreach (var (protocol, endpoint) in o.Listeners())
        {
            var settings = new SipTransportOptions
            {
                LocalEndPoint = endpoint,
                ServerCertificate = certificate,
                ResponseFastPath = notifier.TryReceiveResponse,
                ReceiveBufferSize = o.UdpReceiveBufferBytes,
                IdleTimeout = TimeSpan.FromSeconds(o.StreamIdleTimeoutSeconds),
                TimeProvider = time,
                LoggerFactory = loggers,
            };
            ISipTransport transport = protocol switch
            {
                SipTransportProtocol.Udp => SipUdpTransport.Bind(settings, _inbox.Writer),
                SipTransportProtocol.Tcp => SipStreamTransport.BindTcp(settings, _inbox.Writer),
                _ => SipStreamTransport.BindTls(settings, _inbox.Writer),
            };
            _transports.Add(transport);
            notifier.AddTransport(transport);
            LogListening(protocol.ToString(), transport.LocalEndPoint.ToString());
        }
        _loop = Task.Run(ReceiveLoopAsync, CancellationToken.None);
        var adopted = notifier.AdoptRestored();
        LogStarted(adopted, notifier.Realm);
        await Task.CompletedTask.ConfigureAwait(false);
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
        notifier.Shutdown();
        foreach (var t in _transports)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
        _transports.Clear();
        _inbox.Writer.TryComplete();
        if (_loop is not null)
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var t in _transports)
        {
            await t.DisposeAsync().ConfigureAwait(false);
        }
        _transports.Clear();
        _inbox.Writer.TryComplete();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP notifier listening on {Protocol} {EndPoint}")]
    private partial void LogListening(string protocol, string endPoint);

    [LoggerMessage(Level = LogLevel.Information, Message = "SIP notifier started: {Adopted} dialogs resumed, realm {Realm}")]
    private partial void LogStarted(int adopted, string realm);
}

public static class SipNotifierServiceCollectionExtensions
{
    /// <summary>Adds the SIP notifier when <c>Pna:Sip:Enabled</c> is true (docs/sip.md).</summary>
    public static IServiceCollection AddSipNotifier(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration.GetSection(SipNotifierOptions.SectionName);
        services.AddOptions<SipNotifierOptions>().Bind(section).ValidateOnStart();
        services.AddSingleton<IValidateOptions<SipNotifierOptions>, SipNotifierOptionsValidator>();
        if (!section.GetValue<bool>(nameof(SipNotifierOptions.Enabled)))
        {
            return services;
        }
        services.AddSingleton<ISipSubscriptionHost>(sp => new PnaSubscriptionHost(
            sp.GetRequiredService<SubscriptionManager>(), sp.GetRequiredService<MailboxStateStore>()));
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<IOptions<SipNotifierOptions>>().Value;
            var notifier = new SipNotifier(
                o,
                new LazyHost(sp),
                o.Authentication.Enabled ? SipCredentials.Load(o.Authentication.CredentialsFile!, RealmOf(o)) : SipCredentials.Empty,
                sp.GetRequiredService<TimeProvider>(),
                sp.GetRequiredService<ILogger<SipNotifier>>());
            return notifier;
        });
        services.AddSingleton<INotificationTransport>(sp => sp.GetRequiredService<SipNotifier>());
        services.AddSingleton<SipNotifierService>();
        services.AddHostedService(sp => sp.GetRequiredService<SipNotifierService>());
        return services;
    }

    internal static string RealmOf(SipNotifierOptions o) =>
        o.Authentication.Realm.Length > 0 ? o.Authentication.Realm : o.Domains.FirstOrDefault() ?? "pna";

    /// <summary>
    /// The SubscriptionManager takes every transport, the notifier needs the manager: resolved on
    /// first use to break the cycle.
    /// </summary>
    private sealed class LazyHost(IServiceProvider services) : ISipSubscriptionHost
    {
        private ISipSubscriptionHost Host => field ??= services.GetRequiredService<ISipSubscriptionHost>();

        public ValueTask<SubscribeResult> SubscribeAsync(string subscriber, EventModel.SubscriptionFilter filter, INotificationTransport transport, string transportState, DateTimeOffset expires, CancellationToken cancellationToken) =>
            Host.SubscribeAsync(subscriber, filter, transport, transportState, expires, cancellationToken);

        public bool Refresh(long id, DateTimeOffset expires) => Host.Refresh(id, expires);

        public bool UpdateTransportState(long id, string state) => Host.UpdateTransportState(id, state);

        public bool Unsubscribe(long id, string reason) => Host.Unsubscribe(id, reason);

        public bool IsKnownAccount(EventModel.AccountId account) => Host.IsKnownAccount(account);

        public EventModel.MailboxTotals? CurrentTotals(EventModel.AccountId account, EventModel.MailboxPath mailbox) => Host.CurrentTotals(account, mailbox);

        public IReadOnlyList<Subscription> Snapshot() => Host.Snapshot();

        public TimeSpan? GrantedHeartbeat(SubscriptionFilter filter) => Host.GrantedHeartbeat(filter);
    }

    private sealed class SipNotifierOptionsValidator : IValidateOptions<SipNotifierOptions>
    {
        public ValidateOptionsResult Validate(string? name, SipNotifierOptions options)
        {
            if (!options.Enabled)
            {
                return ValidateOptionsResult.Success;
            }
            var errors = options.Validate().ToList();
            return errors.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(errors);
        }
    }
}
