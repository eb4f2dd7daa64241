using Aggregators.ImapBridge.Imap;
using Aggregators.Xmpp.Client;

namespace Aggregators.MailWatch;

/// <summary>Which notification system MailWatch subscribes over.</summary>
public enum WatchTransport
{
    Xmpp,
    Sip,
}

/// <summary>The SIP event package to subscribe to (docs/sip.md).</summary>
public enum SipPackage
{
    /// <summary>This project's <c>mail-event</c>: counts per mailbox, subtree, heartbeats.</summary>
    MailEvent,

    /// <summary>RFC 3842 <c>message-summary</c>: one mailbox's lamp, no heartbeats (liveness by refresh).</summary>
    MessageSummary,
}

/// <summary>A host and port from the command line (<c>host[:port]</c>).</summary>
public readonly record struct HostPort(string Host, int Port)
{
    public override string ToString() => Host.Contains(':', StringComparison.Ordinal) ? $"[{Host}]:{Port}" : $"{Host}:{Port}";
}

/// <summary>Everything MailWatch is told (docs/mailwatch.md lists each option).</summary>
public sealed record MailWatchOptions
{
    /// <summary>The mail address (the account at the PNA, and the default login everywhere).</summary>
    public required string Address { get; init; }

    public string LocalPart => Address[..Address.IndexOf('@', StringComparison.Ordinal)];

    public string Domain => Address[(Address.IndexOf('@', StringComparison.Ordinal) + 1)..];

    public WatchTransport Transport { get; init; } = WatchTransport.Xmpp;

    /// <summary>Mailboxes to watch, notification-side paths (<c>/</c> separator); INBOX by default.</summary>
    public IReadOnlyList<string> Mailboxes { get; init; } = ["INBOX"];

    /// <summary>Each mailbox with everything below it.</summary>
    public bool Subtree { get; init; }

    /// <summary>Heartbeat interval asked of the notifier; STALE after two without news.</summary>
    public TimeSpan Heartbeat { get; init; } = TimeSpan.FromSeconds(60);

    public string? Password { get; init; }

    // XMPP
    /// <summary>The PNA's pubsub component domain (<c>events.example.com</c>); null: discovered over IMAP.</summary>
    public string? Service { get; init; }

    public string? Jid { get; init; }

    public string? XmppPassword { get; init; }

    public HostPort? XmppServer { get; init; }

    public ClientTlsMode XmppTls { get; init; } = ClientTlsMode.WhenOffered;

    public bool AllowPlainWithoutTls { get; init; }

    public string? Resource { get; init; }

    // SIP
    /// <summary>The notifier's SIP URI (<c>sip:pna.example.com:5060;transport=tcp</c>); null: discovered over IMAP.</summary>
    public string? Pna { get; init; }

    public string? SipUser { get; init; }

    public string? SipPassword { get; init; }

    public SipPackage SipPackage { get; init; } = SipPackage.MailEvent;

    /// <summary>Local address the SIP transport binds (NOTIFYs come back here).</summary>
    public HostPort SipListen { get; init; } = new("127.0.0.1", 0);

    // IMAP (discovery and --verify-imap)
    public HostPort? Imap { get; init; }

    public ImapSecurity ImapSecurity { get; init; } = ImapSecurity.None;

    public string? ImapUser { get; init; }

    public string? ImapPassword { get; init; }

    /// <summary>When STALE, read the counts with IMAP STATUS and show them beside the notified ones.</summary>
    public bool VerifyImap { get; init; }

    // Modes
    /// <summary>Print the current counts as JSON and exit.</summary>
    public bool Once { get; init; }

    /// <summary>How long <see cref="Once"/> waits for counts.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Desktop notification (notify-send) on new mail.</summary>
    public bool Notify { get; init; }

    /// <summary>Plain line output instead of the live table (also when stdout is not a terminal).</summary>
    public bool Plain { get; init; }

    public string? LogFile { get; init; }

    /// <summary>Longest wait between re-subscribe or reconnect attempts (backoff doubles from 1 s up to this).</summary>
    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(60);

    public string EffectiveXmppPassword => XmppPassword ?? Password ?? throw new OptionsException("no XMPP password: --xmpp-password, --password or MAILWATCH_PASSWORD");

    public string EffectiveSipPassword => SipPassword ?? Password ?? throw new OptionsException("no SIP password: --sip-password, --password or MAILWATCH_PASSWORD");

    public string EffectiveImapPassword => ImapPassword ?? Password ?? throw new OptionsException("no IMAP password: --imap-password, --password or MAILWATCH_PASSWORD");

    public HostPort EffectiveImap => Imap ?? new HostPort(Domain, ImapSecurity == ImapSecurity.Tls ? 993 : 143);
}

/// <summary>A usage or configuration error (exit code 2).</summary>
public sealed class OptionsException : Exception
{
    public OptionsException(string message) : base(message) { }

    public OptionsException() : base("invalid options") { }

    public OptionsException(string message, Exception inner) : base(message, inner) { }
}
