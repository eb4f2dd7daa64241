using System.Diagnostics.Metrics;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace Aggregators.Cna.Xmpp;

/// <summary>Where the proxy's stanzas go: the component, or a test's recorder. Never blocks.</summary>
internal interface ICnaStanzaSink
{
    /// <summary>False when the stanza could not be queued (not connected, queue full).</summary>
    bool TrySend(Stanza stanza);
}

/// <summary>What the CNA's XMPP side is doing, for status pages and readiness.</summary>
public sealed record XmppProxyStatus(ComponentState Component, string ComponentReason, int Upstreams, int StaleUpstreams, int LocalSubscriptions);

/// <summary>
/// The CNA's XMPP side (docs/cna-xmpp.md): an XEP-0114 component in the consumer's domain that
/// proxies remote PNAs' XEP-0060 services to local users. One upstream subscription per
/// <see cref="UpstreamKey"/>, made by the CNA's own JID; the latest totals cached and sent at
/// once to a new local subscriber; every upstream notification fanned out to the local
/// subscribers of it; a watchdog that re-subscribes (with backoff) after two silent heartbeat
/// intervals and marks the local subscribers stale meanwhile.
/// This part holds the state, runs the component and dispatches stanzas; local requests are in
/// XmppProxy.Local.cs, the upstream side in XmppProxy.Upstream.cs.
/// </summary>
public sealed partial class XmppProxy : IHostedService, IAsyncDisposable
{
    private readonly CnaXmppOptions _options;
    private readonly LocalSubscriptionStore _store;
    private readonly ILogger<XmppProxy> _logger;
    private readonly ILoggerFactory _loggerFactory;
    private readonly TimeProvider _time;
    private readonly AllowRules _rules;
    private readonly RemoteAccounts _accounts;
    private readonly IqTracker _pending = new();
    private readonly ResiliencePipeline _resubscribe;
    private readonly CancellationTokenSource _stop = new();
    private readonly Counter<long> _notificationsOut;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _resubscribes;

    // All subscription state below is guarded by _gate; nothing under it blocks (sends are TrySend).
    private readonly Lock _gate = new();
    private readonly Dictionary<UpstreamKey, UpstreamSubscription> _upstreams = [];
    private readonly Dictionary<string, UpstreamSubscription> _byResource = new(StringComparer.Ordinal);
    private readonly Dictionary<long, LocalSubscription> _locals = [];
    private readonly Dictionary<(Jid, Jid, string), LocalSubscription> _localsByKey = [];
    private readonly Dictionary<Jid, int> _localsPerUser = [];
    private readonly Dictionary<(string To, string Namespace, string? Node), (DateTimeOffset Expires, XElementHolder Reply)> _discoCache = [];

    private XmppComponent? _component;
    private Task? _watchdog;
    private int _requestsInFlight;

    public XmppProxy(IOptions<CnaXmppOptions> options, LocalSubscriptionStore store, IMeterFactory meters,
        ILoggerFactory loggerFactory, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(meters);
        ArgumentNullException.ThrowIfNull(loggerFactory);
        _options = options.Value;
        _store = store;
        _loggerFactory = loggerFactory;
        _logger = loggerFactory.CreateLogger<XmppProxy>();
        _time = time ?? TimeProvider.System;
        Domain = Jid.Parse(_options.ComponentDomain);
        UpstreamJid = Jid.Create(_options.UpstreamLocalpart, Domain.Domain);
        _rules = new AllowRules(_options.EffectiveLocalDomains, _options.Allow);
        _accounts = new RemoteAccounts(Domain, _options.Routes);
        _resubscribe = new ResiliencePipelineBuilder { TimeProvider = _time }
            .AddRetry(new RetryStrategyOptions
            {
                // Only an upstream subscription that local subscribers already rely on is retried;
                // a first subscribe's failure goes back to the requester.
                ShouldHandle = new PredicateBuilder().Handle<UpstreamUnavailableException>(ex => ex.Upstream.RetryForever && !ex.Upstream.Dropped),
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _options.ResubscribeDelay,
                MaxDelay = _options.MaxResubscribeDelay,
                MaxRetryAttempts = int.MaxValue,
                OnRetry = args =>
                {
                    var ex = (UpstreamUnavailableException)args.Outcome.Exception!;
                    LogResubscribeFailed(ex.Upstream.Service.ToString(), ex.Upstream.Key.Node, ex.Message, args.RetryDelay.TotalSeconds);
                    lock (_gate)
                    {
                        MarkStale(ex.Upstream);
                    }
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
        var meter = meters.Create("Aggregators.Cna");
        _notificationsOut = meter.CreateCounter<long>("cna.xmpp.notifications.out", "{notification}", "Notifications sent to local XMPP subscribers");
        _dropped = meter.CreateCounter<long>("cna.xmpp.notifications.dropped", "{notification}", "Local notifications not sent: component down or queue full");
        _resubscribes = meter.CreateCounter<long>("cna.xmpp.upstream.resubscribes", "{subscribe}", "Upstream re-subscriptions after silence, failure, reconnect or periodic refresh");
        meter.CreateObservableGauge("cna.xmpp.upstream.subscriptions", () => Status.Upstreams, "{subscription}", "Upstream XMPP subscriptions");
        meter.CreateObservableGauge("cna.xmpp.upstream.stale", () => Status.StaleUpstreams, "{subscription}", "Upstream XMPP subscriptions currently stale");
        meter.CreateObservableGauge("cna.xmpp.local.subscriptions", () => Status.LocalSubscriptions, "{subscription}", "Local XMPP subscriptions");
    }

    /// <summary>The component's domain (<c>events.example.net</c>).</summary>
    public Jid Domain { get; }

    /// <summary>The CNA's own JID at the PNAs (<c>cna@events.example.net</c>); each upstream subscription is one of its resources.</summary>
    public Jid UpstreamJid { get; }

    /// <summary>The component's state (Idle before start).</summary>
    public ComponentState ComponentState { get; private set; } = ComponentState.Idle;

    private string _componentReason = "not started";

    /// <summary>Counts for status pages and readiness.</summary>
    public XmppProxyStatus Status
    {
        get
        {
            lock (_gate)
            {
                return new XmppProxyStatus(ComponentState, _componentReason, _upstreams.Count,
                    _upstreams.Values.Count(u => u.Stale || u.State == UpstreamState.Resubscribing), _locals.Count);
            }
        }
    }

    /// <summary>The stanza sink; the component once started (tests set their own before starting).</summary>
    internal ICnaStanzaSink? Sink { get; set; }

    /// <summary>Raised on every component state change.</summary>
    public event EventHandler<ComponentStateChangedEventArgs>? StateChanged;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        Restore();
        _watchdog = Task.Run(() => WatchdogLoopAsync(_stop.Token), CancellationToken.None);
        if (Sink is not null)
        {
            // A test's sink is "connected" from the start.
            ResyncAll("started");
            return Task.CompletedTask;
        }
        var component = new XmppComponent(_options.ToComponentOptions(), HandleStanzaAsync, _loggerFactory.CreateLogger<XmppComponent>(), _time);
        component.StateChanged += OnStateChanged;
        _component = component;
        Sink = new ComponentSink(component);
        component.Start();
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        Task[] syncs;
        lock (_gate)
        {
            syncs = [.. _upstreams.Values.Select(u => u.Sync).OfType<Task>()];
        }
        try
        {
            await Task.WhenAll([.. syncs, _watchdog ?? Task.CompletedTask]).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // stopping: the tasks end on the cancelled token
        }
        if (_component is { } c)
        {
            await c.StopAsync().WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _component, null) is { } c)
        {
            await c.DisposeAsync().ConfigureAwait(false);
        }
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync().ConfigureAwait(false);
        }
    }

    private void OnStateChanged(object? sender, ComponentStateChangedEventArgs e)
    {
        var wasConnected = ComponentState == ComponentState.Connected;
        ComponentState = e.State;
        _componentReason = e.Reason;
        if (e.State == ComponentState.Connected && !wasConnected)
        {
            // Notifications sent to us while we were away are lost: ask every PNA again (the
            // subscribe is idempotent there) and re-read the totals.
            ResyncAll("component connected");
        }
        StateChanged?.Invoke(this, e);
    }

    /// <summary>One stanza from the local server, in arrival order (the component's handler). Never waits for upstream answers.</summary>
    internal ValueTask HandleStanzaAsync(Stanza stanza, CancellationToken cancellationToken)
    {
        switch (stanza)
        {
            case Iq { IsRequest: false } answer:
                _pending.TryComplete(answer);
                break;
            case Iq request when request.From is not null && request.To is not null:
                // Requests may wait for a PNA: run them beside the read loop, which must keep
                // reading (the PNA's answer arrives through it).
                Interlocked.Increment(ref _requestsInFlight);
                _ = Task.Run(() => HandleRequestSafelyAsync(request), CancellationToken.None);
                break;
            case Message { To.Resource: { } resource } message when message.To!.Bare == UpstreamJid:
                HandleUpstreamMessage(message, resource);
                break;
            case Message { IsError: true } bounce:
                HandleLocalBounce(bounce);
                break;
        }
        return ValueTask.CompletedTask;
    }

    private async Task HandleRequestSafelyAsync(Iq request)
    {
        try
        {
            var reply = await HandleRequestAsync(request, _stop.Token).ConfigureAwait(false);
            if (reply is not null)
            {
                Send(reply);
            }
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            Send(request.CreateError(StanzaError.Of(StanzaErrorCondition.ServiceUnavailable, "the CNA is shutting down")));
        }
#pragma warning disable CA1031 // a bug in one request must not take the service down; the requester gets an error
        catch (Exception ex)
#pragma warning restore CA1031
        {
            LogRequestFailed(ex, request.From!.ToString());
            Send(request.CreateError(StanzaError.Of(StanzaErrorCondition.InternalServerError)));
        }
        finally
        {
            Interlocked.Decrement(ref _requestsInFlight);
        }
    }

    private bool Send(Stanza stanza)
    {
        if (Sink?.TrySend(stanza) == true)
        {
            return true;
        }
        LogSendFailed(stanza.Element.Name.LocalName, stanza.To?.ToString() ?? "");
        return false;
    }

    /// <summary>Loads the stored local subscriptions and rebuilds their upstream subscriptions (re-subscribed once connected).</summary>
    private void Restore()
    {
        var restored = 0;
        foreach (var stored in _store.LoadAll((id, reason) => LogStoredSkipped(id, reason)))
        {
            if (!_accounts.TryAccountOf(stored.Service, out var account) || !_accounts.TryUpstreamOf(account, out var service)
                || !PubsubWire.TryParseNode(stored.Node, out var mailbox))
            {
                LogStoredSkipped(stored.Id, $"{stored.Service} {stored.Node} is no longer routed");
                continue;
            }
            lock (_gate)
            {
                var upstream = GetOrCreateUpstream(UpstreamKey.For(account, stored.Node, stored.Options, _options.Heartbeat), service, mailbox, out _);
                upstream.RetryForever = true;
                upstream.LastHeard = _time.GetUtcNow();
                var local = new LocalSubscription(stored.Id, stored.Subscriber, stored.Service, stored.Node, stored.Options, upstream)
                {
                    Answered = true,
                    InitialSent = true,
                };
                AddLocal(local);
            }
            restored++;
        }
        if (restored > 0)
        {
            LogRestored(restored, _upstreams.Count);
        }
    }

    private UpstreamSubscription GetOrCreateUpstream(UpstreamKey key, Jid service, MailboxPath mailbox, out bool created)
    {
        if (_upstreams.TryGetValue(key, out var existing))
        {
            created = false;
            return existing;
        }
        var resource = key.Resource;
        var upstream = new UpstreamSubscription(key, service, UpstreamJid.WithResource(resource), mailbox);
        _upstreams[key] = upstream;
        _byResource[resource] = upstream;
        created = true;
        return upstream;
    }

    private void AddLocal(LocalSubscription local)
    {
        _locals[local.Id] = local;
        _localsByKey[local.Key] = local;
        _localsPerUser[local.Subscriber.Bare] = _localsPerUser.GetValueOrDefault(local.Subscriber.Bare) + 1;
        local.Upstream.Locals.Add(local);
    }

    /// <summary>Removes a local subscription; the last one leaving ends the upstream one (XEP-0060 §6.2 upstream).</summary>
    private void RemoveLocal(LocalSubscription local, string reason)
    {
        if (!Forget(local))
        {
            return;
        }
        var upstream = local.Upstream;
        upstream.Locals.Remove(local);
        LogLocalEnded(local.Id, local.Subscriber.ToString(), local.Service.ToString(), local.Node, reason);
        if (upstream.Locals.Count == 0)
        {
            DropUpstream(upstream, unsubscribe: upstream.Confirmed);
        }
    }

    /// <summary>Removes a local subscription from the indexes and the store; false if it was gone already.</summary>
    private bool Forget(LocalSubscription local)
    {
        if (!_locals.Remove(local.Id))
        {
            return false;
        }
        _localsByKey.Remove(local.Key);
        var user = local.Subscriber.Bare;
        if (_localsPerUser.TryGetValue(user, out var n) && n > 1)
        {
            _localsPerUser[user] = n - 1;
        }
        else
        {
            _localsPerUser.Remove(user);
        }
        _store.Delete(local.Id);
        return true;
    }

    private void DropUpstream(UpstreamSubscription upstream, bool unsubscribe)
    {
        if (upstream.Dropped)
        {
            return;
        }
        upstream.Dropped = true;
        _upstreams.Remove(upstream.Key);
        _byResource.Remove(upstream.Subscriber.Resource!);
        upstream.SyncCancellation?.Cancel();
        if (unsubscribe)
        {
            // Fire and forget: the answer is not awaited (an unknown id is ignored when it comes).
            var iq = new Iq(IqType.Set, "cna-unsub-" + upstream.Subscriber.Resource, upstream.Service, upstream.Subscriber,
                new System.Xml.Linq.XElement(PubsubWire.Ps + "pubsub", new System.Xml.Linq.XElement(PubsubWire.Ps + "unsubscribe",
                    new System.Xml.Linq.XAttribute("node", upstream.Key.Node), new System.Xml.Linq.XAttribute("jid", upstream.Subscriber.ToString()))));
            Send(iq);
        }
        LogUpstreamEnded(upstream.Service.ToString(), upstream.Key.Node, unsubscribe ? "last local subscriber left" : "ended upstream");
    }

    /// <summary>Sends <paramref name="payload"/> to one local subscriber as <paramref name="kind"/>, with its next sequence number.</summary>
    private void Notify(LocalSubscription local, XmppMailEventPayload payload, XmppPayloadKind kind, bool stale)
    {
        var seq = ++local.Sequence;
        var p = payload with { Kind = kind, Sequence = seq, Stale = stale };
        var id = string.Create(System.Globalization.CultureInfo.InvariantCulture, $"n-{local.Id}-{seq}");
        if (Sink?.TrySend(PubsubWire.Notification(local.Subscriber, local.Service, id, local.SubId, local.Node, p)) == true)
        {
            _notificationsOut.Add(1);
        }
        else
        {
            _dropped.Add(1);
        }
    }

    /// <summary>A totals-only payload for an upstream that has no cached totals yet.</summary>
    private static XmppMailEventPayload EmptyPayload(UpstreamSubscription upstream) =>
        new() { Kind = XmppPayloadKind.Current, Account = upstream.Key.Account, Mailbox = upstream.Primary };

    /// <summary>
    /// A notification to a local subscriber came back as an error (XEP-0060 §12 via the PNA's rule):
    /// types cancel and auth end that local subscription, others are transient.
    /// </summary>
    private void HandleLocalBounce(Message message)
    {
        if (message.Id is not { } id || !id.StartsWith("n-", StringComparison.Ordinal) || message.From is not { } from
            || id.IndexOf('-', 2) is var dash && dash < 0
            || !long.TryParse(id.AsSpan(2, dash - 2), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var localId))
        {
            return;
        }
        var error = message.Error ?? StanzaError.Of(StanzaErrorCondition.UndefinedCondition);
        lock (_gate)
        {
            if (_locals.TryGetValue(localId, out var local) && local.Subscriber.Bare == from.Bare
                && error.Type is StanzaErrorType.Cancel or StanzaErrorType.Auth)
            {
                RemoveLocal(local, $"notification bounced with {error}");
            }
        }
    }

    private sealed class ComponentSink(XmppComponent component) : ICnaStanzaSink
    {
        public bool TrySend(Stanza stanza) => component.TrySend(stanza);
    }

    /// <summary>A cached disco answer's payload (copied on every use: XElements have one parent).</summary>
    private sealed record XElementHolder(System.Xml.Linq.XElement? Payload);

    [LoggerMessage(Level = LogLevel.Error, Message = "XMPP request from {From} failed")]
    private partial void LogRequestFailed(Exception ex, string from);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not send a <{Kind}/> to {To}: component down or queue full")]
    private partial void LogSendFailed(string kind, string to);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Stored XMPP subscription #{Id} skipped: {Reason}")]
    private partial void LogStoredSkipped(long id, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Restored {Locals} local XMPP subscriptions on {Upstreams} upstream subscriptions")]
    private partial void LogRestored(int locals, int upstreams);

    [LoggerMessage(Level = LogLevel.Information, Message = "Local XMPP subscription #{Id} of {Subscriber} to {Service} {Node} ended: {Reason}")]
    private partial void LogLocalEnded(long id, string subscriber, string service, string node, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Upstream subscription to {Service} {Node} ended: {Reason}")]
    private partial void LogUpstreamEnded(string service, string node, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Re-subscribing to {Service} {Node} failed ({Reason}); next attempt in {Seconds:0.0} s")]
    private partial void LogResubscribeFailed(string service, string node, string reason, double seconds);
}

/// <summary>The PNA did not answer, or answered with a transient error: retried for subscriptions already in use.</summary>
internal sealed class UpstreamUnavailableException(UpstreamSubscription upstream, string message, StanzaError error) : Exception(message)
{
    public UpstreamSubscription Upstream { get; } = upstream;

    /// <summary>What a waiting local requester gets.</summary>
    public StanzaError Error { get; } = error;
}
