using System.Diagnostics.CodeAnalysis;
using Aggregators.EventModel;
using Aggregators.Xmpp;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// How a local client names a remote account at the CNA, and where the CNA finds it upstream
/// (docs/cna-xmpp.md §Addressing). The account <c>juliet@example.com</c> is the CNA JID
/// <c>juliet\40example.com@events.example.net</c> (its address as a localpart, escaped per
/// XEP-0106); node names are the PNA's (<c>mail_events</c>, <c>mail_events/INBOX</c>). The
/// account's domain picks the route (<c>example.com</c> → <c>events.example.com</c>), where the
/// PNA serves it as <c>juliet@events.example.com</c> (docs/xmpp.md). Both escape with
/// <see cref="JidEscaping"/>, so the CNA and the PNA always agree on a local part.
/// </summary>
public sealed class RemoteAccounts
{
    private readonly Dictionary<string, string> _serviceByMailDomain;
    private readonly Dictionary<string, string> _mailDomainByService;

    public RemoteAccounts(Jid componentDomain, IReadOnlyDictionary<string, string> routes)
    {
        ArgumentNullException.ThrowIfNull(componentDomain);
        ArgumentNullException.ThrowIfNull(routes);
        Domain = componentDomain;
        _serviceByMailDomain = new(StringComparer.OrdinalIgnoreCase);
        _mailDomainByService = new(StringComparer.OrdinalIgnoreCase);
        foreach (var (mailDomain, service) in routes)
        {
            var s = Jid.Parse(service).Domain;
            _serviceByMailDomain[mailDomain] = s;
            _mailDomainByService[s] = mailDomain.ToLowerInvariant();
        }
    }

    /// <summary>The CNA component's own domain.</summary>
    public Jid Domain { get; }

    /// <summary>The upstream pubsub services (one per route).</summary>
    public IEnumerable<Jid> Services => _mailDomainByService.Keys.Select(Jid.Parse);

    /// <summary>Is <paramref name="jid"/> at one of the routed upstream services?</summary>
    public bool IsUpstream(Jid jid) => _mailDomainByService.ContainsKey(jid.Domain);

    /// <summary>The CNA JID of a remote account: <c>juliet\40example.com@events.example.net</c>.</summary>
    public Jid LocalJidOf(AccountId account) => Jid.Create(JidEscaping.Escape(account.Value), Domain.Domain);

    /// <summary>The account a CNA JID names; false when it names none or its domain is not routed.</summary>
    public bool TryAccountOf(Jid localJid, out AccountId account)
    {
        ArgumentNullException.ThrowIfNull(localJid);
        account = default;
        return localJid.Local is not null && localJid.Resource is null && localJid.Domain == Domain.Domain
            && JidEscaping.Unescape(localJid.Local) is var text && text.Contains('@', StringComparison.Ordinal)
            && AccountId.TryParse(text, out account, out _) && account.Domain is { } d && _serviceByMailDomain.ContainsKey(d);
    }

    /// <summary>The PNA's JID for the account: <c>juliet@events.example.com</c> (local part XEP-0106-escaped, as the PNA does); false when there is no route.</summary>
    public bool TryUpstreamOf(AccountId account, [NotNullWhen(true)] out Jid? service)
    {
        service = null;
        if (account.Domain is not { } d || !_serviceByMailDomain.TryGetValue(d, out var serviceDomain))
        {
            return false;
        }
        try
        {
            // The PNA escapes a local part a JID cannot carry the same way (XEP-0106: o'brien → o\27brien).
            service = Jid.Create(JidEscaping.Escape(account.LocalPart), serviceDomain);
            return true;
        }
        catch (JidFormatException)
        {
            return false;
        }
    }

    /// <summary>The account an upstream account JID stands for (<c>juliet@events.example.com</c> → <c>juliet@example.com</c>).</summary>
    public bool TryAccountOfUpstream(Jid upstream, out AccountId account)
    {
        ArgumentNullException.ThrowIfNull(upstream);
        account = default;
        return upstream.Local is not null && _mailDomainByService.TryGetValue(upstream.Domain, out var mailDomain)
            && AccountId.TryParse(JidEscaping.Unescape(upstream.Local) + "@" + mailDomain, out account, out _);
    }
}
