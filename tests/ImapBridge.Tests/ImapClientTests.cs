using System.Text;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.ImapBridge.Tests;

/// <summary>The connection against a scripted fake server: command flow, routing of untagged responses, errors.</summary>
public sealed class ImapClientTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly FakeImapServer _server = new();

    private ImapClientOptions Options => new() { Port = _server.Port, CommandTimeout = TimeSpan.FromSeconds(10) };

    public void Dispose() => _server.Dispose();

    private async Task<(ImapClient Client, FakeConnection Server)> LoggedInAsync()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        var server = await _server.AcceptAsync();
        await server.GreetAsync();
        var client = await connecting.WaitAsync(Wait);
        var login = client.LoginAsync("juliet", "juliet-pass");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LOGIN juliet juliet-pass", cmd);
        await server.SendLinesAsync($"{tag} OK [CAPABILITY IMAP4rev1 IDLE NOTIFY ACL LIST-EXTENDED LIST-STATUS CONDSTORE LITERAL+ SPECIAL-USE] Logged in");
        await login.WaitAsync(Wait);
        return (client, server);
    }

    [Fact]
    public async Task Greeting_capabilities_and_the_reread_after_login()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        using var server = await _server.AcceptAsync();
        await server.SendLinesAsync("* OK Fake ready.");
        // No [CAPABILITY] in the greeting: the client asks.
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("CAPABILITY", cmd);
        await server.SendLinesAsync("* CAPABILITY IMAP4rev1 AUTH=PLAIN", $"{tag} OK done");
        await using var client = await connecting.WaitAsync(Wait);
        Assert.False(client.Supports("NOTIFY"));
        Assert.Equal(ImapConnectionState.NotAuthenticated, client.State);

        var login = client.LoginAsync("juliet*admin", "admin-pass");
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LOGIN \"juliet*admin\" admin-pass", cmd);
        await server.SendLinesAsync($"{tag} OK Logged in");
        // No capability code in the OK: the client re-reads (Dovecot announces NOTIFY only now).
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("CAPABILITY", cmd);
        await server.SendLinesAsync("* CAPABILITY IMAP4rev1 IDLE NOTIFY ACL", $"{tag} OK done");
        await login.WaitAsync(Wait);
        Assert.True(client.Supports("notify"));
        Assert.Equal(ImapConnectionState.Authenticated, client.State);
    }

    [Fact]
    public async Task Authenticate_plain_with_authzid_by_sasl_ir_and_by_continuation()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        using var server = await _server.AcceptAsync();
        await server.GreetAsync("IMAP4rev1 AUTH=PLAIN"); // no SASL-IR
        await using var client = await connecting.WaitAsync(Wait);
        var auth = client.AuthenticatePlainAsync("admin", "admin-pass", authorizationId: "juliet");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("AUTHENTICATE PLAIN", cmd);
        await server.SendLinesAsync("+ ");
        var response = Encoding.UTF8.GetString(Convert.FromBase64String(await server.ReadLineAsync()));
        Assert.Equal("juliet\0admin\0admin-pass", response);
        await server.SendLinesAsync($"{tag} OK [CAPABILITY IMAP4rev1 NOTIFY] Logged in");
        await auth.WaitAsync(Wait);
        Assert.True(client.Supports("NOTIFY"));

        // With SASL-IR the response goes on the command line.
        var c2 = ImapClient.ConnectAsync(Options);
        using var s2 = await _server.AcceptAsync();
        await s2.GreetAsync("IMAP4rev1 SASL-IR AUTH=PLAIN");
        await using var client2 = await c2.WaitAsync(Wait);
        var auth2 = client2.AuthenticatePlainAsync("juliet", "pw");
        (tag, cmd) = await s2.ReadCommandAsync();
        Assert.Equal("AUTHENTICATE PLAIN " + Convert.ToBase64String(Encoding.UTF8.GetBytes("\0juliet\0pw")), cmd);
        await s2.SendLinesAsync($"{tag} NO [AUTHENTICATIONFAILED] Authentication failed.");
        var e = await Assert.ThrowsAsync<ImapCommandException>(() => auth2.WaitAsync(Wait));
        Assert.Equal("AUTHENTICATIONFAILED", e.Code!.Name);
        Assert.Equal(ImapStatus.No, e.Status);
        Assert.Contains("Authentication failed.", e.Message, StringComparison.Ordinal);
        Assert.True(client2.IsConnected); // a NO leaves the connection usable
    }

    [Fact]
    public async Task Synchronizing_literal_waits_for_the_continuation()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        using var server = await _server.AcceptAsync();
        await server.GreetAsync("IMAP4rev1"); // no LITERAL+
        await using var client = await connecting.WaitAsync(Wait);
        var login = client.LoginAsync("jürgen", "pw");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LOGIN {7}", cmd);
        Assert.True(await server.NothingMoreWithinAsync(TimeSpan.FromMilliseconds(300)), "client sent the literal before '+'");
        await server.SendLinesAsync("+ Ready for literal data");
        Assert.Equal("jürgen pw", await server.ReadLineAsync());
        await server.SendLinesAsync($"{tag} OK [CAPABILITY IMAP4rev1] done");
        await login.WaitAsync(Wait);
    }

    [Fact]
    public async Task Refused_literal_ends_the_command_without_sending_the_rest()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        using var server = await _server.AcceptAsync();
        await server.GreetAsync("IMAP4rev1");
        await using var client = await connecting.WaitAsync(Wait);
        var login = client.LoginAsync("jürgen", "pw");
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{tag} NO literal too big");
        await Assert.ThrowsAsync<ImapCommandException>(() => login.WaitAsync(Wait));
        Assert.True(await server.NothingMoreWithinAsync(TimeSpan.FromMilliseconds(200)));
    }

    [Fact]
    public async Task Select_returns_the_rfc3501_example_state()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var select = client.SelectAsync("INBOX", condstore: true);
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("SELECT INBOX (CONDSTORE)", cmd);
        await server.SendLinesAsync(
            "* 172 EXISTS",
            "* 1 RECENT",
            "* OK [UNSEEN 12] Message 12 is first unseen",
            "* OK [UIDVALIDITY 3857529045] UIDs valid",
            "* OK [UIDNEXT 4392] Predicted next UID",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            "* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited",
            "* OK [HIGHESTMODSEQ 715194045007] Highest",
            $"{tag} OK [READ-WRITE] SELECT completed");
        var state = await select.WaitAsync(Wait);
        Assert.Equal(172u, state.Exists);
        Assert.Equal(1u, state.Recent);
        Assert.Equal(12u, state.FirstUnseen);
        Assert.Equal(3857529045u, state.UidValidity);
        Assert.Equal(4392u, state.UidNext);
        Assert.Equal(5, state.Flags.Count);
        Assert.Equal(["\\Deleted", "\\Seen", "\\*"], state.PermanentFlags!);
        Assert.Equal(715194045007ul, state.HighestModSeq);
        Assert.False(state.ReadOnly);
        Assert.Equal(ImapConnectionState.Selected, client.State);
        // EXISTS is mailbox state: the unsolicited consumer sees it too.
        Assert.True(client.Unsolicited.TryRead(out var seen));
        Assert.Equal(172u, Assert.IsType<ImapExistsResponse>(seen).Count);
    }

    [Fact]
    public async Task Interleaved_responses_go_to_the_command_or_the_unsolicited_channel()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var status = client.StatusAsync("Other");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("STATUS Other (MESSAGES UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ)", cmd);
        await server.SendLinesAsync(
            "* STATUS INBOX (MESSAGES 9 UNSEEN 2)",   // a NOTIFY push for another mailbox
            "* 4 EXISTS",                              // unsolicited mailbox change
            "* STATUS Other (MESSAGES 5 UIDNEXT 6 UIDVALIDITY 77 UNSEEN 5 HIGHESTMODSEQ 6)",
            "* LIST () \"/\" New (\"OLDNAME\" (Old))",
            $"{tag} OK Status completed.");
        var items = await status.WaitAsync(Wait);
        Assert.Equal(5u, items.Messages);
        Assert.Equal(77u, items.UidValidity);
        var unsolicited = new List<ImapUntaggedResponse>();
        while (client.Unsolicited.TryRead(out var r))
        {
            unsolicited.Add(r);
        }
        Assert.Collection(unsolicited,
            r => Assert.Equal("INBOX", Assert.IsType<ImapStatusResponse>(r).Mailbox),
            r => Assert.IsType<ImapExistsResponse>(r),
            r => Assert.Equal("Old", Assert.IsType<ImapListResponse>(r).OldName));

        // Any time, without a command.
        await server.SendLinesAsync("* 3 EXPUNGE");
        var pushed = await client.Unsolicited.ReadAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(3u, Assert.IsType<ImapExpungeResponse>(pushed).SequenceNumber);
    }

    [Fact]
    public async Task List_with_return_options_and_list_status()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var list = client.ListAsync("", "*", new ImapListOptions { Subscribed = true, Children = true, SpecialUse = true, Status = ImapStatusItem.Messages | ImapStatusItem.Unseen });
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LIST \"\" * RETURN (SUBSCRIBED CHILDREN SPECIAL-USE STATUS (MESSAGES UNSEEN))", cmd);
        await server.SendLinesAsync(
            "* LIST (\\Subscribed \\HasNoChildren) \"/\" INBOX",
            "* STATUS INBOX (MESSAGES 17 UNSEEN 16)",
            "* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"",
            "* STATUS \"Entw&APw-rfe\" (MESSAGES 0 UNSEEN 0)",
            "* LIST (\\Noselect \\HasChildren) \"/\" Archive",
            $"{tag} OK List completed.");
        var result = await list.WaitAsync(Wait);
        Assert.Equal(["INBOX", "Entwürfe", "Archive"], result.Mailboxes.Select(m => m.Mailbox));
        Assert.Equal(16u, result.Status["INBOX"].Unseen);
        Assert.Equal(0u, result.Status["Entwürfe"].Messages);
        Assert.False(result.Status.ContainsKey("Archive"));
    }

    [Fact]
    public async Task Notify_set_writes_the_rfc5465_syntax_and_badevent_is_a_precise_error()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var notify = client.NotifySetAsync(
        [
            ImapNotifyEventGroup.Selected(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.FlagChange) with { MessageNewFetchAttributes = ["UID", "FLAGS"] },
            ImapNotifyEventGroup.Personal(ImapNotifyEvent.MessageNew, ImapNotifyEvent.MessageExpunge, ImapNotifyEvent.MailboxName, ImapNotifyEvent.SubscriptionChange),
            ImapNotifyEventGroup.ForMailboxes(["Entwürfe", "Sent Items"]),
        ], status: true);
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("NOTIFY SET STATUS (selected (MessageNew (UID FLAGS) MessageExpunge FlagChange)) (personal (MessageNew MessageExpunge MailboxName SubscriptionChange)) (mailboxes (Entw&APw-rfe \"Sent Items\") NONE)", cmd);
        await server.SendLinesAsync("* STATUS Other (MESSAGES 5 UIDNEXT 6 UNSEEN 5)", $"{tag} OK NOTIFY completed");
        await notify.WaitAsync(Wait);
        Assert.True(client.Unsolicited.TryRead(out var st));
        Assert.IsType<ImapStatusResponse>(st);

        var bad = client.NotifySetAsync([ImapNotifyEventGroup.Personal(ImapNotifyEvent.AnnotationChange)]);
        (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{tag} NO [BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange)] Unsupported event");
        var e = await Assert.ThrowsAsync<ImapCommandException>(() => bad.WaitAsync(Wait));
        Assert.Equal("BADEVENT", e.Code!.Name);
        Assert.Contains("MailboxName", e.Code.Items!);

        var none = client.NotifyNoneAsync();
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("NOTIFY NONE", cmd);
        await server.SendLinesAsync($"{tag} OK done");
        await none.WaitAsync(Wait);
    }

    [Fact]
    public async Task Idle_streams_pushes_and_stops_with_done()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var idling = client.IdleAsync();
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("IDLE", cmd);
        await server.SendLinesAsync("+ idling");
        await using var idle = await idling.WaitAsync(Wait);
        await server.SendLinesAsync("* 5 EXISTS", "* 2 FETCH (FLAGS (\\Seen))");
        var seen = new List<ImapUntaggedResponse>();
        await foreach (var r in idle.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            seen.Add(r);
            if (seen.Count == 2)
            {
                break;
            }
        }
        Assert.IsType<ImapExistsResponse>(seen[0]);
        Assert.Equal(["\\Seen"], Assert.IsType<ImapFetchResponse>(seen[1]).Flags!);
        var stop = idle.StopAsync();
        Assert.Equal("DONE", await server.ReadLineAsync());
        await server.SendLinesAsync($"{tag} OK Idle completed.");
        await stop.WaitAsync(Wait);
        // Commands work again.
        var noop = client.NoopAsync();
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("NOOP", cmd);
        await server.SendLinesAsync("* 6 EXISTS", $"{tag} OK done");
        Assert.IsType<ImapExistsResponse>(Assert.Single(await noop.WaitAsync(Wait)));
    }

    [Fact]
    public async Task Server_ending_idle_on_its_own_ends_the_stream()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var idling = client.IdleAsync();
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("+ idling");
        await using var idle = await idling.WaitAsync(Wait);
        await server.SendLinesAsync("* 7 EXISTS", $"{tag} OK IDLE terminated (timeout)");
        var seen = new List<ImapUntaggedResponse>();
        await foreach (var r in idle.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
        {
            seen.Add(r);
        }
        await idle.Ended.WaitAsync(Wait);
        await idle.StopAsync().WaitAsync(Wait); // no DONE needed any more
        var noop = client.NoopAsync();
        (tag, var cmd) = await server.ReadCommandAsync();
        Assert.Equal("NOOP", cmd); // and no stray DONE before it
        await server.SendLinesAsync($"{tag} OK done");
        await noop.WaitAsync(Wait);
        Assert.True(seen.Count <= 1);
    }

    private async Task<(ImapClient, FakeConnection, ImapIdleSession, string IdleTag)> SelectedAndIdlingAsync()
    {
        var (client, server) = await LoggedInAsync();
        var select = client.SelectAsync("INBOX");
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("* 1 EXISTS", $"{tag} OK [READ-WRITE] done");
        await select.WaitAsync(Wait);
        Assert.True(client.Unsolicited.TryRead(out _)); // SELECT's EXISTS
        var idling = client.IdleAsync();
        (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("+ idling");
        return (client, server, await idling.WaitAsync(Wait), tag);
    }

    [Fact]
    public async Task Done_and_uid_fetch_go_out_together_without_waiting_for_idles_ok()
    {
        var (client, server, idle, idleTag) = await SelectedAndIdlingAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var fetch = idle.StopThenUidFetchAsync(ImapSequenceSet.From(2), ImapFetchItem.Uid | ImapFetchItem.Flags);
        // RFC 2177 §3: the command may follow DONE at once; the server has not answered the IDLE yet.
        Assert.Equal("DONE", await server.ReadLineAsync());
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("UID FETCH 2:* (UID FLAGS)", cmd);
        // Queued pushes may come before IDLE's tagged response; they stay unsolicited.
        await server.SendLinesAsync("* 3 EXISTS", $"{idleTag} OK Idle completed.", "* 2 FETCH (UID 2 FLAGS ())", "* 3 FETCH (UID 3 FLAGS (\\Seen))", $"{tag} OK done");
        var fetched = await fetch.WaitAsync(Wait);
        Assert.Equal([2u, 3u], fetched.Select(f => f.Uid!.Value));
        Assert.IsType<ImapExistsResponse>(Assert.Single(Drain(client)));
        // Commands work again.
        var noop = client.NoopAsync();
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("NOOP", cmd);
        await server.SendLinesAsync($"{tag} OK done");
        await noop.WaitAsync(Wait);
    }

    [Fact]
    public async Task Uid_fetch_after_the_server_ended_idle_sends_no_done()
    {
        var (client, server, idle, idleTag) = await SelectedAndIdlingAsync();
        await using var clientScope = client;
        using var serverScope = server;
        await server.SendLinesAsync("* 2 EXISTS", $"{idleTag} OK IDLE terminated (timeout)");
        await idle.Ended.WaitAsync(Wait);
        var fetch = idle.StopThenUidFetchAsync(ImapSequenceSet.From(2), ImapFetchItem.Uid);
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("UID FETCH 2:* (UID)", cmd); // and no stray DONE before it
        await server.SendLinesAsync("* 2 FETCH (UID 2)", $"{tag} OK done");
        Assert.Equal(2u, Assert.Single(await fetch.WaitAsync(Wait)).Uid);
    }

    [Fact]
    public async Task Idle_refused_at_done_fails_the_pipelined_fetch_with_the_idle_error()
    {
        var (client, server, idle, idleTag) = await SelectedAndIdlingAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var fetch = idle.StopThenUidFetchAsync(ImapSequenceSet.From(2), ImapFetchItem.Uid);
        Assert.Equal("DONE", await server.ReadLineAsync());
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{idleTag} NO IDLE failed", $"{tag} OK done");
        var e = await Assert.ThrowsAsync<ImapCommandException>(() => fetch.WaitAsync(Wait));
        Assert.Contains("IDLE", e.Message, StringComparison.Ordinal);
        // The lock is free and the connection usable.
        var noop = client.NoopAsync();
        (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{tag} OK done");
        await noop.WaitAsync(Wait);
    }

    [Fact]
    public async Task Connection_lost_after_done_fails_the_pipelined_fetch_clearly()
    {
        var (client, server, idle, _) = await SelectedAndIdlingAsync();
        await using var clientScope = client;
        var fetch = idle.StopThenUidFetchAsync(ImapSequenceSet.From(2), ImapFetchItem.Uid);
        Assert.Equal("DONE", await server.ReadLineAsync());
        await server.ReadCommandAsync();
        server.Abort();
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => fetch.WaitAsync(Wait));
        Assert.Matches("connection lost|closed the connection", e.Message);
        await Assert.ThrowsAsync<ImapConnectionException>(() => client.NoopAsync().WaitAsync(Wait));
    }

    private static List<ImapUntaggedResponse> Drain(ImapClient client)
    {
        var list = new List<ImapUntaggedResponse>();
        while (client.Unsolicited.TryRead(out var r))
        {
            list.Add(r);
        }
        return list;
    }

    [Fact]
    public async Task Connection_lost_mid_idle_surfaces_a_clear_error()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        var idling = client.IdleAsync();
        await server.ReadCommandAsync();
        await server.SendLinesAsync("+ idling");
        var idle = await idling.WaitAsync(Wait);
        server.Abort();
        var e = await Assert.ThrowsAsync<ImapConnectionException>(async () =>
        {
            await foreach (var r in idle.ReadAllAsync().WithCancellation(new CancellationTokenSource(Wait).Token))
            {
            }
        });
        Assert.Matches("connection lost|closed the connection", e.Message);
        // A command queued behind the IDLE fails at once instead of waiting for the lock.
        await Assert.ThrowsAsync<ImapConnectionException>(() => client.NoopAsync().WaitAsync(Wait));
        await Assert.ThrowsAsync<ImapConnectionException>(() => idle.StopAsync());
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Bye_mid_command_fails_that_command_with_the_bye_text()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        var status = client.StatusAsync("INBOX");
        await server.ReadCommandAsync();
        await server.SendLinesAsync("* BYE Server shutting down.");
        server.Dispose();
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => status.WaitAsync(Wait));
        Assert.Contains("Server shutting down.", e.Message, StringComparison.Ordinal);
        Assert.NotNull(client.Failure?.Bye);
        await Assert.ThrowsAsync<ImapConnectionException>(async () => await client.Unsolicited.ReadAllAsync().ToListAsync());
    }

    [Theory]
    [InlineData("garbage without tag structure", "protocol error")]
    [InlineData("* 1 FETCH (BODY[] {99999999999}", "exceeds the limit")]
    [InlineData("* 1 FETCH (FLAGS (\\Seen)", "expected SP")]
    [InlineData("ZZZ9 OK not yours", "did not send")]
    [InlineData("+ nobody asked", "continuation request")]
    [InlineData("* OK a\0b", "NUL")]
    public async Task Hostile_responses_close_only_that_connection_with_a_precise_error(string hostile, string expected)
    {
        var (client, server) = await LoggedInAsync();
        var (other, otherServer) = await LoggedInAsync();
        await using var clientScope = client;
        await using var otherScope = other;
        using var serverScope = server;
        using var otherServerScope = otherServer;
        var noop = client.NoopAsync();
        await server.ReadCommandAsync();
        await server.SendLinesAsync(hostile);
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => noop.WaitAsync(Wait));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(client.IsConnected);
        // The other connection is untouched.
        var ok = other.NoopAsync();
        var (tag, _) = await otherServer.ReadCommandAsync();
        await otherServer.SendLinesAsync($"{tag} OK fine");
        await ok.WaitAsync(Wait);
    }

    [Fact]
    public async Task Over_long_line_and_missing_crlf_fail_without_unbounded_buffering()
    {
        var options = Options with { Limits = new ImapLimits { MaxLineLength = 1000 } };
        var connecting = ImapClient.ConnectAsync(options);
        using var server = await _server.AcceptAsync();
        await server.GreetAsync();
        await using var client = await connecting.WaitAsync(Wait);
        var noop = client.NoopAsync();
        await server.ReadCommandAsync();
        await server.SendAsync("* OK " + new string('x', 5000)); // never a CRLF
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => noop.WaitAsync(Wait));
        Assert.Contains("without CRLF", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_literal_then_close_is_an_error_not_a_hang()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        var noop = client.NoopAsync();
        await server.ReadCommandAsync();
        await server.SendAsync("* 1 FETCH (BODY[] {100}\r\nonly a few bytes");
        server.Dispose();
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => noop.WaitAsync(Wait));
        Assert.Contains("middle of a response", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Silent_server_hits_the_command_timeout_and_the_connection_closes()
    {
        var connecting = ImapClient.ConnectAsync(Options with { CommandTimeout = TimeSpan.FromMilliseconds(300) });
        using var server = await _server.AcceptAsync();
        await server.GreetAsync();
        await using var client = await connecting.WaitAsync(Wait);
        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => client.NoopAsync().WaitAsync(Wait));
        Assert.Contains("no response within", e.Message, StringComparison.Ordinal);
        Assert.False(client.IsConnected);
    }

    [Fact]
    public async Task Cancellation_closes_the_connection_and_throws_operation_cancelled()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        using var cts = new CancellationTokenSource();
        var noop = client.NoopAsync(cts.Token);
        await server.ReadCommandAsync();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => noop.WaitAsync(Wait));
        Assert.Contains("cancelled", client.Failure!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Greeting_bye_and_missing_starttls_refuse_the_connection()
    {
        var connecting = ImapClient.ConnectAsync(Options);
        using (var server = await _server.AcceptAsync())
        {
            await server.SendLinesAsync("* BYE Too many connections");
            var e = await Assert.ThrowsAsync<ImapConnectionException>(() => connecting.WaitAsync(Wait));
            Assert.Contains("Too many connections", e.Message, StringComparison.Ordinal);
            Assert.NotNull(e.Bye);
        }
        var tls = ImapClient.ConnectAsync(Options with { Security = ImapSecurity.StartTls });
        using (var server = await _server.AcceptAsync())
        {
            await server.GreetAsync("IMAP4rev1 AUTH=PLAIN");
            var e = await Assert.ThrowsAsync<ImapConnectionException>(() => tls.WaitAsync(Wait));
            Assert.Contains("refusing to continue in clear text", e.Message, StringComparison.Ordinal);
        }
        var tlsNo = ImapClient.ConnectAsync(Options with { Security = ImapSecurity.StartTls });
        using (var server = await _server.AcceptAsync())
        {
            await server.GreetAsync("IMAP4rev1 STARTTLS");
            var (tag, cmd) = await server.ReadCommandAsync();
            Assert.Equal("STARTTLS", cmd);
            await server.SendLinesAsync($"{tag} BAD TLS not configured");
            var e = await Assert.ThrowsAsync<ImapConnectionException>(() => tlsNo.WaitAsync(Wait));
            Assert.Contains("STARTTLS failed", e.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Acl_commands_and_uid_fetch()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var my = client.MyRightsAsync("INBOX");
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("MYRIGHTS INBOX", cmd);
        await server.SendLinesAsync("* MYRIGHTS INBOX lrwstipekxacd", $"{tag} OK done");
        Assert.Equal("lrwstipekxacd", await my.WaitAsync(Wait));
        var acl = client.GetAclAsync("INBOX");
        (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("* ACL INBOX owner lrwstipekxacd admin lrwstipekxa", $"{tag} OK done");
        Assert.Equal(2, (await acl.WaitAsync(Wait)).Entries.Count);
        var lr = client.ListRightsAsync("INBOX", "romeo");
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LISTRIGHTS INBOX romeo", cmd);
        await server.SendLinesAsync("* LISTRIGHTS INBOX romeo \"\" l r w s t p i e k x a c d", $"{tag} OK done");
        Assert.Equal(13, (await lr.WaitAsync(Wait)).OptionalRights.Count);

        var select = client.SelectAsync("INBOX");
        (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync("* 3 EXISTS", $"{tag} OK [READ-WRITE] done");
        await select.WaitAsync(Wait);
        var fetch = client.UidFetchAsync(ImapSequenceSet.Range(1, 3));
        (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("UID FETCH 1:3 (UID FLAGS ENVELOPE RFC822.SIZE)", cmd);
        await server.SendLinesAsync(
            "* 1 FETCH (UID 1 FLAGS () RFC822.SIZE 10 ENVELOPE (NIL \"hi\" ((NIL NIL \"romeo\" \"example.com\")) NIL NIL NIL NIL NIL NIL \"<1@x>\"))",
            "* 9 FETCH (UID 40 FLAGS (\\Seen))",
            $"{tag} OK done");
        var fetched = await fetch.WaitAsync(Wait);
        Assert.Equal("hi", Assert.Single(fetched).Envelope!.Subject);
        Assert.True(client.Unsolicited.TryRead(out _)); // EXISTS of SELECT
        Assert.True(client.Unsolicited.TryRead(out var other));
        Assert.Equal(40u, Assert.IsType<ImapFetchResponse>(other).Uid);
    }

    [Fact]
    public async Task Logout_reads_bye_and_closes()
    {
        var (client, server) = await LoggedInAsync();
        await using var clientScope = client;
        using var serverScope = server;
        var logout = client.LogoutAsync();
        var (tag, cmd) = await server.ReadCommandAsync();
        Assert.Equal("LOGOUT", cmd);
        await server.SendLinesAsync("* BYE Logging out", $"{tag} OK Logout completed.");
        await logout.WaitAsync(Wait);
        Assert.False(client.IsConnected);
        await client.Unsolicited.Completion.WaitAsync(Wait); // an orderly end, not an error
        Assert.Equal(ImapConnectionState.Closed, client.State);
    }
}

/// <summary>Collects log lines, for checking what the client traces.</summary>
internal sealed class ListLogger : Microsoft.Extensions.Logging.ILogger
{
    public List<string> Lines { get; } = [];

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

    public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines)
        {
            Lines.Add(formatter(state, exception));
        }
    }
}

public sealed class ImapClientLoggingTests : IDisposable
{
    private readonly FakeImapServer _server = new();

    public void Dispose() => _server.Dispose();

    [Fact]
    public async Task Trace_shows_commands_and_responses_but_never_the_password()
    {
        var log = new ListLogger();
        var connecting = ImapClient.ConnectAsync(new ImapClientOptions { Port = _server.Port, Logger = log });
        using var server = await _server.AcceptAsync();
        await server.GreetAsync();
        await using var client = await connecting.WaitAsync(TimeSpan.FromSeconds(10));
        var login = client.LoginAsync("juliet", "s3cret-pass");
        var (tag, _) = await server.ReadCommandAsync();
        await server.SendLinesAsync($"{tag} OK [CAPABILITY IMAP4rev1] done");
        await login.WaitAsync(TimeSpan.FromSeconds(10));
        string all;
        lock (log.Lines)
        {
            all = string.Join('\n', log.Lines);
        }
        Assert.Contains("LOGIN ***", all, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cret-pass", all, StringComparison.Ordinal);
        Assert.Contains("S: ImapTaggedResponse", all, StringComparison.Ordinal);
    }
}
