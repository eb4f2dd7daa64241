using Aggregators.MailWatch.Model;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Client;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using Microsoft.Extensions.Logging;
using System.Xml.Linq;

namespace Aggregators.MailWatch.Sources;

/// <summary>
/// Subscribes over XMPP (docs/xmpp.md): logs in as the user, subscribes its bound full JID to
/// <c>mail_events/&lt;mailbox&gt;</c> at <c>&lt;local&gt;@&lt;service&gt;</c> with depth and
/// <c>pna#heartbeat</c>, reads the current item, then takes each headline notification.
/// The full JID (a fixed resource) keeps two MailWatch instances of one user apart, and a
/// restarted one finds its own subscription again (§6.1.6 answers the existing one).
/// </summary>
internal sealed class XmppMailSource(MailWatchOptions options, string service, ILogger logger) : IMailSource
{
    private readonly Jid _service = Jid.Create(options.LocalPart, service);
    private readonly MailWatchOptions _options = options;
    private readonly ILogger _logger = logger;

    public string Description => $"xmpp {string.Join(", ", _options.Mailboxes.Select(PubsubProtocol.Node))}{(_options.Subtree ? " (subtree)" : "")} at {_service}";

    public async Task<IMailSession> OpenAsync(IUpdateSink sink, bool subscribe, CancellationToken cancellationToken)
    {
        var jid = _options.Jid ?? _options.Address;
        var server = _options.XmppServer;
        XmppClientConnection client;
        try
        {
            client = await XmppClientConnection.ConnectAsync(new XmppClientOptions
            {
                Jid = jid,
                Password = _options.EffectiveXmppPassword,
                Host = server?.Host,
                Port = server?.Port ?? 5222,
                Tls = _options.XmppTls,
                AllowPlainWithoutTls = _options.AllowPlainWithoutTls,
                Resource = _options.Resource ?? "mailwatch-" + Environment.MachineName.ToLowerInvariant(),
                ConnectTimeout = TimeSpan.FromSeconds(20),
                IqTimeout = TimeSpan.FromSeconds(15),
                KeepaliveInterval = TimeSpan.FromSeconds(Math.Clamp(_options.Heartbeat.TotalSeconds, 5, 60)),
            }, (stanza, _) => OnStanza(stanza, sink), cancellationToken, _logger).ConfigureAwait(false);
        }
        catch (XmppClientException ex)
        {
            throw new SourceException($"XMPP login as {jid} failed: {ex.Message}", ex,
                permanent: ex.Failure is ClientFailure.AuthenticationFailed or ClientFailure.NoMechanism or ClientFailure.TlsFailed);
        }
        var session = new Session(this, client, sink, subscribe);
        try
        {
            // Initial presence (RFC 6121 §4.2) with a negative priority: chat to the bare JID is not for us.
            await client.SendAsync(new Presence(null, null, null, null, ClientNamespaces.Client).WithPriority(-1), cancellationToken).ConfigureAwait(false);
            await session.SubscribeAllAsync(cancellationToken).ConfigureAwait(false);
            return session;
        }
        catch (XmppStreamException ex)
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw new SourceException("XMPP connection lost while subscribing: " + ex.Message, ex);
        }
        catch
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private ValueTask OnStanza(Stanza stanza, IUpdateSink sink)
    {
        // XEP-0060 §7.1.2.1: notifications come from the service (here the account's pubsub JID).
        if (stanza is not Message message || message.From?.Bare != _service)
        {
            return ValueTask.CompletedTask;
        }
        if (message.Type == MessageType.Error)
        {
            _logger.LogWarning("the pubsub service bounced a message: {Error}", message.Error);
            return ValueTask.CompletedTask;
        }
        var heard = false;
        foreach (var payload in PubsubProtocol.ReadPayloads(message.Element.Element(XName.Get("event", PubsubProtocol.Event)),
                     e => _logger.LogWarning("malformed notification from {Service}: {Error}", _service, e)))
        {
            heard = true;
            if (PubsubProtocol.ToUpdate(payload) is { } update && PubsubProtocol.IsWatched(update.Mailbox, _options.Mailboxes, _options.Subtree))
            {
                sink.Update(update);
            }
            else
            {
                sink.Alive();
            }
        }
        if (!heard)
        {
            _logger.LogDebug("message from {Service} without a mail-event payload", _service);
        }
        return ValueTask.CompletedTask;
    }

    private sealed class Session(XmppMailSource source, XmppClientConnection client, IUpdateSink sink, bool subscribe) : IMailSession
    {
        private readonly HashSet<string> _subscribed = new(StringComparer.Ordinal);

        /// <summary>Faults with the reason once the stream has ended (one continuation for the session's life).</summary>
        public Task Completion { get; } = client.Completion.ContinueWith(
            t => throw new SourceException("XMPP connection lost: " + (t.Exception?.InnerException?.Message ?? "the server closed the stream")),
            CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);

        public async Task SubscribeAllAsync(CancellationToken cancellationToken)
        {
            foreach (var mailbox in source._options.Mailboxes)
            {
                var node = PubsubProtocol.Node(mailbox);
                if (subscribe)
                {
                    var subscribed = await RequestAsync(IqType.Set, PubsubProtocol.Subscribe(node, client.BoundJid.ToString(), source._options.Subtree, source._options.Heartbeat),
                        $"subscribe to {node}", cancellationToken).ConfigureAwait(false);
                    // XEP-0060 §6.3.7: the PNA returns the options it granted, the heartbeat clamped.
                    if (GrantedHeartbeat.FromSubscribeReply(subscribed.Payload) is { } granted)
                    {
                        sink.HeartbeatGranted(mailbox, granted);
                    }
                    lock (_subscribed)
                    {
                        _subscribed.Add(node);
                    }
                }
                // XEP-0060 §6.5: the current totals (the PNA's one item), whatever the subscription answered.
                var items = await RequestAsync(IqType.Get, PubsubProtocol.Items(node), $"items of {node}", cancellationToken).ConfigureAwait(false);
                var any = false;
                foreach (var payload in PubsubProtocol.ReadPayloads(items.Payload))
                {
                    if (PubsubProtocol.ToUpdate(payload) is { } update)
                    {
                        sink.Update(update);
                        any = true;
                    }
                }
                if (!any)
                {
                    sink.Alive();
                }
            }
        }

        private async Task<Iq> RequestAsync(IqType type, XElement payload, string what, CancellationToken cancellationToken)
        {
            try
            {
                return await client.IqAsync(client.CreateIq(type, source._service, payload), cancellationToken).ConfigureAwait(false);
            }
            catch (XmppIqErrorException ex)
            {
                var condition = ex.Error?.ConditionName ?? "error";
                var hint = ex.Error?.Condition switch
                {
                    StanzaErrorCondition.Forbidden => " (the PNA does not grant this account to you)",
                    StanzaErrorCondition.ItemNotFound => " (the PNA knows no such mailbox for this account yet)",
                    StanzaErrorCondition.RemoteServerTimeout or StanzaErrorCondition.ServiceUnavailable or StanzaErrorCondition.RemoteServerNotFound
                        => " (the PNA's component is not connected to the XMPP server)",
                    _ => "",
                };
                throw new SourceException($"{what} at {source._service}: {condition}{(ex.Error?.Text is { } t ? ": " + t : "")}{hint}", ex,
                    permanent: ex.Error?.Condition == StanzaErrorCondition.Forbidden);
            }
            catch (Exception ex) when (ex is TimeoutException or XmppStreamException)
            {
                throw new SourceException($"{what} at {source._service}: {ex.Message}", ex);
            }
        }

        public Task ResubscribeAsync(CancellationToken cancellationToken) => SubscribeAllAsync(cancellationToken);

        public async Task CloseAsync()
        {
            string[] nodes;
            lock (_subscribed)
            {
                nodes = [.. _subscribed];
                _subscribed.Clear();
            }
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(3));
            foreach (var node in nodes)
            {
                try
                {
                    await client.IqAsync(client.CreateIq(IqType.Set, source._service, PubsubProtocol.Unsubscribe(node, client.BoundJid.ToString())), timeout.Token)
                        .ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is XmppIqErrorException or TimeoutException or XmppStreamException or OperationCanceledException)
                {
                    source._logger.LogInformation("unsubscribe from {Node} failed: {Reason}", node, ex.Message);
                }
            }
            await client.CloseAsync().ConfigureAwait(false);
        }

        public async ValueTask DisposeAsync() => await client.DisposeAsync().ConfigureAwait(false);
    }
}

internal static class PresenceExtensions
{
    /// <summary>RFC 6121 §4.7.2.3: priority -128..127.</summary>
    public static Presence WithPriority(this Presence presence, sbyte priority)
    {
        presence.Element.Add(new XElement(presence.Namespace + "priority", priority.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        return presence;
    }
}
