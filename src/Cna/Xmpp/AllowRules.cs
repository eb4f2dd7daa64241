using Aggregators.EventModel;
using Aggregators.Xmpp;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// Authorization of local users at the CNA (docs/cna-xmpp.md §Authorization): the requester must
/// be a user of a local domain (its server authenticated it; the CNA sees its bare JID), and,
/// when rules are configured, some rule must allow it the account. No rules: every local user
/// may watch every account its domain routes to (the PNA's own policy still applies upstream).
/// </summary>
public sealed class AllowRules
{
    private readonly HashSet<string> _localDomains;
    private readonly (string User, string Account)[] _rules;

    public AllowRules(IEnumerable<string> localDomains, IEnumerable<CnaXmppAllowRule> rules)
    {
        ArgumentNullException.ThrowIfNull(localDomains);
        ArgumentNullException.ThrowIfNull(rules);
        _localDomains = new HashSet<string>(localDomains, StringComparer.OrdinalIgnoreCase);
        _rules = [.. rules.Select(r => (r.User.Trim(), r.Account.Trim()))];
    }

    /// <summary>Is <paramref name="requester"/> a user of a local domain (not a server, not a remote user)?</summary>
    public bool IsLocalUser(Jid requester)
    {
        ArgumentNullException.ThrowIfNull(requester);
        return requester.Local is not null && _localDomains.Contains(requester.Domain);
    }

    /// <summary>May the local <paramref name="requester"/> watch <paramref name="account"/>?</summary>
    public bool Allows(Jid requester, AccountId account)
    {
        ArgumentNullException.ThrowIfNull(requester);
        if (!IsLocalUser(requester))
        {
            return false;
        }
        if (_rules.Length == 0)
        {
            return true;
        }
        var user = requester.Bare.ToString();
        foreach (var (u, a) in _rules)
        {
            if (Matches(u, user) && Matches(a, account.Value))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>Is <paramref name="text"/> a valid rule side: <c>*</c>, <c>*@domain</c> or <c>local@domain</c>?</summary>
    public static bool IsPattern(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return false;
        }
        text = text.Trim();
        if (text == "*")
        {
            return true;
        }
        var at = text.LastIndexOf('@');
        return at > 0 && at < text.Length - 1 && text.IndexOf('*', StringComparison.Ordinal) is -1 or 0 && (text[0] != '*' || at == 1);
    }

    private static bool Matches(string pattern, string value)
    {
        if (pattern == "*")
        {
            return true;
        }
        if (pattern.StartsWith("*@", StringComparison.Ordinal))
        {
            var at = value.LastIndexOf('@');
            return at >= 0 && string.Equals(value[(at + 1)..], pattern[2..], StringComparison.OrdinalIgnoreCase);
        }
        return string.Equals(pattern, value, StringComparison.OrdinalIgnoreCase);
    }
}
