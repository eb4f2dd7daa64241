using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Authorization;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>
/// <see cref="ImapAclPolicy"/> against a real Dovecot 2.3: the master user "admin" (global ACL
/// lrwstipekxa, so it holds the admin right) logs in as the owner and reads GETACL; the owner's
/// grants to romeo live in a per-mailbox dovecot-acl file (Dovecot's vfile backend).
/// </summary>
public sealed class DovecotAclPolicyTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    private DovecotServer Dovecot => fixture.Server;

    private ImapAclPolicy Policy(int cacheSeconds) => new(new ImapAclOptions
    {
        Host = "127.0.0.1",
        Port = Dovecot.Port,
        Security = ImapSecurity.None,
        AdminUser = DovecotServer.Master.User,
        AdminPassword = DovecotServer.Master.Password,
        // Dovecot's users here are bare names (username_format=%n).
        Identity = "{user}",
        AccountUser = "{local}",
        CacheSeconds = cacheSeconds,
    }, new ImapServerAclSource(new ImapAclOptions
    {
        Host = "127.0.0.1",
        Port = Dovecot.Port,
        Security = ImapSecurity.None,
        AdminUser = DovecotServer.Master.User,
        AdminPassword = DovecotServer.Master.Password,
    }));

    private string InboxAclFile(string user) => Path.Combine(Dovecot.Directory, "mail", user, "Maildir", "dovecot-acl");

    [Fact]
    public async Task Grant_allows_and_revocation_denies_after_the_cache_expiry()
    {
        var owner = Dovecot.NewUser();
        await Dovecot.DeliverAsync(owner.User, "hello"); // creates the Maildir
        var account = AccountId.Parse(owner.User + "@example.com");
        var policy = Policy(cacheSeconds: 1);

        var before = await policy.AuthorizeAsync("sip:romeo@example.com", account, MailboxPath.Inbox, default);
        Assert.False(before.Allowed, before.Reason);

        // The owner grants romeo lookup and read on INBOX (RFC 4314 §2.1 l, r).
        await File.WriteAllTextAsync(InboxAclFile(owner.User), "user=romeo lr\n");
        await Task.Delay(1200); // let the deny above expire
        var granted = await policy.AuthorizeAsync("sip:romeo@example.com", account, MailboxPath.Inbox, default);
        Assert.True(granted.Allowed, granted.Reason);
        Assert.Contains("romeo lr", granted.Reason, StringComparison.Ordinal);
        var other = await policy.AuthorizeAsync("xmpp:tybalt@example.com", account, MailboxPath.Inbox, default);
        Assert.False(other.Allowed, other.Reason);

        // Lookup alone is not enough.
        await File.WriteAllTextAsync(InboxAclFile(owner.User), "user=romeo l\n");
        var cached = await policy.AuthorizeAsync("sip:romeo@example.com", account, MailboxPath.Inbox, default);
        Assert.True(cached.Allowed, "within the expiry the cached answer stands: " + cached.Reason);
        await Task.Delay(1200);
        var revoked = await policy.AuthorizeAsync("sip:romeo@example.com", account, MailboxPath.Inbox, default);
        Assert.False(revoked.Allowed, revoked.Reason);
        Assert.Contains("missing 'r'", revoked.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Missing_mailbox_is_denied_with_the_servers_reason()
    {
        var policy = Policy(cacheSeconds: 0);
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", AccountId.Parse("juliet@example.com"), MailboxPath.Parse("NoSuchBox"), default);
        Assert.False(d.Allowed);
        Assert.Contains("refused", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unreachable_server_denies()
    {
        var options = new ImapAclOptions { Host = "127.0.0.1", Port = TestPorts.Next(), Security = ImapSecurity.None, AdminUser = "a", AdminPassword = "b", TimeoutSeconds = 2 };
        var policy = new ImapAclPolicy(options, new ImapServerAclSource(options));
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", AccountId.Parse("juliet@example.com"), MailboxPath.Inbox, default);
        Assert.False(d.Allowed);
        Assert.Contains("could not be asked", d.Reason, StringComparison.Ordinal);
    }
}
