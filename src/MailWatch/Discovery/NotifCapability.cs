using System.Globalization;

namespace Aggregators.MailWatch.Discovery;

/// <summary>
/// One <c>NOTIF=&lt;uri&gt;</c> IMAP capability atom (docs/discovery.md): where the mail server's
/// notification aggregator takes subscriptions. Two forms:
/// <c>NOTIF=sip:&lt;host&gt;[:&lt;port&gt;][;transport=udp|tcp|tls]</c> and
/// <c>NOTIF=xmpp:&lt;component domain&gt;</c>. Pure parsing, no I/O.
/// </summary>
public sealed record NotifCapability
{
    public const string Prefix = "NOTIF=";

    public required WatchTransport Transport { get; init; }

    /// <summary>SIP host or XMPP component domain.</summary>
    public required string Host { get; init; }

    /// <summary>SIP port (default 5060, 5061 for tls); unused for XMPP.</summary>
    public int Port { get; init; }

    /// <summary>SIP transport parameter, lower case (udp, tcp, tls); unused for XMPP.</summary>
    public string SipTransport { get; init; } = "udp";

    /// <summary>The SIP URI to pass as <c>--pna</c>.</summary>
    public string SipUri => $"sip:{(Host.Contains(':', StringComparison.Ordinal) ? "[" + Host + "]" : Host)}:{Port};transport={SipTransport}";

    /// <summary>Reads one capability atom; false (with why) when it is not a well-formed NOTIF= atom.</summary>
    public static bool TryParse(string atom, out NotifCapability? capability, out string? error)
    {
        capability = null;
        error = null;
        if (atom is null || !atom.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
        {
            error = "not a NOTIF= capability";
            return false;
        }
        var uri = atom[Prefix.Length..];
        if (uri.StartsWith("xmpp:", StringComparison.OrdinalIgnoreCase))
        {
            var domain = uri[5..];
            if (!Xmpp.Jid.TryParse(domain, out var jid) || jid.Local is not null || !jid.IsBare)
            {
                error = $"'{domain}' is not an XMPP domain";
                return false;
            }
            capability = new NotifCapability { Transport = WatchTransport.Xmpp, Host = jid.Domain };
            return true;
        }
        if (uri.StartsWith("sip:", StringComparison.OrdinalIgnoreCase))
        {
            return TryParseSip(uri[4..], out capability, out error);
        }
        error = $"unknown scheme in '{uri}' (sip: or xmpp:)";
        return false;
    }

    private static bool TryParseSip(string rest, out NotifCapability? capability, out string? error)
    {
        capability = null;
        error = null;
        var transport = "udp";
        var semicolon = rest.IndexOf(';', StringComparison.Ordinal);
        if (semicolon >= 0)
        {
            var parameter = rest[(semicolon + 1)..];
            rest = rest[..semicolon];
            if (!parameter.StartsWith("transport=", StringComparison.OrdinalIgnoreCase))
            {
                error = $"unknown SIP URI parameter '{parameter}' (only transport=)";
                return false;
            }
            transport = parameter[10..].ToLowerInvariant();
            if (transport is not ("udp" or "tcp" or "tls"))
            {
                error = $"transport '{transport}' is not udp, tcp or tls";
                return false;
            }
        }
        string host;
        string? port = null;
        if (rest.StartsWith('['))
        {
            var close = rest.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                error = "missing ']' in an IPv6 host";
                return false;
            }
            host = rest[1..close];
            if (rest.Length > close + 1)
            {
                if (rest[close + 1] != ':')
                {
                    error = "text after the IPv6 host";
                    return false;
                }
                port = rest[(close + 2)..];
            }
        }
        else
        {
            var colon = rest.IndexOf(':', StringComparison.Ordinal);
            host = colon < 0 ? rest : rest[..colon];
            port = colon < 0 ? null : rest[(colon + 1)..];
        }
        if (host.Length == 0 || host.Contains('@', StringComparison.Ordinal) || host.Any(c => c <= ' ' || c > '~'))
        {
            error = $"'{host}' is not a SIP host";
            return false;
        }
        var number = transport == "tls" ? 5061 : 5060;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            error = $"port '{port}' is not 1 to 65535";
            return false;
        }
        capability = new NotifCapability { Transport = WatchTransport.Sip, Host = host, Port = number, SipTransport = transport };
        return true;
    }

    /// <summary>The well-formed NOTIF= atoms among a server's capabilities, in their order; malformed ones are reported.</summary>
    public static IReadOnlyList<NotifCapability> FromCapabilities(IEnumerable<string> capabilities, Action<string>? malformed = null)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        var found = new List<NotifCapability>();
        foreach (var atom in capabilities)
        {
            if (!atom.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            if (TryParse(atom, out var c, out var error))
            {
                found.Add(c!);
            }
            else
            {
                malformed?.Invoke($"{atom}: {error}");
            }
        }
        return found;
    }
}
