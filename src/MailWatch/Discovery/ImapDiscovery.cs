using Aggregators.EventModel.Discovery;
using Aggregators.ImapBridge.Imap;
using Aggregators.MailWatch.Imap;
using Microsoft.Extensions.Logging;

namespace Aggregators.MailWatch.Discovery;

/// <summary>
/// Finds the notification aggregator from the mail server: logs in over IMAP and reads the
/// <c>NOTIF=</c> capability atoms (docs/discovery.md, parsed by EventModel's <see cref="NotifCapability"/>). The capability list is read again after
/// LOGIN because servers (Dovecot) announce more once authenticated.
/// </summary>
public static class ImapDiscovery
{
    public static async Task<NotifCapability> DiscoverAsync(MailWatchOptions options, ILogger logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var server = options.EffectiveImap;
        await using var client = await ImapConnect.LoginAsync(options, cancellationToken).ConfigureAwait(false);
        var capabilities = await client.CapabilityAsync(cancellationToken).ConfigureAwait(false);
        var (found, malformed) = NotifCapability.FromCapabilities(capabilities);
        foreach (var m in malformed)
        {
            logger.LogWarning("ignoring a malformed capability from {Server}: {Atom}", server, m);
        }
        try
        {
            await client.LogoutAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ImapConnect.IsImapFailure(ex))
        {
            // the answer is in hand
        }
        var wanted = options.Transport == WatchTransport.Xmpp ? NotifScheme.Xmpp : NotifScheme.Sip;
        var match = found.FirstOrDefault(c => c.Scheme == wanted);
        if (match is null)
        {
            var offered = found.Count == 0 ? "no NOTIF= capability at all" : "only " + string.Join(", ", found.Select(f => f.ToString()));
            throw new DiscoveryException($"{server} announces no {options.Transport.ToString().ToLowerInvariant()} notification service ({offered}); "
                + (options.Transport == WatchTransport.Xmpp ? "give --service" : "give --pna"));
        }
        logger.LogInformation("discovered {Capability} from {Server}", match, server);
        return match;
    }
}

/// <summary>Discovery found nothing usable (exit code 3).</summary>
public sealed class DiscoveryException : Exception
{
    public DiscoveryException(string message) : base(message) { }

    public DiscoveryException() : base("discovery failed") { }

    public DiscoveryException(string message, Exception inner) : base(message, inner) { }
}
