using System.Collections.Concurrent;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Authorization;

/// <summary>
/// Authorization from the IMAP server's ACLs (RFC 4314): the subscriber URI is mapped to an IMAP
/// identity (<see cref="ImapAclOptions.Identity"/>), the account to its IMAP owner
/// (<see cref="ImapAclOptions.AccountUser"/>), and the mailbox's ACL is read from the server
/// (<see cref="IImapAclSource"/>). Allowed when the identity's effective rights hold every
/// <see cref="ImapAclOptions.RequiredRights"/> (default l and r, RFC 4314 §2.1). Answers,
/// allow and deny alike, are cached for <see cref="ImapAclOptions.CacheSeconds"/>; a server
/// that cannot be reached denies without caching. Every decision says why.
/// </summary>
public sealed partial class ImapAclPolicy : IAuthorizationPolicy
{
    /// <summary>Beyond this many cached answers, expired ones are swept before adding more.</summary>
    internal const int CacheSweepThreshold = 10_000;

    private readonly ImapAclOptions _options;
    private readonly IImapAclSource _source;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<(string Identity, string Owner, string Mailbox), CachedDecision> _cache = new();

    public ImapAclPolicy(ImapAclOptions options, IImapAclSource source, TimeProvider? time = null, ILogger<ImapAclPolicy>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(source);
        if (options.Validate() is { Count: > 0 } errors)
        {
            throw new InvalidOperationException("invalid IMAP ACL configuration: " + string.Join("; ", errors));
        }
        _options = options;
        _source = source;
        _time = time ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
    }

    internal int CachedCount => _cache.Count;

    public async ValueTask<AuthorizationDecision> AuthorizeAsync(
        string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        if (account.IsDefault)
        {
            return AuthorizationDecision.Deny("no account given");
        }
        if (!SubscriberUri.TryParse(subscriber, out var uri, out var error))
        {
            return AuthorizationDecision.Deny($"subscriber '{subscriber}' is not a valid subscriber URI: {error}");
        }
        var identity = IdentityOf(uri);
        var owner = OwnerOf(account);
        var key = (identity, owner, mailbox.Value);
        var now = _time.GetUtcNow();
        if (_cache.TryGetValue(key, out var cached) && cached.Expires > now)
        {
            return cached.Decision with { Reason = cached.Decision.Reason + $" (cached until {cached.Expires:HH:mm:ss}Z)" };
        }

        var where = $"IMAP ACL of {owner}'s {(mailbox.IsRoot ? "INBOX (account)" : mailbox.Value)}";
        AuthorizationDecision decision;
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(_options.TimeoutSeconds));
            try
            {
                var acl = await _source.GetAclAsync(owner, mailbox, timeout.Token).ConfigureAwait(false);
                var (rights, explanation) = ImapRights.Effective(acl, identity, owner);
                var missing = ImapRights.Missing(rights, _options.RequiredRights);
                decision = missing.Length == 0
                    ? AuthorizationDecision.Allow($"{where}: {uri} is IMAP identity '{identity}' with rights '{rights}' ({explanation}), which include '{_options.RequiredRights}'")
                    : AuthorizationDecision.Deny($"{where}: {uri} is IMAP identity '{identity}' with rights '{rights}' ({explanation}), missing '{missing}' of required '{_options.RequiredRights}'");
            }
            catch (ImapCommandException e)
            {
                // A definite answer from the server (no such mailbox, admin not allowed): deny and cache.
                decision = AuthorizationDecision.Deny($"{where}: the server refused ({e.Message})");
            }
            catch (ImapAclMailboxException e)
            {
                decision = AuthorizationDecision.Deny($"{where}: {e.Message}");
            }
            catch (Exception e) when (e is ImapConnectionException or System.Net.Sockets.SocketException or IOException
                                          or TimeoutException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                // No answer: deny this time (default deny) and ask again next time.
                LogUnavailable(_logger, _options.Host, _options.Port, e.Message);
                return AuthorizationDecision.Deny($"{where}: the IMAP server {_options.Host}:{_options.Port} could not be asked ({e.GetType().Name}: {e.Message})") with { Unavailable = true };
            }
        }
        var validUntil = now + TimeSpan.FromSeconds(_options.CacheSeconds);
        decision = decision with { ValidUntil = validUntil };
        if (_options.CacheSeconds > 0)
        {
            if (_cache.Count >= CacheSweepThreshold)
            {
                foreach (var (k, v) in _cache)
                {
                    if (v.Expires <= now)
                    {
                        _cache.TryRemove(k, out _);
                    }
                }
            }
            _cache[key] = new CachedDecision(decision, validUntil);
        }
        return decision;
    }

    /// <summary>The configured IMAP identity of a subscriber.</summary>
    public string IdentityOf(SubscriberUri uri)
    {
        ArgumentNullException.ThrowIfNull(uri);
        return _options.Identities.TryGetValue(uri.Address, out var explicitIdentity)
            ? explicitIdentity
            : _options.Identity.Replace("{user}", uri.User, StringComparison.Ordinal)
                .Replace("{host}", uri.Host, StringComparison.Ordinal)
                .Replace("{scheme}", uri.Scheme, StringComparison.Ordinal);
    }

    /// <summary>The IMAP user owning an account.</summary>
    public string OwnerOf(AccountId account) =>
        _options.AccountUser.Replace("{account}", account.Value, StringComparison.Ordinal)
            .Replace("{local}", account.LocalPart, StringComparison.Ordinal)
            .Replace("{domain}", account.Domain ?? "", StringComparison.Ordinal);

    private sealed record CachedDecision(AuthorizationDecision Decision, DateTimeOffset Expires);

    [LoggerMessage(Level = LogLevel.Warning, Message = "IMAP ACL lookup failed: {Host}:{Port} could not be asked ({Error}); subscriptions needing it are denied until it answers")]
    private static partial void LogUnavailable(ILogger logger, string host, int port, string error);
}

/// <summary>"Either": allowed when the grants allow (checked first, no I/O) or else the IMAP ACLs allow.</summary>
public sealed class EitherPolicy(IAuthorizationPolicy first, IAuthorizationPolicy second) : IAuthorizationPolicy
{
    public async ValueTask<AuthorizationDecision> AuthorizeAsync(
        string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken)
    {
        var a = await first.AuthorizeAsync(subscriber, account, mailbox, cancellationToken).ConfigureAwait(false);
        if (a.Allowed)
        {
            return a;
        }
        var b = await second.AuthorizeAsync(subscriber, account, mailbox, cancellationToken).ConfigureAwait(false);
        return b.Allowed ? b : AuthorizationDecision.Deny($"neither allows: {a.Reason}; {b.Reason}") with { ValidUntil = b.ValidUntil, Unavailable = b.Unavailable };
    }
}
