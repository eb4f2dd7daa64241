using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>Our IMAP client against a real Dovecot 2.3 (testbed-notes.md): login, LIST/STATUS/SELECT, ACL, IDLE, NOTIFY.</summary>
public sealed class DovecotImapTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    /// <summary>Dovecot pushes ~0.5 s after a change; NOTIFY can lag a push cadence more. Generous but bounded.</summary>
    private static readonly TimeSpan PushWait = TimeSpan.FromSeconds(15);

    private DovecotServer Dovecot => fixture.Server;

    private async Task<ImapClient> LoginAsync((string User, string Password) account)
    {
        var client = await Dovecot.ConnectAsync();
        await client.LoginAsync(account.User, account.Password);
        return client;
    }

    [Fact]
    public async Task Login_rereads_capabilities_and_gets_notify_acl()
    {
        await using var client = await Dovecot.ConnectAsync();
        Assert.Equal(Dovecot.Greeting, client.Greeting!.Text);
        Assert.True(client.Supports("IDLE"));
        Assert.False(client.Supports("NOTIFY")); // the pre-login greeting lacks it (testbed notes)
        await client.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
        Assert.True(client.Supports("NOTIFY"), string.Join(' ', client.Capabilities));
        Assert.True(client.Supports("ACL"));
        Assert.True(client.Supports("LIST-STATUS"));
        // An explicit CAPABILITY agrees.
        Assert.Contains("NOTIFY", await client.CapabilityAsync(), StringComparer.OrdinalIgnoreCase);
        var ns = await client.NamespaceAsync();
        Assert.Equal("", Assert.Single(ns.Personal).Prefix);
        await client.LogoutAsync();
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Master_user_logs_in_by_login_and_by_plain_authzid()
    {
        await using (var byLogin = await Dovecot.ConnectAsync())
        {
            await byLogin.LoginAsync($"{DovecotServer.Juliet.User}*{DovecotServer.Master.User}", DovecotServer.Master.Password);
            var state = await byLogin.ExamineAsync("INBOX");
            Assert.True(state.ReadOnly);
            Assert.NotNull(state.UidValidity);
        }
        await using (var byPlain = await Dovecot.ConnectAsync())
        {
            await byPlain.AuthenticatePlainAsync(DovecotServer.Master.User, DovecotServer.Master.Password, authorizationId: DovecotServer.Juliet.User);
            Assert.Equal(ImapConnectionState.Authenticated, byPlain.State);
            Assert.True(byPlain.Supports("NOTIFY"));
            var status = await byPlain.StatusAsync("INBOX");
            Assert.NotNull(status.UidValidity);
        }
    }

    [Fact]
    public async Task Wrong_password_is_no_with_authenticationfailed()
    {
        await using var client = await Dovecot.ConnectAsync();
        var e = await Assert.ThrowsAsync<ImapCommandException>(() => client.LoginAsync(DovecotServer.Juliet.User, "wrong"));
        Assert.Equal(ImapStatus.No, e.Status);
        Assert.Equal("AUTHENTICATIONFAILED", e.Code!.Name);
        Assert.True(client.IsConnected);
        await client.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password); // still usable
    }

    [Fact]
    public async Task List_status_and_select_after_three_deliveries()
    {
        var user = Dovecot.NewUser();
        for (var i = 1; i <= 3; i++)
        {
            await Dovecot.DeliverAsync(user.User, $"message {i}");
        }
        await Dovecot.DeliverAsync(user.User, "elsewhere", mailbox: "Other");
        await using var client = await LoginAsync(user);

        var list = await client.ListAsync("", "*", new ImapListOptions
        {
            Subscribed = true, Children = true, SpecialUse = true, Status = ImapStatusItem.Default,
        });
        Assert.Contains(list.Mailboxes, m => m.Mailbox == "INBOX");
        Assert.Contains(list.Mailboxes, m => m.Mailbox == "Other");
        Assert.Equal('.', list.Mailboxes[0].Delimiter);
        var inboxFromList = list.Status["INBOX"];
        Assert.Equal(3u, inboxFromList.Messages);
        Assert.Equal(3u, inboxFromList.Unseen);
        Assert.Equal(1u, list.Status["Other"].Messages);

        var status = await client.StatusAsync("INBOX");
        Assert.Equal(3u, status.Messages);
        Assert.Equal(3u, status.Unseen);
        Assert.Equal(4u, status.UidNext);
        Assert.NotNull(status.UidValidity);
        Assert.NotNull(status.HighestModSeq);

        var selected = await client.SelectAsync("INBOX", condstore: true);
        Assert.Equal(3u, selected.Exists);
        Assert.Equal(status.UidValidity, selected.UidValidity);
        Assert.Equal(4u, selected.UidNext);
        Assert.Contains("\\Seen", selected.Flags);
        Assert.Contains("\\*", selected.PermanentFlags!);
        Assert.NotNull(selected.HighestModSeq);
        Assert.False(selected.ReadOnly);

        var fetched = await client.UidFetchAsync(ImapSequenceSet.Range(1, 3));
        Assert.Equal(3, fetched.Count);
        Assert.Equal("message 2", fetched.Single(f => f.Uid == 2).Envelope!.Subject);
        Assert.Equal("romeo", fetched[0].Envelope!.From[0].Mailbox);
        Assert.True(fetched[0].Rfc822Size > 0);
    }

    [Fact]
    public async Task Myrights_and_getacl()
    {
        await using var client = await LoginAsync(DovecotServer.Juliet);
        var rights = await client.MyRightsAsync("INBOX");
        Assert.Contains('l', rights);
        Assert.Contains('r', rights);
        var acl = await client.GetAclAsync("INBOX");
        Assert.Equal("INBOX", acl.Mailbox);
        Assert.NotEmpty(acl.Entries);
        var listRights = await client.ListRightsAsync("INBOX", "romeo");
        Assert.Equal("romeo", listRights.Identifier);
    }

    [Fact]
    public async Task Idle_sees_exists_for_new_mail_and_flags_set_from_another_connection()
    {
        var user = Dovecot.NewUser();
        await Dovecot.DeliverAsync(user.User, "first");
        await using var watcher = await LoginAsync(user);
        await watcher.SelectAsync("INBOX");
        DrainUnsolicited(watcher);
        await using var idle = await watcher.IdleAsync();
        using var cts = new CancellationTokenSource(PushWait * 2);
        await using var events = idle.ReadAllAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await Dovecot.DeliverAsync(user.User, "second");
        var exists = await NextAsync<ImapExistsResponse>(events, r => r.Count == 2);
        Assert.Equal(2u, exists.Count);

        await using (var other = await LoginAsync(user))
        {
            await other.SelectAsync("INBOX");
            await other.UidStoreAsync(ImapSequenceSet.Single(1), "+FLAGS", ["\\Seen"]);
        }
        var fetch = await NextAsync<ImapFetchResponse>(events, r => r.Flags?.Contains("\\Seen") == true);
        Assert.Equal(1u, fetch.SequenceNumber);
        await idle.StopAsync();
        Assert.Equal(2u, (await watcher.StatusAsync("INBOX")).Messages);
    }

    [Fact]
    public async Task Notify_reports_status_of_other_mailboxes_and_list_for_created_and_renamed()
    {
        var user = Dovecot.NewUser();
        await Dovecot.DeliverAsync(user.User, "in inbox");
        await using var watcher = await LoginAsync(user);
        await watcher.SelectAsync("INBOX");
        await watcher.NotifySetAsync(
        [
            ImapNotifyEventGroup.Selected(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.FlagChange),
            ImapNotifyEventGroup.Personal(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.MailboxName, ImapNotifyEvent.SubscriptionChange),
        ], status: true);
        // Testbed notes: against the blind window, IDLE right after NOTIFY SET on the same connection.
        await using var idle = await watcher.IdleAsync();
        using var cts = new CancellationTokenSource(PushWait * 4);
        await using var events = idle.ReadAllAsync(cts.Token).GetAsyncEnumerator(cts.Token);

        await Dovecot.DeliverAsync(user.User, "to other", mailbox: "Other");
        var status = await NextAsync<ImapStatusResponse>(events, s => s.Mailbox == "Other" && s.Items.Messages == 1);
        Assert.Equal(2u, status.Items.UidNext);

        await using var actor = await LoginAsync(user);
        await actor.CreateAsync("Fresh");
        await NextAsync<ImapListResponse>(events, l => l.Mailbox == "Fresh");

        await actor.RenameAsync("Fresh", "Renamed");
        ImapListResponse renamed;
        try
        {
            using var quick = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            renamed = await NextAsync<ImapListResponse>(events, l => l.Mailbox == "Renamed", quick.Token);
        }
        catch (OperationCanceledException)
        {
            // Testbed notes: a RENAME was once reported only with the next change; make one.
            await Dovecot.DeliverAsync(user.User, "poke");
            renamed = await NextAsync<ImapListResponse>(events, l => l.Mailbox == "Renamed");
        }
        Assert.Equal("Fresh", renamed.OldName);
        await idle.StopAsync();
        await watcher.NotifyNoneAsync();
    }

    [Fact]
    public async Task User_without_mailbox_list_index_gets_idle_but_no_notify()
    {
        await using var client = await LoginAsync(DovecotServer.NoList);
        Assert.False(client.Supports("NOTIFY"), string.Join(' ', client.Capabilities));
        Assert.True(client.Supports("IDLE"));
        await client.SelectAsync("INBOX");
        await using var idle = await client.IdleAsync();
        await idle.StopAsync();
    }

    private static void DrainUnsolicited(ImapClient client)
    {
        while (client.Unsolicited.TryRead(out _))
        {
        }
    }

    /// <summary>The next response of type T matching <paramref name="match"/>; others are skipped. Bounded by PushWait.</summary>
    internal static async Task<T> NextAsync<T>(IAsyncEnumerator<ImapUntaggedResponse> events, Func<T, bool> match, CancellationToken cancellationToken = default)
        where T : ImapUntaggedResponse
    {
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(PushWait);
        var seen = new List<string>();
        while (true)
        {
            var next = events.MoveNextAsync().AsTask();
            var done = await Task.WhenAny(next, Task.Delay(Timeout.Infinite, deadline.Token)).ConfigureAwait(false);
            if (done != next)
            {
                if (cancellationToken.IsCancellationRequested)
                {
                    throw new OperationCanceledException(cancellationToken);
                }
                throw new TimeoutException($"no matching {typeof(T).Name} within {PushWait}; saw: {string.Join(" | ", seen)}");
            }
            if (!await next.ConfigureAwait(false))
            {
                throw new InvalidOperationException($"IDLE ended before a matching {typeof(T).Name}; saw: {string.Join(" | ", seen)}");
            }
            seen.Add(events.Current.ToString());
            if (events.Current is T t && match(t))
            {
                return t;
            }
        }
    }
}
