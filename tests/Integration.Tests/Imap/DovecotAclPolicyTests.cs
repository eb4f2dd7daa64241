using System.Collections.Concurrent;
using System.Globalization;
using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

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

    /// <summary>
    /// Issue 3 item 9 end to end: a PNA with Policy=ImapAcl (cache 2 s) subscribes romeo to the
    /// owner's INBOX after the owner granted lr with SETACL; the owner revokes with DELETEACL; the
    /// live subscription is ended through its transport (reason: the missing right) within the
    /// cache expiry plus a margin, and no later event reaches it.
    /// </summary>
    [Fact]
    public async Task Revoked_right_ends_a_live_subscription_within_the_cache_expiry()
    {
        const int cacheSeconds = 2;
        var owner = Dovecot.NewUser();
        await Dovecot.DeliverAsync(owner.User, "hello");
        await using (var asOwner = await Dovecot.ConnectAsync())
        {
            await asOwner.LoginAsync(owner.User, owner.Password);
            await asOwner.SetAclAsync("INBOX", "romeo", "lr"); // RFC 4314 §3.1
        }

        var dir = RequiredPeer.TempDirectory("pna-acl");
        var transport = new RevocationRecorder();
        var settings = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = dir,
            ["Logging:LogLevel:Default"] = "Warning",
            ["Pna:Authorization:Policy"] = "ImapAcl",
            ["Pna:Authorization:ImapAcl:Host"] = "127.0.0.1",
            ["Pna:Authorization:ImapAcl:Port"] = Dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Pna:Authorization:ImapAcl:Security"] = "None",
            ["Pna:Authorization:ImapAcl:AdminUser"] = DovecotServer.Master.User,
            ["Pna:Authorization:ImapAcl:AdminPassword"] = DovecotServer.Master.Password,
            ["Pna:Authorization:ImapAcl:Identity"] = "{user}",
            ["Pna:Authorization:ImapAcl:AccountUser"] = "{local}",
            ["Pna:Authorization:ImapAcl:CacheSeconds"] = cacheSeconds.ToString(CultureInfo.InvariantCulture),
        };
        await using var app = PnaApplication.Build([.. settings.Select(p => $"--{p.Key}={p.Value}")]);
        await app.StartAsync();
        var manager = app.Services.GetRequiredService<SubscriptionManager>();
        var ingest = app.Services.GetRequiredService<IEventIngest>();
        transport.Manager = manager;
        var account = AccountId.Parse(owner.User + "@example.com");
        var uidNext = 2u;
        async Task PostAsync()
        {
            uidNext++;
            var e = new MailEvent
            {
                Type = MailEventType.MessageNew, Account = account, Mailbox = MailboxPath.Inbox, Uidset = (uidNext - 1).ToString(CultureInfo.InvariantCulture),
                Totals = new MailboxTotals(uidNext - 1, 1, uidNext, 7), Id = "acl-test-" + uidNext.ToString(CultureInfo.InvariantCulture),
                Timestamp = DateTimeOffset.UtcNow,
            };
            var r = await ingest.SubmitAsync([e], "acl-test", CancellationToken.None);
            Assert.Equal(IngestStatus.Accepted, r.Status);
        }

        var filter = new SubscriptionFilter { Account = account, Mailbox = MailboxPath.Inbox };
        var result = await manager.SubscribeAsync("sip:romeo@example.com", filter, transport, "{}", null, CancellationToken.None);
        Assert.True(result.Succeeded, result.Decision.Reason);
        var subscription = result.Subscription!;
        await PostAsync();
        await WaitAsync(() => transport.Events(subscription) >= 1, "the granted subscriber to get the event");

        // The owner revokes (RFC 4314 §3.2); the PNA learns it when the cached answer expires.
        await using (var asOwner = await Dovecot.ConnectAsync())
        {
            await asOwner.LoginAsync(owner.User, owner.Password);
            await asOwner.DeleteAclAsync("INBOX", "romeo");
        }
        var revokedAt = DateTimeOffset.UtcNow;
        await WaitAsync(() => !transport.Revoked.IsEmpty, "the subscription to be revoked");
        var (id, reason, when) = Assert.Single(transport.Revoked);
        Assert.Equal(subscription.Id, id);
        Assert.Contains("missing 'lr'", reason, StringComparison.Ordinal);
        Assert.Null(manager.Get(subscription.Id));
        // Within the expiry: the cached answer was at most cacheSeconds old; the margin covers one
        // IMAP lookup and scheduling on a loaded machine.
        Assert.True(when - revokedAt < TimeSpan.FromSeconds(cacheSeconds + 8), $"revoked {when - revokedAt} after DELETEACL");

        var before = transport.Events(subscription);
        await PostAsync();
        await WaitAsync(() => app.Services.GetRequiredService<Aggregators.Pna.State.MailboxStateStore>().Get(account, MailboxPath.Inbox)?.Totals?.UidNext == uidNext,
            "the later event to be dispatched");
        Assert.Equal(before, transport.Events(subscription));
        await app.StopAsync();
    }

    private static async Task WaitAsync(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }

    /// <summary>Records notifications and revocations; a revocation ends the subscription at the PNA as a real transport does.</summary>
    private sealed class RevocationRecorder : INotificationTransport, IRevocableTransport
    {
        private readonly ConcurrentQueue<Notification> _notifications = new();

        public SubscriptionManager? Manager { get; set; }

        public ConcurrentQueue<(long Id, string Reason, DateTimeOffset When)> Revoked { get; } = new();

        public string Name => "acl-test";

        public void Deliver(in Notification notification) => _notifications.Enqueue(notification);

        public int Events(Subscription s) => _notifications.Count(n => n.Subscription == s && n.Kind == NotificationKind.Event);

        public void Revoke(Subscription subscription, string reason)
        {
            Revoked.Enqueue((subscription.Id, reason, DateTimeOffset.UtcNow));
            Manager?.Unsubscribe(subscription.Id, reason);
        }
    }
}
