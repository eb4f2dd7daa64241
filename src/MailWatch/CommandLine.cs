using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.Xmpp.Client;

namespace Aggregators.MailWatch;

/// <summary>
/// Parses the command line into <see cref="MailWatchOptions"/>: <c>--name value</c> or
/// <c>--name=value</c>, flags without a value, every error naming the option. Passwords may
/// also come from the environment (<c>MAILWATCH_PASSWORD</c>, <c>MAILWATCH_XMPP_PASSWORD</c>, ...)
/// or a file (<c>--password-file</c>), so they need not appear in the process list.
/// </summary>
public static class CommandLine
{
    public const string Usage = """
        Usage: mailwatch --address USER@DOMAIN [options]

          --transport xmpp|sip        notification system (default xmpp)
          --mailbox NAME              mailbox to watch, repeatable (default INBOX; '/' between levels)
          --subtree                   also every mailbox below each one
          --heartbeat SECONDS         heartbeat asked of the notifier (default 60); STALE after two missed
          --password P | --password-file F   default password for IMAP, XMPP and SIP (or MAILWATCH_PASSWORD)
          --once                      print the current counts as JSON and exit
          --timeout SECONDS           how long --once waits (default 30)
          --verify-imap               when STALE, check the counts with IMAP STATUS
          --notify                    desktop notification (notify-send) on new mail
          --plain                     one line per change instead of the live table
          --log-file PATH             write diagnostics there
        XMPP:
          --service DOMAIN            the PNA's pubsub component (e.g. events.example.com); else discovered over IMAP
          --xmpp-server HOST[:PORT]   XMPP server (default the JID's domain, port 5222)
          --jid JID                   XMPP account (default the address)
          --xmpp-password P           (or MAILWATCH_XMPP_PASSWORD)
          --xmpp-tls required|when-offered|never   STARTTLS (default when-offered)
          --allow-plain               allow SASL PLAIN without TLS (test servers)
          --resource NAME             XMPP resource (default mailwatch-<host>)
        SIP:
          --pna SIP-URI               the notifier (sip:host[:port][;transport=udp|tcp]); else discovered over IMAP
          --sip-user NAME             digest user name (default the address's local part)
          --sip-password P            (or MAILWATCH_SIP_PASSWORD)
          --package mail-event|message-summary   (default mail-event)
          --sip-listen ADDR[:PORT]    local SIP address (default 127.0.0.1, any port)
        IMAP (discovery, --verify-imap):
          --imap HOST[:PORT]          IMAP server (default the address's domain, 143)
          --imap-security none|starttls|tls   (default none)
          --imap-user NAME            (default the address)
          --imap-password P           (or MAILWATCH_IMAP_PASSWORD)

        Exit codes: 0 ok (--once: counts printed); 1 unexpected error; 2 bad options;
        3 connection, authentication or subscription failed; 4 --once timed out without counts.
        """;

    private static readonly HashSet<string> Flags = new(StringComparer.Ordinal)
    {
        "subtree", "once", "verify-imap", "notify", "plain", "allow-plain", "help",
    };

    private static readonly HashSet<string> Valued = new(StringComparer.Ordinal)
    {
        "address", "transport", "mailbox", "heartbeat", "password", "password-file", "timeout", "log-file",
        "service", "xmpp-server", "jid", "xmpp-password", "xmpp-tls", "resource",
        "pna", "sip-user", "sip-password", "package", "sip-listen",
        "imap", "imap-security", "imap-user", "imap-password", "max-backoff",
    };

    /// <summary>Returns null when --help was asked for. Throws <see cref="OptionsException"/>.</summary>
    public static MailWatchOptions? Parse(IReadOnlyList<string> args, Func<string, string?>? environment = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        environment ??= Environment.GetEnvironmentVariable;
        var values = new Dictionary<string, List<string>>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i++)
        {
            var arg = args[i];
            if (!arg.StartsWith("--", StringComparison.Ordinal) || arg.Length == 2)
            {
                throw new OptionsException($"unexpected argument '{arg}' (options start with --)");
            }
            var name = arg[2..];
            string? value = null;
            var eq = name.IndexOf('=', StringComparison.Ordinal);
            if (eq >= 0)
            {
                value = name[(eq + 1)..];
                name = name[..eq];
            }
            if (Flags.Contains(name))
            {
                if (value is not null)
                {
                    throw new OptionsException($"--{name} takes no value");
                }
                value = "true";
            }
            else if (Valued.Contains(name))
            {
                if (value is null)
                {
                    if (i + 1 >= args.Count)
                    {
                        throw new OptionsException($"--{name} needs a value");
                    }
                    value = args[++i];
                }
            }
            else
            {
                throw new OptionsException($"unknown option --{name} (see --help)");
            }
            if (!values.TryGetValue(name, out var list))
            {
                values[name] = list = [];
            }
            else if (name != "mailbox")
            {
                throw new OptionsException($"--{name} given twice");
            }
            list.Add(value);
        }
        if (values.ContainsKey("help"))
        {
            return null;
        }
        string? One(string name) => values.TryGetValue(name, out var v) ? v[0] : null;

        var address = One("address") ?? throw new OptionsException("--address is required (the mail address to watch)");
        if (!AccountId.TryParse(address, out var account, out var why) || !address.Contains('@', StringComparison.Ordinal))
        {
            throw new OptionsException($"--address '{address}' is not a mail address ({why ?? "no @domain"})");
        }
        var mailboxes = new List<string>();
        foreach (var m in values.GetValueOrDefault("mailbox") ?? ["INBOX"])
        {
            if (!MailboxPath.TryParse(m, out var path, out var error) || path.IsRoot)
            {
                throw new OptionsException($"--mailbox '{m}': {error ?? "empty"}");
            }
            mailboxes.Add(path.ToString());
        }
        var password = One("password") ?? ReadPasswordFile(One("password-file")) ?? environment("MAILWATCH_PASSWORD");
        return new MailWatchOptions
        {
            Address = account.ToString(),
            Transport = One("transport") switch
            {
                null or "xmpp" => WatchTransport.Xmpp,
                "sip" => WatchTransport.Sip,
                var t => throw new OptionsException($"--transport '{t}': xmpp or sip"),
            },
            Mailboxes = mailboxes.Distinct(StringComparer.Ordinal).ToList(),
            Subtree = values.ContainsKey("subtree"),
            Heartbeat = Seconds("heartbeat", One("heartbeat"), 60, 1, 86_400),
            Timeout = Seconds("timeout", One("timeout"), 30, 1, 3600),
            MaxBackoff = Seconds("max-backoff", One("max-backoff"), 60, 1, 3600),
            Password = password,
            Once = values.ContainsKey("once"),
            VerifyImap = values.ContainsKey("verify-imap"),
            Notify = values.ContainsKey("notify"),
            Plain = values.ContainsKey("plain"),
            LogFile = One("log-file"),
            Service = One("service"),
            Jid = One("jid"),
            XmppPassword = One("xmpp-password") ?? environment("MAILWATCH_XMPP_PASSWORD"),
            XmppServer = One("xmpp-server") is { } xs ? ParseHostPort("xmpp-server", xs, 5222) : null,
            XmppTls = One("xmpp-tls") switch
            {
                null or "when-offered" => ClientTlsMode.WhenOffered,
                "required" => ClientTlsMode.Required,
                "never" => ClientTlsMode.Never,
                var t => throw new OptionsException($"--xmpp-tls '{t}': required, when-offered or never"),
            },
            AllowPlainWithoutTls = values.ContainsKey("allow-plain"),
            Resource = One("resource"),
            Pna = One("pna"),
            SipUser = One("sip-user"),
            SipPassword = One("sip-password") ?? environment("MAILWATCH_SIP_PASSWORD"),
            SipPackage = One("package") switch
            {
                null or "mail-event" => SipPackage.MailEvent,
                "message-summary" => SipPackage.MessageSummary,
                var p => throw new OptionsException($"--package '{p}': mail-event or message-summary"),
            },
            SipListen = One("sip-listen") is { } sl ? ParseHostPort("sip-listen", sl, 0) : new HostPort("127.0.0.1", 0),
            Imap = One("imap") is { } imap ? ParseHostPort("imap", imap, 143) : null,
            ImapSecurity = One("imap-security") switch
            {
                null or "none" => ImapSecurity.None,
                "starttls" => ImapSecurity.StartTls,
                "tls" => ImapSecurity.Tls,
                var s => throw new OptionsException($"--imap-security '{s}': none, starttls or tls"),
            },
            ImapUser = One("imap-user"),
            ImapPassword = One("imap-password") ?? environment("MAILWATCH_IMAP_PASSWORD"),
        };
    }

    private static string? ReadPasswordFile(string? path)
    {
        if (path is null)
        {
            return null;
        }
        try
        {
            return File.ReadAllText(path).TrimEnd('\r', '\n');
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new OptionsException($"--password-file '{path}': {ex.Message}", ex);
        }
    }

    private static TimeSpan Seconds(string name, string? text, int fallback, int min, int max)
    {
        if (text is null)
        {
            return TimeSpan.FromSeconds(fallback);
        }
        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < min || n > max)
        {
            throw new OptionsException($"--{name} '{text}': whole seconds from {min} to {max}");
        }
        return TimeSpan.FromSeconds(n);
    }

    /// <summary><c>host</c>, <c>host:port</c>, <c>[v6]</c> or <c>[v6]:port</c>.</summary>
    public static HostPort ParseHostPort(string name, string text, int defaultPort)
    {
        ArgumentNullException.ThrowIfNull(text);
        string host;
        string? port = null;
        if (text.StartsWith('['))
        {
            var close = text.IndexOf(']', StringComparison.Ordinal);
            if (close < 0)
            {
                throw new OptionsException($"--{name} '{text}': missing ']'");
            }
            host = text[1..close];
            var rest = text[(close + 1)..];
            if (rest.Length > 0)
            {
                port = rest.StartsWith(':') ? rest[1..] : throw new OptionsException($"--{name} '{text}': text after ']'");
            }
        }
        else
        {
            var colon = text.LastIndexOf(':');
            host = colon < 0 ? text : text[..colon];
            port = colon < 0 ? null : text[(colon + 1)..];
        }
        if (host.Length == 0 || host.Any(c => char.IsWhiteSpace(c) || char.IsControl(c)))
        {
            throw new OptionsException($"--{name} '{text}': no host");
        }
        var number = defaultPort;
        if (port is not null && (!int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out number) || number is < 1 or > 65535))
        {
            throw new OptionsException($"--{name} '{text}': port must be 1 to 65535");
        }
        return new HostPort(host, number);
    }
}
