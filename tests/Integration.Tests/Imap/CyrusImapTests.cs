using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Pna.Authorization;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>
/// Our IMAP client against a real Cyrus IMAP 3.6 (testbed-notes.md): login, admin proxy login by
/// SASL PLAIN authzid, LIST/STATUS/SELECT, IDLE seeing mail from Cyrus deliver, MYRIGHTS/GETACL,
/// and <see cref="ImapAclPolicy"/>. Cyrus offers no NOTIFY: the bridge watches it with IDLE only.
/// Each test uses fresh mail where it counts, so their order does not matter.
/// </summary>
[Collection(CyrusCollection.Name)]
public sealed class CyrusImapTests(CyrusFixture fixture) : IClassFixture<CyrusFixture>
{
    /// <summary>Cyrus pushes IDLE changes within 5-15 ms (testbed notes); generous but bounded.</summary>
    private static readonly TimeSpan PushWait = TimeSpan.FromSeconds(15);

    private CyrusServer Cyrus => fixture.Server;

    private async Task<ImapClient> LoginAsync((string User, string Password) account)
    {
        var client = await Cyrus.ConnectAsync();
        await client.LoginAsync(account.User, account.Password);
        return client;
    }

    [Fact]
    public async Task Login_reads_capabilities_acl_idle_and_no_notify()
    {
        await using var client = await LoginAsync(CyrusServer.Juliet);
        Assert.Contains(Cyrus.ServerName, client.Greeting!.Text, StringComparison.Ordinal);
        Assert.True(client.Supports("IDLE"));
        Assert.True(client.Supports("ACL"));
        Assert.True(client.Supports("CONDSTORE"));
        Assert.False(client.Supports("NOTIFY"));
        var list = await client.ListAsync("", "*");
        Assert.Contains(list.Mailboxes, m => m.Mailbox == "INBOX");
        Assert.Contains(list.Mailboxes, m => m.Mailbox == "Other" && m.Delimiter == '/');
        await client.LogoutAsync();
    }

    [Fact]
    public async Task Admin_logs_in_as_a_user_with_sasl_plain_authzid()
    {
        await using var client = await Cyrus.ConnectAsync();
        await client.AuthenticatePlainAsync(CyrusServer.Admin.User, CyrusServer.Admin.Password, authorizationId: CyrusServer.Juliet.User);
        // Juliet's own view: her INBOX and Other, not user/juliet/...
        var list = await client.ListAsync("", "*");
        Assert.Contains(list.Mailboxes, m => m.Mailbox == "Other");
        Assert.DoesNotContain(list.Mailboxes, m => m.Mailbox.StartsWith("user/", StringComparison.Ordinal));
        var rights = await client.MyRightsAsync("INBOX");
        Assert.Contains('l', rights);
        Assert.Contains('r', rights);
        Assert.Contains('a', rights);
        var acl = await client.GetAclAsync("INBOX");
        Assert.Contains(acl.Entries, e => e.Key == CyrusServer.Juliet.User && e.Value.Contains('r', StringComparison.Ordinal));
        await client.LogoutAsync();
    }

    [Fact]
    public async Task Status_select_and_idle_see_mail_from_deliver()
    {
        await using var watcher = await LoginAsync(CyrusServer.Romeo);
        var before = await watcher.StatusAsync("INBOX");
        var selected = await watcher.SelectAsync("INBOX", condstore: true);
        Assert.Equal(before.Messages, selected.Exists);
        while (watcher.Unsolicited.TryRead(out _))
        {
        }
        await using var idle = await watcher.IdleAsync();
        using var cts = new CancellationTokenSource(PushWait);
        await using var events = idle.ReadAllAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await Cyrus.DeliverAsync(CyrusServer.Romeo.User, "pushed by idled");
        var exists = await DovecotImapTests.NextAsync<ImapExistsResponse>(events, r => r.Count == before.Messages + 1, cts.Token);
        Assert.Equal(before.Messages + 1, exists.Count);
        await idle.StopAsync();
        var after = await watcher.StatusAsync("INBOX");
        Assert.Equal(before.Messages + 1, after.Messages);
        Assert.Equal(before.UidNext + 1, after.UidNext);
        var fetched = await watcher.UidFetchAsync(ImapSequenceSet.Single(after.UidNext!.Value - 1));
        Assert.Equal("pushed by idled", Assert.Single(fetched).Envelope!.Subject);
    }

    [Fact]
    public async Task Acl_policy_reads_cyrus_acls_through_the_admin()
    {
        var options = new ImapAclOptions
        {
            Port = Cyrus.Port,
            Security = ImapSecurity.None,
            AdminUser = CyrusServer.Admin.User,
            AdminPassword = CyrusServer.Admin.Password,
            Identity = "{user}",
            AccountUser = "{local}",
        };
        var policy = new ImapAclPolicy(options, new ImapServerAclSource(options));
        var account = AccountId.Parse("juliet@example.com");
        var owner = await policy.AuthorizeAsync("sip:juliet@example.com", account, MailboxPath.Parse("Other"), default);
        Assert.True(owner.Allowed, owner.Reason);
        var stranger = await policy.AuthorizeAsync("sip:romeo@example.com", account, MailboxPath.Inbox, default);
        Assert.False(stranger.Allowed, stranger.Reason);
        Assert.Contains("missing 'lr'", stranger.Reason, StringComparison.Ordinal);
    }
}
