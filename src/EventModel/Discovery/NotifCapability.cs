using System.Globalization;

namespace Aggregators.EventModel.Discovery;

/// <summary>The transport a <see cref="NotifCapability"/> names.</summary>
public enum NotifScheme
{
    /// <summary>The PNA's SIP notifier (RFC 6665): subscribe to <c>sip:&lt;account&gt;</c> routed to Host[:Port].</summary>
    Sip,

    /// <summary>The PNA's XMPP publish-subscribe service (XEP-0060): the account's JID is <c>local@&lt;Host&gt;</c>.</summary>
    Xmpp,
}

/// <summary>
/// One IMAP CAPABILITY atom advertising where the PNA of this mail server takes subscriptions
/// (docs/discovery.md), one per transport:
/// <c>NOTIF=sip:&lt;host&gt;[:&lt;port&gt;][;transport=udp|tcp|tls]</c> and
/// <c>NOTIF=xmpp:&lt;component domain&gt;</c>. The format is fixed; anything else is refused
/// with a reason, never guessed at. A capability is an IMAP atom (RFC 3501 §9 <c>capability</c>),
/// so the host is a DNS name or an IPv4 address: an IPv6 literal would need "]", which an atom
/// cannot carry.
/// </summary>
public sealed record NotifCapability
{
    /// <summary>The capability name before the URI, compared case-insensitively (capabilities are, RFC 3501 §6.1.1).</summary>
    public const string Prefix = "NOTIF=";

    private NotifCapability(NotifScheme scheme, string host, int? port, string? sipTransport)
    {
        Scheme = scheme;
        Host = host;
        Port = port;
        SipTransport = sipTransport;
    }

    public NotifScheme Scheme { get; }

    /// <summary>SIP: where the notifier listens; XMPP: the component (pubsub service) domain. Lower case.</summary>
    public string Host { get; }

    /// <summary>SIP only; null: the default for the transport (5060, 5061 for tls; RFC 3261 §19.1.2) or DNS SRV.</summary>
    public int? Port { get; }

    /// <summary>SIP only: "udp", "tcp" or "tls"; null when not given (RFC 3263 selection applies).</summary>
    public string? SipTransport { get; }

    public static NotifCapability Sip(string host, int? port = null, string? transport = null) =>
        Parse(Format(NotifScheme.Sip, host, port, transport));

    public static NotifCapability Xmpp(string componentDomain) => Parse(Format(NotifScheme.Xmpp, componentDomain, null, null));

    public static NotifCapability Parse(string capability) =>
        TryParse(capability, out var parsed, out var error) ? parsed : throw new FormatException(error);

    /// <summary>Parses one capability atom such as <c>NOTIF=sip:pna.example.com:5060;transport=udp</c>.</summary>
    public static bool TryParse(string? capability, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out NotifCapability? parsed, out string? error)
    {
        parsed = null;
        if (capability is null || !capability.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = $"not a {Prefix} capability";
            return false;
        }
        var uri = capability[Prefix.Length..];
        var colon = uri.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            error = $"'{uri}' has no scheme (sip: or xmpp:)";
            return false;
        }
        var scheme = uri[..colon];
        var rest = uri[(colon + 1)..];
        if (scheme.Equals("xmpp", StringComparison.OrdinalIgnoreCase))
        {
            // A bare domain: the pubsub service (XEP-0060 §4.6); no node, user part, port or query.
            if (!IsHost(rest, out error))
            {
                error = $"xmpp: {error}";
                return false;
            }
            parsed = new NotifCapability(NotifScheme.Xmpp, rest.ToLowerInvariant(), null, null);
            return true;
        }
        if (!scheme.Equals("sip", StringComparison.OrdinalIgnoreCase))
        {
            error = $"scheme '{scheme}' is neither sip nor xmpp";
            return false;
        }
        string? transport = null;
        var semicolon = rest.IndexOf(';', StringComparison.Ordinal);
        if (semicolon >= 0)
        {
            // RFC 3261 §19.1.1 uri-parameters; only transport= is part of this format.
            var parameter = rest[(semicolon + 1)..];
            rest = rest[..semicolon];
            const string name = "transport=";
            if (!parameter.StartsWith(name, StringComparison.OrdinalIgnoreCase))
            {
                error = $"sip: parameter '{parameter}' is not transport=udp|tcp|tls";
                return false;
            }
            transport = parameter[name.Length..].ToLowerInvariant();
            if (transport is not ("udp" or "tcp" or "tls"))
            {
                error = $"sip: transport '{parameter[name.Length..]}' is not udp, tcp or tls";
                return false;
            }
        }
        int? port = null;
        var portColon = rest.IndexOf(':', StringComparison.Ordinal);
        if (portColon >= 0)
        {
            var digits = rest[(portColon + 1)..];
            if (digits.Length is 0 or > 5 || !digits.All(char.IsAsciiDigit) ||
                int.Parse(digits, CultureInfo.InvariantCulture) is < 1 or > 65535)
            {
                error = $"sip: port '{digits}' is not 1 to 65535";
                return false;
            }
            port = int.Parse(digits, CultureInfo.InvariantCulture);
            rest = rest[..portColon];
        }
        if (rest.Contains('@', StringComparison.Ordinal))
        {
            error = "sip: names the PNA's host, not a user (the account is the request URI's user)";
            return false;
        }
        if (!IsHost(rest, out error))
        {
            error = $"sip: {error}";
            return false;
        }
        parsed = new NotifCapability(NotifScheme.Sip, rest.ToLowerInvariant(), port, transport);
        return true;
    }

    /// <summary>
    /// The <see cref="NotifCapability"/> atoms among a server's capabilities, in order, and the
    /// NOTIF= atoms that did not parse with their reasons (other capabilities are ignored).
    /// </summary>
    public static (IReadOnlyList<NotifCapability> Found, IReadOnlyList<string> Errors) FromCapabilities(IEnumerable<string> capabilities)
    {
        var found = new List<NotifCapability>();
        var errors = new List<string>();
        foreach (var c in capabilities)
        {
            if (!c.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (TryParse(c, out var parsed, out var error))
            {
                found.Add(parsed);
            }
            else
            {
                errors.Add($"{c}: {error}");
            }
        }
        return (found, errors);
    }

    /// <summary>The resource to subscribe to for <paramref name="account"/>: <c>sip:juliet@example.com</c> or the JID <c>juliet@events.example.com</c>.</summary>
    public string ResourceFor(AccountId account) => Scheme == NotifScheme.Sip
        ? $"sip:{account.Value}"
        : $"{account.LocalPart}@{Host}";

    /// <summary>The URI after <c>NOTIF=</c>.</summary>
    public string Uri => Format(Scheme, Host, Port, SipTransport)[Prefix.Length..];

    /// <summary>The capability atom, e.g. <c>NOTIF=xmpp:events.example.com</c>.</summary>
    public override string ToString() => Format(Scheme, Host, Port, SipTransport);

    private static string Format(NotifScheme scheme, string host, int? port, string? transport) => scheme == NotifScheme.Xmpp
        ? $"{Prefix}xmpp:{host}"
        : $"{Prefix}sip:{host}{(port is { } p ? ":" + p.ToString(CultureInfo.InvariantCulture) : "")}{(transport is null ? "" : ";transport=" + transport)}";

    /// <summary>A DNS name (RFC 1123 §2.1 labels: letters, digits, inner hyphens; at most 253 characters) or a dotted IPv4 address.</summary>
    private static bool IsHost(string host, [System.Diagnostics.CodeAnalysis.NotNullWhen(false)] out string? error)
    {
        error = null;
        if (host.Length is 0 or > 253)
        {
            error = host.Length == 0 ? "the host is empty" : "the host is longer than 253 characters";
            return false;
        }
        foreach (var label in host.Split('.'))
        {
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-' ||
                !label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'))
            {
                error = $"'{host}' is not a DNS name or IPv4 address";
                return false;
            }
        }
        return true;
    }
}
