using Aggregators.EventModel;

namespace Aggregators.Pna.Authorization;

/// <summary>
/// Authorization from configuration (<see cref="GrantPolicyOptions"/>): owner access, then the
/// grants in order; default deny. Patterns are compiled once at construction and an invalid one
/// is a configuration error. Every decision carries a reason naming the rule that allowed it, or
/// saying that none did.
/// </summary>
public sealed class GrantPolicy : IAuthorizationPolicy
{
    private readonly bool _ownerAccess;
    private readonly Dictionary<string, string> _domainAliases;
    private readonly CompiledGrant[] _grants;

    /// <exception cref="InvalidOperationException">A pattern or alias is invalid; the message lists every problem.</exception>
    public GrantPolicy(GrantPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        _ownerAccess = options.OwnerAccess;
        _domainAliases = CompileAliases(options, errors);
        _grants = CompileGrants(options, errors);
        if (errors.Count > 0)
        {
            throw new InvalidOperationException("invalid authorization configuration: " + string.Join("; ", errors));
        }
    }

    /// <summary>Every problem in <paramref name="options"/>, one message each, naming the configuration key.</summary>
    public static IReadOnlyList<string> Validate(GrantPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var errors = new List<string>();
        CompileAliases(options, errors);
        CompileGrants(options, errors);
        return errors;
    }

    public ValueTask<AuthorizationDecision> AuthorizeAsync(
        string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
        new(Authorize(subscriber, account, mailbox));

    /// <summary>The decision, synchronously (the policy does no I/O).</summary>
    public AuthorizationDecision Authorize(string subscriber, AccountId account, MailboxPath mailbox)
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
        if (_ownerAccess)
        {
            var domain = _domainAliases.TryGetValue(uri.Host, out var mailDomain) ? mailDomain : uri.Host;
            if (AccountId.TryParse(uri.User + "@" + domain, out var owned, out _) && owned == account)
            {
                var via = ReferenceEquals(domain, uri.Host) ? "" : $" (domain alias {uri.Host} -> {domain})";
                return AuthorizationDecision.Allow($"owner access: {uri} owns account {account}{via}");
            }
        }
        foreach (var grant in _grants)
        {
            if (grant.Matches(uri, account, mailbox))
            {
                return AuthorizationDecision.Allow($"{grant.Name} allows it ({grant})");
            }
        }
        var mailboxText = mailbox.IsRoot ? "" : "/" + mailbox.Value;
        return AuthorizationDecision.Deny($"no grant matches {uri} for {account}{mailboxText}");
    }

    private static Dictionary<string, string> CompileAliases(GrantPolicyOptions options, List<string> errors)
    {
        var aliases = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (from, to) in options.DomainAliases ?? [])
        {
            var key = $"{GrantPolicyOptions.SectionName}:DomainAliases:{from}";
            if (!SubscriberUri.TryNormaliseHost(from ?? "", out var f, out var e1))
            {
                errors.Add($"{key}: the subscriber domain {e1}");
                continue;
            }
            if (!SubscriberUri.TryNormaliseHost(to ?? "", out var t, out var e2))
            {
                errors.Add($"{key}: the mail domain '{to}' {e2}");
                continue;
            }
            aliases[f] = t;
        }
        return aliases;
    }

    private static CompiledGrant[] CompileGrants(GrantPolicyOptions options, List<string> errors)
    {
        var grants = new List<CompiledGrant>();
        var list = options.Grants ?? [];
        for (var i = 0; i < list.Count; i++)
        {
            var name = $"{GrantPolicyOptions.SectionName}:Grants:{i}";
            var g = list[i];
            if (g is null)
            {
                errors.Add($"{name}: empty grant");
                continue;
            }
            var ok = true;
            if (!SubscriberPattern.TryParse(g.Subscriber, out var subscriber, out var e))
            {
                errors.Add($"{name}:Subscriber '{g.Subscriber}': {e}");
                ok = false;
            }
            if (!AccountPattern.TryParse(g.Account, out var account, out e))
            {
                errors.Add($"{name}:Account '{g.Account}': {e}");
                ok = false;
            }
            if (!MailboxPath.TryParse(g.Mailbox ?? "", out var prefix, out e))
            {
                errors.Add($"{name}:Mailbox '{g.Mailbox}': {e}");
                ok = false;
            }
            if (ok)
            {
                grants.Add(new CompiledGrant(name, subscriber, account, prefix));
            }
        }
        return [.. grants];
    }

    private sealed record CompiledGrant(string Name, SubscriberPattern Subscriber, AccountPattern Account, MailboxPath Prefix)
    {
        public bool Matches(SubscriberUri uri, AccountId account, MailboxPath mailbox) =>
            Subscriber.Matches(uri) && Account.Matches(account) && Prefix.IsAncestorOrSelfOf(mailbox);

        public override string ToString() =>
            $"subscriber {Subscriber}, account {Account}, mailbox {(Prefix.IsRoot ? "(all)" : Prefix.Value)}";
    }
}

/// <summary>
/// A compiled subscriber pattern: <c>*</c>, <c>scheme:*</c>, <c>[scheme:]*@host</c> or
/// <c>[scheme:]user@host</c>; a missing scheme means any scheme. '*' stands only for a whole
/// part; the user is compared as the subscriber URI normalises it, the host case-insensitively.
/// </summary>
internal sealed record SubscriberPattern(string Text, string? Scheme, string? User, string? Host)
{
    public bool Matches(SubscriberUri uri) =>
        (Scheme is null || Scheme == uri.Scheme)
        && (User is null || string.Equals(User, uri.User, StringComparison.Ordinal))
        && (Host is null || string.Equals(Host, uri.Host, StringComparison.Ordinal));

    public override string ToString() => Text;

    public static bool TryParse(string? text, out SubscriberPattern pattern, out string? error)
    {
        pattern = null!;
        if (string.IsNullOrEmpty(text))
        {
            error = "is empty (use \"*\" for anyone)";
            return false;
        }
        if (text == "*")
        {
            pattern = new SubscriberPattern(text, null, null, null);
            error = null;
            return true;
        }
        string? scheme = null;
        var rest = text;
        var colon = text.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            scheme = text[..colon].ToLowerInvariant();
            if (scheme is not ("sip" or "sips" or "xmpp"))
            {
                error = $"unsupported scheme '{text[..colon]}' (expected sip, sips or xmpp)";
                return false;
            }
            rest = text[(colon + 1)..];
        }
        if (rest == "*")
        {
            pattern = new SubscriberPattern(text, scheme, null, null);
            error = null;
            return true;
        }
        var at = rest.LastIndexOf('@');
        if (at < 0)
        {
            error = "expected user@host, *@host or * after the optional scheme";
            return false;
        }
        var user = rest[..at];
        var host = rest[(at + 1)..];
        if (host.Contains('*', StringComparison.Ordinal) || (user != "*" && user.Contains('*', StringComparison.Ordinal)))
        {
            error = "'*' may only stand for the whole user part or the whole pattern";
            return false;
        }
        if (user == "*")
        {
            if (!SubscriberUri.TryNormaliseHost(host, out var normalisedHost, out error))
            {
                error = "the host " + error;
                return false;
            }
            pattern = new SubscriberPattern(text, scheme, null, normalisedHost);
            return true;
        }
        // A concrete subscriber: normalise it exactly as the subscriber's own URI will be.
        if (!SubscriberUri.TryParse((scheme ?? "xmpp") + ":" + rest, out var uri, out error))
        {
            return false;
        }
        // Without a scheme the user is compared as written (only the host is normalised).
        pattern = new SubscriberPattern(text, scheme, scheme is null ? user : uri.User, uri.Host);
        return true;
    }
}

/// <summary>A compiled account pattern: <c>*</c>, <c>*@domain</c> or one account.</summary>
internal sealed record AccountPattern(string Text, string? Domain, AccountId? Account)
{
    public bool Matches(AccountId account) =>
        Account is { } exact ? exact == account
        : Domain is null || string.Equals(Domain, account.Domain, StringComparison.Ordinal);

    public override string ToString() => Text;

    public static bool TryParse(string? text, out AccountPattern pattern, out string? error)
    {
        pattern = null!;
        if (string.IsNullOrEmpty(text))
        {
            error = "is empty (use \"*\" for every account)";
            return false;
        }
        if (text == "*")
        {
            pattern = new AccountPattern(text, null, null);
            error = null;
            return true;
        }
        if (text.StartsWith("*@", StringComparison.Ordinal))
        {
            var domain = text[2..];
            if (domain.Length == 0 || domain.Contains('*', StringComparison.Ordinal) || domain.Contains('@', StringComparison.Ordinal)
                || !AccountId.TryParse("x@" + domain, out var probe, out error))
            {
                error = "expected *@domain with a plain domain";
                return false;
            }
            pattern = new AccountPattern(text, probe.Domain, null);
            return true;
        }
        if (text.Contains('*', StringComparison.Ordinal))
        {
            error = "'*' may only stand for the whole local part (*@domain) or the whole pattern";
            return false;
        }
        if (!AccountId.TryParse(text, out var id, out error))
        {
            return false;
        }
        pattern = new AccountPattern(text, null, id);
        return true;
    }
}
