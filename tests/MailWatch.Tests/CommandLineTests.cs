using Aggregators.ImapBridge.Imap;
using Aggregators.Xmpp.Client;

namespace Aggregators.MailWatch.Tests;

public sealed class CommandLineTests
{
    private static MailWatchOptions Parse(params string[] args) => CommandLine.Parse(args, _ => null)!;

    [Fact]
    public void Defaults_watch_inbox_over_xmpp_with_a_minute_heartbeat()
    {
        var o = Parse("--address", "Juliet@Example.COM");
        Assert.Equal("Juliet@example.com", o.Address); // the domain is lower-cased, the local part kept (docs/events.md)
        Assert.Equal(WatchTransport.Xmpp, o.Transport);
        Assert.Equal(["INBOX"], o.Mailboxes);
        Assert.Equal(TimeSpan.FromSeconds(60), o.Heartbeat);
        Assert.Equal(ClientTlsMode.WhenOffered, o.XmppTls);
        Assert.Equal(new HostPort("example.com", 143), o.EffectiveImap);
    }

    [Fact]
    public void Every_option_is_read()
    {
        var o = Parse("--address=juliet@example.com", "--transport", "sip", "--mailbox", "inbox", "--mailbox", "Lists/ietf", "--subtree",
            "--heartbeat", "10", "--password", "pw", "--once", "--timeout", "5", "--verify-imap", "--notify", "--plain",
            "--service", "events.example.com", "--xmpp-server", "127.0.0.1:15222", "--xmpp-tls", "never", "--allow-plain",
            "--pna", "sip:127.0.0.1:5060;transport=tcp", "--sip-user", "jules", "--package", "message-summary", "--sip-listen", "[::1]:5070",
            "--imap", "127.0.0.1:10143", "--imap-security", "starttls", "--imap-user", "juliet");
        Assert.Equal(WatchTransport.Sip, o.Transport);
        Assert.Equal(["INBOX", "Lists/ietf"], o.Mailboxes);
        Assert.True(o.Subtree && o.Once && o.VerifyImap && o.Notify && o.Plain && o.AllowPlainWithoutTls);
        Assert.Equal(TimeSpan.FromSeconds(10), o.Heartbeat);
        Assert.Equal(new HostPort("127.0.0.1", 15222), o.XmppServer);
        Assert.Equal(ClientTlsMode.Never, o.XmppTls);
        Assert.Equal(SipPackage.MessageSummary, o.SipPackage);
        Assert.Equal(new HostPort("::1", 5070), o.SipListen);
        Assert.Equal(ImapSecurity.StartTls, o.ImapSecurity);
        Assert.Equal("pw", o.EffectiveSipPassword);
    }

    [Fact]
    public void Passwords_come_from_the_environment_per_protocol()
    {
        var env = new Dictionary<string, string> { ["MAILWATCH_PASSWORD"] = "all", ["MAILWATCH_XMPP_PASSWORD"] = "x" };
        var o = CommandLine.Parse(["--address", "a@b.c"], k => env.GetValueOrDefault(k))!;
        Assert.Equal("x", o.EffectiveXmppPassword);
        Assert.Equal("all", o.EffectiveImapPassword);
        Assert.Throws<OptionsException>(() => Parse("--address", "a@b.c").EffectiveSipPassword);
    }

    [Theory]
    [InlineData("--address is required")]
    [InlineData("not a mail address", "--address", "juliet")]
    [InlineData("unknown option --frobnicate", "--address", "a@b.c", "--frobnicate")]
    [InlineData("--heartbeat '0'", "--address", "a@b.c", "--heartbeat", "0")]
    [InlineData("--transport 'irc'", "--address", "a@b.c", "--transport", "irc")]
    [InlineData("--mailbox ''", "--address", "a@b.c", "--mailbox", "")]
    [InlineData("port must be", "--address", "a@b.c", "--imap", "h:99999")]
    [InlineData("given twice", "--address", "a@b.c", "--address", "d@e.f")]
    [InlineData("takes no value", "--address", "a@b.c", "--once=yes")]
    [InlineData("needs a value", "--address")]
    [InlineData("unexpected argument", "juliet@example.com")]
    public void Errors_name_the_option(string expected, params string[] args)
    {
        var ex = Assert.Throws<OptionsException>(() => Parse(args));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Help_returns_null()
    {
        Assert.Null(CommandLine.Parse(["--help"], _ => null));
    }
}
