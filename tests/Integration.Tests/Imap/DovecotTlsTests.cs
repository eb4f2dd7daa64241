using System.Security.Authentication;
using Aggregators.EventModel;
using Aggregators.ImapBridge;
using Aggregators.ImapBridge.Imap;
using Aggregators.ImapBridge.Watching;
using Aggregators.Integration.Tests.ImapBridge;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>
/// TLS against a real Dovecot 2.3 with a throwaway certificate made by the test: implicit TLS on
/// the imaps listener and STARTTLS on the plain one (RFC 8314 §3.2, RFC 3501 §6.2.1), trusted
/// through a CA file or a pinned certificate; an unknown CA, a wrong name and a wrong pin are
/// refused. The watcher over TLS logs in with the master user's LOGIN form (user*admin).
/// </summary>
public sealed class DovecotTlsTests(DovecotTlsFixture fixture) : IClassFixture<DovecotTlsFixture>
{
    private DovecotServer Dovecot => fixture.Server;
    private TestCertificates Certificates => fixture.Server.Certificates!;

    private ImapClientOptions Options(ImapSecurity security, string? caFile = null, string? pin = null, string targetHost = TestCertificates.ServerName) => new()
    {
        Port = security == ImapSecurity.Tls ? Dovecot.TlsPort : Dovecot.Port,
        Security = security,
        TlsTargetHost = targetHost,
        CertificateValidation = ImapTlsTrust.Create(caFile, pin, allowInvalid: false),
        CheckCertificateRevocation = false,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        CommandTimeout = TimeSpan.FromSeconds(20),
    };

    [Fact]
    public async Task Implicit_tls_trusted_through_the_ca_file()
    {
        await using var client = await ImapClient.ConnectAsync(Options(ImapSecurity.Tls, caFile: Certificates.CaFile));
        Assert.Equal(Dovecot.Greeting, client.Greeting!.Text);
        Assert.False(client.Supports("STARTTLS")); // already TLS
        await client.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
        Assert.True(client.Supports("NOTIFY"));
        Assert.NotNull((await client.StatusAsync("INBOX")).UidValidity);
        await client.LogoutAsync();
    }

    [Fact]
    public async Task Starttls_trusted_through_a_pinned_certificate()
    {
        var pin = ImapTlsTrust.Fingerprint(Certificates.Server);
        await using var client = await ImapClient.ConnectAsync(Options(ImapSecurity.StartTls, pin: pin));
        // Capabilities are read again after STARTTLS (RFC 3501 §6.2.1): LOGINDISABLED is gone, no STARTTLS.
        Assert.False(client.Supports("STARTTLS"));
        await client.AuthenticatePlainAsync(DovecotServer.Master.User, DovecotServer.Master.Password, DovecotServer.Juliet.User);
        Assert.Equal(ImapConnectionState.Authenticated, client.State);
    }

    [Fact]
    public async Task Pin_in_openssl_colon_form_is_accepted()
    {
        var hex = ImapTlsTrust.Fingerprint(Certificates.Server).ToUpperInvariant();
        var colons = string.Join(':', Enumerable.Range(0, 32).Select(i => hex.Substring(i * 2, 2)));
        await using var client = await ImapClient.ConnectAsync(Options(ImapSecurity.Tls, pin: colons));
        await client.LoginAsync(DovecotServer.Romeo.User, DovecotServer.Romeo.Password);
    }

    [Fact]
    public async Task Unknown_ca_wrong_name_and_wrong_pin_are_refused()
    {
        var other = TestCertificates.Create(Path.Combine(Dovecot.Directory, "other-ca"), "Some other CA");
        await AssertRefusedAsync(Options(ImapSecurity.Tls, caFile: other.CaFile));
        await AssertRefusedAsync(Options(ImapSecurity.StartTls, caFile: other.CaFile));
        await AssertRefusedAsync(Options(ImapSecurity.Tls, caFile: Certificates.CaFile, targetHost: "imap.example.org"));
        await AssertRefusedAsync(Options(ImapSecurity.Tls, pin: ImapTlsTrust.Fingerprint(other.Server)));
        // Nothing configured: the system trust store, which does not know the throwaway CA.
        await AssertRefusedAsync(Options(ImapSecurity.Tls));
    }

    private static async Task AssertRefusedAsync(ImapClientOptions options)
    {
        var e = await Assert.ThrowsAnyAsync<Exception>(() => ImapClient.ConnectAsync(options));
        var chain = string.Join(" <- ", Flatten(e).Select(x => x.GetType().Name + ": " + x.Message));
        Assert.True(Flatten(e).Any(x => x is AuthenticationException), "expected a TLS authentication failure, got " + chain);
    }

    private static IEnumerable<Exception> Flatten(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            yield return x;
        }
    }

    [Fact]
    public async Task Watcher_over_implicit_tls_with_master_login_separator_reports_new_mail()
    {
        var user = Dovecot.NewUser();
        await Dovecot.DeliverAsync(user.User, "first");
        await using var harness = new WatcherHarness(Dovecot, (user.User, null!), WatchMode.Auto, configure: o =>
        {
            o.Port = Dovecot.TlsPort;
            o.Security = ImapSecurity.Tls;
            o.TlsTargetHost = TestCertificates.ServerName;
            o.TlsCaFile = Certificates.CaFile;
            // Dovecot's master user LOGIN form: "LOGIN user*admin admin-password" (auth_master_user_separator = *).
            o.MasterUser = new MasterUserOptions { User = DovecotServer.Master.User, Password = DovecotServer.Master.Password, Method = MasterLoginMethod.LoginSeparator };
        });
        await harness.StartAsync();
        await Dovecot.DeliverAsync(user.User, "second");
        var events = await harness.Sink.WaitAsync(es => es.Any(e => e.Type == MailEventType.MessageNew && e.Totals?.Messages == 2), what: "MessageNew over TLS");
        var e = events.Last(e => e.Type == MailEventType.MessageNew);
        Assert.Equal(MailboxPath.Inbox, e.Mailbox);
        Assert.Equal(AccountId.Parse(user.User), e.Account);
    }

    [Fact]
    public async Task Watcher_over_starttls_with_a_pinned_certificate()
    {
        var user = Dovecot.NewUser();
        await using var harness = new WatcherHarness(Dovecot, user, WatchMode.Auto, configure: o =>
        {
            o.Security = ImapSecurity.StartTls;
            o.TlsTargetHost = TestCertificates.ServerName;
            o.TlsPinnedCertificate = ImapTlsTrust.Fingerprint(Certificates.Server);
        });
        await harness.StartAsync();
        await Dovecot.DeliverAsync(user.User, "hello");
        await harness.Sink.WaitAsync(es => es.Any(e => e.Type == MailEventType.MessageNew), what: "MessageNew over STARTTLS");
    }

    [Fact]
    public void Bridge_options_refuse_a_bad_pin_and_a_missing_ca_file()
    {
        var options = new BridgeOptions
        {
            Enabled = true,
            Servers =
            [
                new ImapServerOptions { Name = "a", Security = ImapSecurity.Tls, TlsPinnedCertificate = "abc", Accounts = [new AccountOptions { Login = "u", Password = "p" }] },
                new ImapServerOptions { Name = "b", Security = ImapSecurity.Tls, TlsCaFile = "/nonexistent/ca.pem", Accounts = [new AccountOptions { Login = "u", Password = "p" }] },
            ],
        };
        var errors = options.Validate();
        Assert.Contains(errors, e => e.Contains("TlsPinnedCertificate", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("TlsCaFile", StringComparison.Ordinal));
    }
}
