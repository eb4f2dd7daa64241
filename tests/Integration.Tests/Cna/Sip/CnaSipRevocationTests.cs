using System.Globalization;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Integration.Tests.Sip;
using Aggregators.Pna.Authorization;
using Aggregators.Sip.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Cna.Sip;

/// <summary>
/// Issue 6 item 5 with real peers: access revoked at the PNA ends the subscription downstream too.
/// A real Dovecot holds the owner's ACLs, the PNA (in process, SIP on) asks them
/// (<c>Pna:Authorization:Policy=ImapAcl</c>) and re-checks live subscriptions when the cached answer
/// expires (<see cref="AuthorizationRecheck"/>), the CNA for example.net subscribes upstream with
/// each local user's own credentials, and local subscribers are raw src/Sip UAs.
/// </summary>
public sealed class CnaSipRevocationTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    private const int CacheSeconds = 2;
    private const string Filter = """{"mailbox":"INBOX","depth":"1"}""";

    private static async Task Until(Func<bool> condition, string what, int seconds = 60)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }

    private static bool Unseen(RawSubscriberUa.Watch w, uint unseen) =>
        w.LastText.Contains($"\"unseen\":{unseen}", StringComparison.Ordinal);

    [Fact]
    public async Task Deleteacl_at_the_imap_server_ends_the_upstream_subscription_and_the_local_one_with_rejected()
    {
        var dovecot = fixture.Server;
        var owner = dovecot.NewUser();
        await dovecot.DeliverAsync(owner.User, "hello"); // creates the Maildir
        var resource = $"sip:{owner.User}@example.com";
        var account = owner.User + "@example.com";

        // The owner lets romeo and mercutio read INBOX (RFC 4314 §3.1); only romeo's right is revoked later,
        // mercutio's subscription is the witness that later events still flow through the CNA.
        await using (var asOwner = await dovecot.ConnectAsync())
        {
            await asOwner.LoginAsync(owner.User, owner.Password);
            await asOwner.SetAclAsync("INBOX", "romeo", "lr");
            await asOwner.SetAclAsync("INBOX", "mercutio", "lr");
        }

        var dir = RequiredPeer.TempDirectory("cna-sip-revoke");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), new Dictionary<string, string>
        {
            ["Pna:Authorization:Policy"] = "ImapAcl",
            ["Pna:Authorization:ImapAcl:Host"] = "127.0.0.1",
            ["Pna:Authorization:ImapAcl:Port"] = dovecot.Port.ToString(CultureInfo.InvariantCulture),
            ["Pna:Authorization:ImapAcl:Security"] = "None",
            ["Pna:Authorization:ImapAcl:AdminUser"] = DovecotServer.Master.User,
            ["Pna:Authorization:ImapAcl:AdminPassword"] = DovecotServer.Master.Password,
            // Dovecot's users here are bare names (username_format=%n): sip:romeo@example.com → romeo.
            ["Pna:Authorization:ImapAcl:Identity"] = "{user}",
            ["Pna:Authorization:ImapAcl:AccountUser"] = "{local}",
            ["Pna:Authorization:ImapAcl:CacheSeconds"] = CacheSeconds.ToString(CultureInfo.InvariantCulture),
            ["Pna:Heartbeats:Min"] = "00:00:01",
            ["Pna:Sip:MinExpiresSeconds"] = "1",
            ["Pna:Sip:Authentication:Algorithms:0"] = "MD5",
        }, extraCredentials: "romeo:romeo-at-pna\nmercutio:mercutio-at-pna\n");
        await pna.MailboxChangedAsync(messages: 1, unseen: 1, account: account);

        // PerUser, not TrustedPeer: a trusted peer's one shared upstream is asserted as the CNA's own
        // identity (sip:cna@example.net), which the ACL policy would map to the IMAP identifier "cna";
        // the owner would have to grant the whole CNA and could not revoke one reader. With per-user
        // credentials the PNA authenticates romeo himself, the subscriber is sip:romeo@example.com and
        // Identity={user} maps it to "romeo", exactly whom the owner granted and revokes.
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port, new Dictionary<string, string>
        {
            ["Cna:Sip:Routes:example.com:Authentication"] = "PerUser",
        }, extraUsers: "upstream romeo example.com username=romeo password=romeo-at-pna\nupstream mercutio example.com username=mercutio password=mercutio-at-pna");
        await using var ua = new RawSubscriberUa();

        // mail-event: its upstream keeps alive with heartbeats, not refreshes (docs/cna.md), so the end
        // comes from the PNA's re-check of the expired answer, not from a 403 to a refresh.
        var romeo = ua.Subscribe(cna.EndPoint, "romeo", SipCna.LocalPassword, resource: resource, package: "mail-event", filter: Filter);
        var mercutio = ua.Subscribe(cna.EndPoint, "mercutio", SipCna.LocalPassword, resource: resource, package: "mail-event", filter: Filter);
        await Until(() => Unseen(romeo, 1) && Unseen(mercutio, 1), "both local subscribers' first counts");
        await pna.MailboxChangedAsync(messages: 2, unseen: 2, account: account);
        await Until(() => Unseen(romeo, 2) && Unseen(mercutio, 2), "both local subscribers at 2 unseen");
        Assert.Equal(
            new[] { "sip:mercutio@example.com", "sip:romeo@example.com" },
            pna.Subscriptions.Snapshot().Select(s => s.Subscriber).Order(StringComparer.Ordinal));
        Assert.Equal(2, cna.Notifier.UpstreamCount);

        // The owner revokes romeo's right (RFC 4314 §3.2); the PNA learns it when its cached answer expires.
        await using (var asOwner = await dovecot.ConnectAsync())
        {
            await asOwner.LoginAsync(owner.User, owner.Password);
            await asOwner.DeleteAclAsync("INBOX", "romeo");
        }

        // The PNA's final NOTIFY (terminated;reason=rejected) reaches romeo through the CNA with the
        // same reason (docs/cna.md "Revocation by the PNA"; RFC 6665 §4.1.3: do not re-subscribe).
        await Until(() => romeo.End is not null, "romeo's local subscription to end");
        Assert.Equal(SipSubscriptionEndKind.Terminated, romeo.End!.Kind);
        Assert.Equal("rejected", romeo.End.Reason);
        Assert.True(romeo.Last?.IsTerminated, "the last NOTIFY is the final one");
        Assert.True(pna.Services.GetRequiredService<AuthorizationRecheck>().Revoked >= 1, "revoked by the PNA's re-check");
        await Until(() => pna.Subscriptions.Snapshot().All(s => s.Subscriber != "sip:romeo@example.com"), "romeo's upstream subscription to be gone at the PNA");
        await Until(() => cna.Notifier.UpstreamCount == 1, "the CNA to drop romeo's upstream");
        Assert.Null(mercutio.End);

        // A later event reaches mercutio (so it went through the CNA) but not romeo.
        var romeoNotifies = romeo.Notifies.Count;
        await pna.MailboxChangedAsync(messages: 3, unseen: 3, account: account);
        await Until(() => Unseen(mercutio, 3), "mercutio at 3 unseen");
        Assert.Equal(romeoNotifies, romeo.Notifies.Count);
        Assert.DoesNotContain(romeo.Notifies, n => System.Text.Encoding.UTF8.GetString(n.Body.Span).Contains("\"unseen\":3", StringComparison.Ordinal));
        Assert.Single(pna.Subscriptions.Snapshot());
    }
}
