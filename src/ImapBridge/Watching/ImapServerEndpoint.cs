using System.Net.Sockets;
using Aggregators.ImapBridge.Imap;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.CircuitBreaker;

namespace Aggregators.ImapBridge.Watching;

/// <summary>
/// One configured IMAP server: how to connect and log in, and the circuit breaker its accounts share
/// (when the server is down, a thousand watchers must not each hammer it with connection attempts).
/// Only connection-level failures count for the breaker; a refused login is about one account.
/// </summary>
public sealed class ImapServerEndpoint
{
    private readonly ResiliencePipeline _breaker;
    private readonly System.Net.Security.RemoteCertificateValidationCallback? _certificateValidation;

    /// <exception cref="ArgumentException">The TLS trust settings are unusable (a bad pin, a CA file without certificates).</exception>
    /// <exception cref="IOException">The CA file cannot be read.</exception>
    public ImapServerEndpoint(ImapServerOptions options, ILogger? protocolLogger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        ProtocolLogger = protocolLogger;
        _certificateValidation = ImapTlsTrust.Create(options.TlsCaFile, options.TlsPinnedCertificate, options.AllowInvalidCertificate);
        _breaker = new ResiliencePipelineBuilder()
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions
            {
                FailureRatio = options.CircuitFailureRatio,
                MinimumThroughput = Math.Max(2, options.CircuitMinimumThroughput),
                SamplingDuration = options.CircuitSamplingDuration < TimeSpan.FromMilliseconds(500) ? TimeSpan.FromMilliseconds(500) : options.CircuitSamplingDuration,
                BreakDuration = options.CircuitBreakDuration < TimeSpan.FromMilliseconds(500) ? TimeSpan.FromMilliseconds(500) : options.CircuitBreakDuration,
                ShouldHandle = new PredicateBuilder().Handle<ImapConnectionException>().Handle<SocketException>()
                    .Handle<IOException>().Handle<TimeoutException>(),
            })
            .Build();
    }

    public ImapServerOptions Options { get; }

    /// <summary>Protocol trace for the clients (commands carrying secrets are masked by the client).</summary>
    public ILogger? ProtocolLogger { get; }

    /// <summary>Connects and logs in <paramref name="account"/> through the server's circuit breaker.</summary>
    /// <exception cref="BrokenCircuitException">The breaker is open: the server failed for many accounts lately.</exception>
    /// <exception cref="ImapAuthenticationException">The server refused the login.</exception>
    public ValueTask<ImapClient> ConnectAsync(AccountOptions account, CancellationToken cancellationToken) =>
        _breaker.ExecuteAsync(static async (state, ct) =>
        {
            var (self, account) = state;
            var o = self.Options;
            var client = await ImapClient.ConnectAsync(new ImapClientOptions
            {
                Host = o.Host,
                Port = o.Port,
                Security = o.Security,
                TlsTargetHost = o.TlsTargetHost,
                CertificateValidation = self._certificateValidation,
                CommandTimeout = o.CommandTimeout,
                ConnectTimeout = o.CommandTimeout,
                Logger = self.ProtocolLogger,
            }, ct).ConfigureAwait(false);
            try
            {
                await LoginAsync(client, o, account, ct).ConfigureAwait(false);
                return client;
            }
            catch
            {
                await client.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        }, (this, account), cancellationToken);

    private static async Task LoginAsync(ImapClient client, ImapServerOptions o, AccountOptions account, CancellationToken ct)
    {
        try
        {
            if (account.Password is { } password)
            {
                if (client.Supports("AUTH=PLAIN"))
                {
                    await client.AuthenticatePlainAsync(account.Login, password, null, ct).ConfigureAwait(false);
                }
                else
                {
                    await client.LoginAsync(account.Login, password, ct).ConfigureAwait(false);
                }
                return;
            }
            var master = o.MasterUser ?? throw new InvalidOperationException($"account {account.Login} has no password and server {o.Name} no master user");
            if (master.Method == MasterLoginMethod.SaslPlainAuthzid)
            {
                await client.AuthenticatePlainAsync(master.User, master.Password, account.Login, ct).ConfigureAwait(false);
            }
            else
            {
                await client.LoginAsync(account.Login + master.Separator + master.User, master.Password, ct).ConfigureAwait(false);
            }
        }
        catch (ImapCommandException e) when (e.Status == ImapStatus.No)
        {
            // RFC 5530 §3: AUTHENTICATIONFAILED (or a plain NO): the credentials, not the connection.
            throw new ImapAuthenticationException(e.Code?.Name, e.Message, e);
        }
    }
}

/// <summary>The server refused the login (RFC 5530 AUTHENTICATIONFAILED, AUTHORIZATIONFAILED, EXPIRED, or a plain NO).</summary>
public sealed class ImapAuthenticationException(string? code, string message, Exception inner) : Exception(message, inner)
{
    public string? Code { get; } = code;
}
