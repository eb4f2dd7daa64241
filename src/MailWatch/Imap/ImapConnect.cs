using Aggregators.ImapBridge.Imap;

namespace Aggregators.MailWatch.Imap;

/// <summary>Opens an authenticated IMAP session with the project's IMAP client (src/ImapBridge/Imap).</summary>
internal static class ImapConnect
{
    public static async Task<ImapClient> LoginAsync(MailWatchOptions options, CancellationToken cancellationToken)
    {
        var server = options.EffectiveImap;
        var client = await ImapClient.ConnectAsync(new ImapClientOptions
        {
            Host = server.Host,
            Port = server.Port,
            Security = options.ImapSecurity,
            ConnectTimeout = TimeSpan.FromSeconds(20),
            CommandTimeout = TimeSpan.FromSeconds(30),
        }, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.LoginAsync(options.ImapUser ?? options.Address, options.EffectiveImapPassword, cancellationToken).ConfigureAwait(false);
            return client;
        }
        catch
        {
            await client.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public static bool IsImapFailure(Exception ex) =>
        ex is ImapCommandException or ImapConnectionException or ImapProtocolException or IOException or TimeoutException
            or System.Net.Sockets.SocketException;
}
