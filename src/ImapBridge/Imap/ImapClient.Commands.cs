using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>The commands (RFC 3501 §6 and the extensions the bridge uses).</summary>
public sealed partial class ImapClient
{
    /// <summary>CAPABILITY (RFC 3501 §6.1.1): refreshes and returns <see cref="Capabilities"/>.</summary>
    public async Task<IReadOnlySet<string>> CapabilityAsync(CancellationToken cancellationToken = default)
    {
        await ExecuteAsync(Command("CAPABILITY").Build(),
            r => r is ImapCapabilityResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return Capabilities;
    }

    /// <summary>
    /// LOGIN (RFC 3501 §6.2.3). For a Dovecot master user, <paramref name="user"/> is "user*master"
    /// (auth_master_user_separator). Capabilities are re-read afterwards: servers announce more once
    /// logged in (Dovecot: NOTIFY, ACL, METADATA).
    /// </summary>
    public async Task LoginAsync(string user, string password, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(user);
        ArgumentNullException.ThrowIfNull(password);
        RequireState(ImapConnectionState.NotAuthenticated, "LOGIN");
        if (Supports("LOGINDISABLED"))
        {
            throw new InvalidOperationException("the server announces LOGINDISABLED: LOGIN is not allowed on this connection (use TLS or AUTHENTICATE)");
        }
        var command = Command("LOGIN").AString(user).AString(password).Sensitive().Build();
        await AuthenticatedAsync(command, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// AUTHENTICATE PLAIN (RFC 4616) with an optional authorization identity: log in as
    /// <paramref name="authenticationId"/> and act as <paramref name="authorizationId"/> (a Dovecot
    /// master user: authcid = master, authzid = the user). Uses SASL-IR (RFC 4959) when offered.
    /// </summary>
    public async Task AuthenticatePlainAsync(string authenticationId, string password, string? authorizationId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(authenticationId);
        ArgumentNullException.ThrowIfNull(password);
        RequireState(ImapConnectionState.NotAuthenticated, "AUTHENTICATE");
        // message = [authzid] UTF8NUL authcid UTF8NUL passwd (RFC 4616 §2)
        var message = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{authorizationId}\0{authenticationId}\0{password}"));
        var builder = Command("AUTHENTICATE").Atom("PLAIN").Sensitive();
        var command = Supports("SASL-IR") ? builder.Raw(message).Build() : builder.ContinuationLine(message).Build();
        await AuthenticatedAsync(command, cancellationToken).ConfigureAwait(false);
    }

    private async Task AuthenticatedAsync(ImapCommand command, CancellationToken cancellationToken)
    {
        _capabilitiesKnown = false;
        var (tagged, _) = await ExecuteAsync(command,
            r => r is ImapCapabilityResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        State = ImapConnectionState.Authenticated;
        // A [CAPABILITY ...] code or untagged CAPABILITY in the response counts as the re-read.
        if (!(tagged.Code?.Is("CAPABILITY") ?? false) && !_capabilitiesKnown)
        {
            await CapabilityAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>ENABLE (RFC 5161): returns what the server enabled.</summary>
    public async Task<IReadOnlyList<string>> EnableAsync(IEnumerable<string> capabilities, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(capabilities);
        var builder = Command("ENABLE");
        foreach (var c in capabilities)
        {
            builder.Atom(c);
        }
        var (_, responses) = await ExecuteAsync(builder.Build(),
            r => r is ImapEnabledResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapEnabledResponse>().SelectMany(e => e.Capabilities).ToArray();
    }

    /// <summary>NAMESPACE (RFC 2342).</summary>
    public async Task<ImapNamespaceResponse> NamespaceAsync(CancellationToken cancellationToken = default)
    {
        var (_, responses) = await ExecuteAsync(Command("NAMESPACE").Build(),
            r => r is ImapNamespaceResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapNamespaceResponse>().LastOrDefault()
            ?? throw new ImapConnectionException("NAMESPACE completed without a NAMESPACE response");
    }

    /// <summary>
    /// LIST (RFC 3501 §6.3.8) with the RFC 5258 return options the server supports; STATUS via
    /// LIST-STATUS (RFC 5819) when offered, else one STATUS per selectable mailbox.
    /// </summary>
    public async Task<ImapListResult> ListAsync(string reference, string pattern, ImapListOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(pattern);
        options ??= new ImapListOptions();
        var extended = Supports("LIST-EXTENDED");
        var returns = new List<string>();
        if (options.Subscribed && extended)
        {
            returns.Add("SUBSCRIBED");
        }
        if (options.Children && extended)
        {
            returns.Add("CHILDREN");
        }
        if (options.SpecialUse && Supports("SPECIAL-USE") && extended)
        {
            returns.Add("SPECIAL-USE");
        }
        var statusItems = StatusItems(options.Status);
        var listStatus = statusItems.Length > 0 && Supports("LIST-STATUS");
        if (listStatus)
        {
            returns.Add($"STATUS ({statusItems})");
        }
        var builder = Command("LIST").ListMailbox(reference).ListMailbox(pattern);
        if (returns.Count > 0)
        {
            builder.Raw($"RETURN ({string.Join(' ', returns)})");
        }
        var (_, responses) = await ExecuteAsync(builder.Build(), r => r switch
        {
            ImapListResponse { IsLsub: false } => ImapClaim.Result,
            ImapStatusResponse when listStatus => ImapClaim.Result,
            _ => ImapClaim.None,
        }, cancellationToken).ConfigureAwait(false);
        var mailboxes = responses.OfType<ImapListResponse>().ToArray();
        var status = new Dictionary<string, ImapStatusItems>(StringComparer.Ordinal);
        foreach (var s in responses.OfType<ImapStatusResponse>())
        {
            status[s.Mailbox] = status.TryGetValue(s.Mailbox, out var old) ? old.Merge(s.Items) : s.Items;
        }
        if (statusItems.Length > 0 && !listStatus)
        {
            foreach (var m in mailboxes)
            {
                if (!m.HasAttribute("\\Noselect") && !m.HasAttribute("\\NonExistent"))
                {
                    status[m.Mailbox] = await StatusAsync(m.Mailbox, options.Status, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        return new ImapListResult(mailboxes, status);
    }

    /// <summary>STATUS (RFC 3501 §6.3.10); HIGHESTMODSEQ is asked only when CONDSTORE is offered.</summary>
    public async Task<ImapStatusItems> StatusAsync(string mailbox, ImapStatusItem items = ImapStatusItem.Default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var names = StatusItems(items);
        if (names.Length == 0)
        {
            throw new ArgumentException("ask for at least one status item", nameof(items));
        }
        var wanted = string.Equals(mailbox, "INBOX", StringComparison.OrdinalIgnoreCase) ? "INBOX" : mailbox;
        var (_, responses) = await ExecuteAsync(Command("STATUS").Mailbox(mailbox).Raw($"({names})").Build(),
            r => r is ImapStatusResponse s && s.Mailbox == wanted ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        var result = new ImapStatusItems();
        foreach (var s in responses.OfType<ImapStatusResponse>())
        {
            result = result.Merge(s.Items);
        }
        return result;
    }

    private string StatusItems(ImapStatusItem items)
    {
        var names = new List<string>();
        if (items.HasFlag(ImapStatusItem.Messages)) names.Add("MESSAGES");
        if (items.HasFlag(ImapStatusItem.Recent)) names.Add("RECENT");
        if (items.HasFlag(ImapStatusItem.UidNext)) names.Add("UIDNEXT");
        if (items.HasFlag(ImapStatusItem.UidValidity)) names.Add("UIDVALIDITY");
        if (items.HasFlag(ImapStatusItem.Unseen)) names.Add("UNSEEN");
        if (items.HasFlag(ImapStatusItem.HighestModSeq) && (Supports("CONDSTORE") || Supports("QRESYNC"))) names.Add("HIGHESTMODSEQ");
        if (items.HasFlag(ImapStatusItem.Size) && (Supports("STATUS=SIZE") || Supports("IMAP4rev2"))) names.Add("SIZE");
        return string.Join(' ', names);
    }

    /// <summary>SELECT (RFC 3501 §6.3.1); with <paramref name="condstore"/> and CONDSTORE offered, SELECT ... (CONDSTORE) for HIGHESTMODSEQ.</summary>
    public Task<ImapMailboxState> SelectAsync(string mailbox, bool condstore = false, CancellationToken cancellationToken = default) =>
        OpenAsync("SELECT", mailbox, condstore, cancellationToken);

    /// <summary>EXAMINE (RFC 3501 §6.3.2): like SELECT, read-only.</summary>
    public Task<ImapMailboxState> ExamineAsync(string mailbox, bool condstore = false, CancellationToken cancellationToken = default) =>
        OpenAsync("EXAMINE", mailbox, condstore, cancellationToken);

    private async Task<ImapMailboxState> OpenAsync(string verb, string mailbox, bool condstore, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        RequireAuthenticated(verb);
        var builder = Command(verb).Mailbox(mailbox);
        if (condstore && Supports("CONDSTORE"))
        {
            builder.Raw("(CONDSTORE)");
        }
        // Selecting another mailbox deselects the current one first (RFC 3501 §6.3.1).
        SelectedMailbox = null;
        State = ImapConnectionState.Authenticated;
        var (tagged, responses) = await ExecuteAsync(builder.Build(), r => r switch
        {
            ImapExistsResponse or ImapRecentResponse or ImapFlagsResponse => ImapClaim.ResultAndUnsolicited,
            ImapUntaggedStatusResponse { Status: ImapStatus.Ok, Code: not null } => ImapClaim.Result,
            _ => ImapClaim.None,
        }, cancellationToken).ConfigureAwait(false);
        var state = new ImapMailboxState
        {
            Mailbox = string.Equals(mailbox, "INBOX", StringComparison.OrdinalIgnoreCase) ? "INBOX" : mailbox,
            ReadOnly = tagged.Code?.Is("READ-ONLY") ?? verb == "EXAMINE",
        };
        foreach (var r in responses)
        {
            state = r switch
            {
                ImapExistsResponse e => state with { Exists = e.Count },
                ImapRecentResponse e => state with { Recent = e.Count },
                ImapFlagsResponse f => state with { Flags = f.Flags },
                ImapUntaggedStatusResponse { Code: { } code } => code.Name switch
                {
                    "UIDVALIDITY" => state with { UidValidity = (uint?)code.Number },
                    "UIDNEXT" => state with { UidNext = (uint?)code.Number },
                    "UNSEEN" => state with { FirstUnseen = (uint?)code.Number },
                    "PERMANENTFLAGS" => state with { PermanentFlags = code.Items },
                    "HIGHESTMODSEQ" => state with { HighestModSeq = (ulong?)code.Number },
                    "NOMODSEQ" => state with { NoModSeq = true },
                    _ => state,
                },
                _ => state,
            };
        }
        SelectedMailbox = state;
        State = ImapConnectionState.Selected;
        return state;
    }

    /// <summary>UID FETCH (RFC 3501 §6.4.8) of the given UIDs; returns the FETCH responses for them.</summary>
    public async Task<IReadOnlyList<ImapFetchResponse>> UidFetchAsync(ImapSequenceSet uids, ImapFetchItem items = ImapFetchItem.Default, CancellationToken cancellationToken = default)
    {
        var (command, claim) = UidFetchCommand(uids, items);
        var (_, responses) = await ExecuteAsync(command, claim, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapFetchResponse>().ToArray();
    }

    private (ImapCommand Command, Func<ImapUntaggedResponse, ImapClaim> Claim) UidFetchCommand(ImapSequenceSet uids, ImapFetchItem items)
    {
        ArgumentNullException.ThrowIfNull(uids);
        RequireState(ImapConnectionState.Selected, "UID FETCH");
        var names = new List<string> { "UID" };
        if (items.HasFlag(ImapFetchItem.Flags)) names.Add("FLAGS");
        if (items.HasFlag(ImapFetchItem.Envelope)) names.Add("ENVELOPE");
        if (items.HasFlag(ImapFetchItem.Rfc822Size)) names.Add("RFC822.SIZE");
        if (items.HasFlag(ImapFetchItem.InternalDate)) names.Add("INTERNALDATE");
        if (items.HasFlag(ImapFetchItem.ModSeq) && Supports("CONDSTORE")) names.Add("MODSEQ");
        var command = Command("UID FETCH").Raw(uids.ToString()).Raw($"({string.Join(' ', names)})").Build();
        return (command, r => r is ImapFetchResponse { Uid: { } uid } && Contains(uids, uid) ? ImapClaim.Result : ImapClaim.None);
    }

    private static bool Contains(ImapSequenceSet set, uint uid)
    {
        foreach (var (s, e) in set.Ranges)
        {
            var (lo, hi) = s <= e ? (s, e) : (e, s);
            if (uid >= lo && uid <= hi)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>
    /// UID STORE (RFC 3501 §6.4.6): <paramref name="operation"/> is "FLAGS", "+FLAGS" or "-FLAGS";
    /// ".SILENT" is added unless <paramref name="silent"/> is false. Returns the FETCH responses it caused.
    /// </summary>
    public async Task<IReadOnlyList<ImapFetchResponse>> UidStoreAsync(ImapSequenceSet uids, string operation, IEnumerable<string> flags, bool silent = true, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(uids);
        ArgumentNullException.ThrowIfNull(flags);
        if (operation is not ("FLAGS" or "+FLAGS" or "-FLAGS"))
        {
            throw new ArgumentException("operation must be FLAGS, +FLAGS or -FLAGS", nameof(operation));
        }
        RequireState(ImapConnectionState.Selected, "UID STORE");
        var builder = Command("UID STORE").Raw(uids.ToString()).Raw(silent ? operation + ".SILENT" : operation).BeginList();
        foreach (var flag in flags)
        {
            // flag = "\" atom / atom (RFC 3501 §9)
            var atom = flag.StartsWith('\\') ? flag[1..] : flag;
            if (atom.Length == 0 || !atom.All(ImapCommandBuilder.IsAtomChar))
            {
                throw new ArgumentException($"invalid flag \"{flag}\"", nameof(flags));
            }
            builder.Raw(flag);
        }
        var (_, responses) = await ExecuteAsync(builder.EndList().Build(),
            r => r is ImapFetchResponse { Uid: { } uid } && Contains(uids, uid) ? ImapClaim.ResultAndUnsolicited : ImapClaim.None,
            cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapFetchResponse>().ToArray();
    }

    /// <summary>CREATE (RFC 3501 §6.3.3).</summary>
    public Task CreateAsync(string mailbox, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command("CREATE").Mailbox(mailbox).Build(), null, cancellationToken);

    /// <summary>DELETE (RFC 3501 §6.3.4).</summary>
    public Task DeleteAsync(string mailbox, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command("DELETE").Mailbox(mailbox).Build(), null, cancellationToken);

    /// <summary>RENAME (RFC 3501 §6.3.5).</summary>
    public Task RenameAsync(string mailbox, string newName, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command("RENAME").Mailbox(mailbox).Mailbox(newName).Build(), null, cancellationToken);

    /// <summary>SUBSCRIBE / UNSUBSCRIBE (RFC 3501 §6.3.6-7).</summary>
    public Task SubscribeAsync(string mailbox, bool subscribe = true, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command(subscribe ? "SUBSCRIBE" : "UNSUBSCRIBE").Mailbox(mailbox).Build(), null, cancellationToken);

    /// <summary>
    /// SETACL (RFC 4314 §3.1): <paramref name="rights"/> replaces the identifier's rights, or with a
    /// leading "+" / "-" adds to / removes from them.
    /// </summary>
    public Task SetAclAsync(string mailbox, string identifier, string rights, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command("SETACL").Mailbox(mailbox).AString(identifier).AString(rights).Build(), null, cancellationToken);

    /// <summary>DELETEACL (RFC 4314 §3.2): removes the identifier's entry from the mailbox's ACL.</summary>
    public Task DeleteAclAsync(string mailbox, string identifier, CancellationToken cancellationToken = default) =>
        ExecuteAsync(Command("DELETEACL").Mailbox(mailbox).AString(identifier).Build(), null, cancellationToken);

    /// <summary>GETACL (RFC 4314 §3.3).</summary>
    public async Task<ImapAclResponse> GetAclAsync(string mailbox, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var (_, responses) = await ExecuteAsync(Command("GETACL").Mailbox(mailbox).Build(),
            r => r is ImapAclResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapAclResponse>().LastOrDefault()
            ?? throw new ImapConnectionException("GETACL completed without an ACL response");
    }

    /// <summary>MYRIGHTS (RFC 4314 §3.5): the rights string, e.g. "lrswipkxtecda".</summary>
    public async Task<string> MyRightsAsync(string mailbox, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var (_, responses) = await ExecuteAsync(Command("MYRIGHTS").Mailbox(mailbox).Build(),
            r => r is ImapMyRightsResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapMyRightsResponse>().LastOrDefault()?.Rights
            ?? throw new ImapConnectionException("MYRIGHTS completed without a MYRIGHTS response");
    }

    /// <summary>LISTRIGHTS (RFC 4314 §3.4).</summary>
    public async Task<ImapListRightsResponse> ListRightsAsync(string mailbox, string identifier, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        ArgumentNullException.ThrowIfNull(identifier);
        var (_, responses) = await ExecuteAsync(Command("LISTRIGHTS").Mailbox(mailbox).AString(identifier).Build(),
            r => r is ImapListRightsResponse ? ImapClaim.Result : ImapClaim.None, cancellationToken).ConfigureAwait(false);
        return responses.OfType<ImapListRightsResponse>().LastOrDefault()
            ?? throw new ImapConnectionException("LISTRIGHTS completed without a LISTRIGHTS response");
    }

    /// <summary>
    /// NOTIFY SET [STATUS] event-groups (RFC 5465 §3.1). With <paramref name="status"/> the server
    /// first sends STATUS for the mailboxes of the groups. The events then arrive on <see cref="Unsolicited"/>.
    /// A refused event is a NO with [BADEVENT (...)] (see <see cref="ImapCommandException.Code"/>).
    /// </summary>
    public async Task NotifySetAsync(IEnumerable<ImapNotifyEventGroup> groups, bool status = false, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(groups);
        RequireAuthenticated("NOTIFY");
        var builder = Command("NOTIFY").Atom("SET");
        if (status)
        {
            builder.Atom("STATUS");
        }
        var any = false;
        foreach (var g in groups)
        {
            any = true;
            builder.BeginList();
            builder.Atom(g.Filter switch
            {
                ImapNotifyFilter.Selected => "selected",
                ImapNotifyFilter.SelectedDelayed => "selected-delayed",
                ImapNotifyFilter.Inboxes => "inboxes",
                ImapNotifyFilter.Personal => "personal",
                ImapNotifyFilter.Subscribed => "subscribed",
                ImapNotifyFilter.Subtree => "subtree",
                ImapNotifyFilter.Mailboxes => "mailboxes",
                _ => throw new ArgumentOutOfRangeException(nameof(groups), g.Filter, "unknown NOTIFY filter"),
            });
            if (g.Filter is ImapNotifyFilter.Subtree or ImapNotifyFilter.Mailboxes)
            {
                if (g.Mailboxes.Count == 0)
                {
                    throw new ArgumentException($"the {g.Filter} filter needs at least one mailbox", nameof(groups));
                }
                builder.BeginList();
                foreach (var m in g.Mailboxes)
                {
                    builder.Mailbox(m);
                }
                builder.EndList();
            }
            if (g.Events.Count == 0)
            {
                builder.Atom("NONE");
            }
            else
            {
                builder.BeginList();
                foreach (var e in g.Events)
                {
                    builder.Atom(e);
                    if (e == ImapNotifyEvent.MessageNew && g.MessageNewFetchAttributes.Count > 0)
                    {
                        builder.Raw($"({string.Join(' ', g.MessageNewFetchAttributes)})");
                    }
                }
                builder.EndList();
            }
            builder.EndList();
        }
        if (!any)
        {
            throw new ArgumentException("NOTIFY SET needs at least one event group", nameof(groups));
        }
        await ExecuteAsync(builder.Build(), null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>NOTIFY NONE (RFC 5465 §3.2): no more notifications.</summary>
    public async Task NotifyNoneAsync(CancellationToken cancellationToken = default) =>
        await ExecuteAsync(Command("NOTIFY").Atom("NONE").Build(), null, cancellationToken).ConfigureAwait(false);

    /// <summary>NOOP (RFC 3501 §6.1.2): returns every untagged response that came with it (they also go to <see cref="Unsolicited"/>).</summary>
    public async Task<IReadOnlyList<ImapUntaggedResponse>> NoopAsync(CancellationToken cancellationToken = default)
    {
        var (_, responses) = await ExecuteAsync(Command("NOOP").Build(), _ => ImapClaim.ResultAndUnsolicited, cancellationToken).ConfigureAwait(false);
        return responses;
    }

    /// <summary>The keepalive hook: a NOOP, which also makes servers flush pending untagged updates.</summary>
    public Task KeepAliveAsync(CancellationToken cancellationToken = default) => NoopAsync(cancellationToken);

    /// <summary>
    /// IDLE (RFC 2177): returns once the server accepted it ("+"). Read the pushed responses from
    /// <see cref="ImapIdleSession.ReadAllAsync"/> and end it with <see cref="ImapIdleSession.StopAsync"/> (DONE);
    /// no other command can run meanwhile. Re-issue IDLE at least every 29 minutes (RFC 2177 §3).
    /// </summary>
    public async Task<ImapIdleSession> IdleAsync(CancellationToken cancellationToken = default)
    {
        RequireAuthenticated("IDLE");
        await AcquireAsync(cancellationToken).ConfigureAwait(false);
        var command = Command("IDLE").Build();
        PendingCommand? pending = null;
        try
        {
            pending = Begin(command, null);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.CommandTimeout);
            var refused = await SendAsync(pending, command, waitForCompletion: false, timeout.Token, cancellationToken).ConfigureAwait(false);
            if (refused is not null)
            {
                throw new ImapCommandException("IDLE", refused);
            }
            LastActivity = DateTimeOffset.UtcNow;
            return new ImapIdleSession(this, pending);
        }
        catch
        {
            if (pending is not null)
            {
                End(pending);
            }
            _commandLock.Release();
            throw;
        }
    }

    /// <summary>Sends DONE and waits for IDLE's tagged response; always releases the command lock.</summary>
    internal async Task EndIdleAsync(PendingCommand pending, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.CommandTimeout);
            ImapTaggedResponse tagged;
            try
            {
                if (!pending.Completion.IsCompleted)
                {
                    ThrowIfFailed();
                    await _stream.WriteAsync("DONE\r\n"u8.ToArray(), timeout.Token).ConfigureAwait(false);
                    await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
                }
                tagged = await pending.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                if (OnCommandFailed(e, "DONE", cancellationToken) is { } failure) throw failure;
                throw;
            }
            LastActivity = DateTimeOffset.UtcNow;
            if (tagged.Status != ImapStatus.Ok)
            {
                throw new ImapCommandException("IDLE", tagged);
            }
        }
        finally
        {
            End(pending);
            _commandLock.Release();
        }
    }

    /// <summary>
    /// Ends IDLE and runs UID FETCH without waiting for IDLE's tagged response in between: DONE and the
    /// command go out in one write. RFC 2177 §3 forbids a command only while the server waits for DONE,
    /// and after DONE the server "MUST immediately send the tagged response to the IDLE command and
    /// prepare to process other commands"; RFC 9051 §5.5 lets a client send a command before earlier
    /// ones completed, and UID FETCH is not ambiguous with pending EXPUNGEs (UIDs, not sequence numbers).
    /// Saves one round trip on each new message. If the server already ended the IDLE on its own,
    /// no DONE is sent. Always releases the command lock.
    /// </summary>
    internal async Task<IReadOnlyList<ImapFetchResponse>> EndIdleThenUidFetchAsync(
        PendingCommand idle, ImapSequenceSet uids, ImapFetchItem items, CancellationToken cancellationToken)
    {
        PendingCommand? fetch = null;
        try
        {
            var (command, claim) = UidFetchCommand(uids, items);
            fetch = new PendingCommand(command.Tag, claim);
            bool idling;
            lock (_gate)
            {
                ThrowIfFailed();
                // The read loop makes the fetch current when IDLE's tagged response comes (see Dispatch).
                idling = _current == idle && !idle.Answered; // else the server ended the IDLE itself: no DONE
                if (idling)
                {
                    _next = fetch;
                }
                else
                {
                    _current = fetch;
                }
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.CommandTimeout);
            ImapTaggedResponse idleDone;
            ImapTaggedResponse tagged;
            ImapClientLog.Sent(_log, command);
            try
            {
                // One write: as two, a Nagle-delayed second segment (or TLS record) could cost a round trip.
                var part = command.Parts[0];
                var done = "DONE\r\n"u8;
                var bytes = new byte[(idling ? done.Length : 0) + part.Length];
                if (idling)
                {
                    done.CopyTo(bytes);
                }
                part.Span.CopyTo(bytes.AsSpan(bytes.Length - part.Length));
                await _stream.WriteAsync(bytes, timeout.Token).ConfigureAwait(false);
                await _stream.FlushAsync(timeout.Token).ConfigureAwait(false);
                idleDone = await idle.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
                tagged = await fetch.Completion.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (Exception e) when (e is OperationCanceledException or IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
            {
                if (OnCommandFailed(e, "DONE and UID FETCH", cancellationToken) is { } failure) throw failure;
                throw;
            }
            LastActivity = DateTimeOffset.UtcNow;
            if (idleDone.Status != ImapStatus.Ok)
            {
                throw new ImapCommandException("IDLE", idleDone);
            }
            ObserveCode(tagged.Code);
            if (tagged.Status != ImapStatus.Ok)
            {
                throw new ImapCommandException(command.Name, tagged);
            }
            return fetch.Responses.OfType<ImapFetchResponse>().ToArray();
        }
        finally
        {
            lock (_gate)
            {
                _next = null;
                if (_current == idle || _current == fetch)
                {
                    _current = null;
                }
            }
            _commandLock.Release();
        }
    }

    /// <summary>LOGOUT (RFC 3501 §6.1.3): BYE, OK, and the connection closes.</summary>
    public async Task LogoutAsync(CancellationToken cancellationToken = default)
    {
        if (_failure is not null)
        {
            return;
        }
        _loggingOut = true;
        try
        {
            await ExecuteAsync(Command("LOGOUT").Build(),
                r => r is ImapUntaggedStatusResponse { Status: ImapStatus.Bye } ? ImapClaim.Result : ImapClaim.None,
                cancellationToken).ConfigureAwait(false);
        }
        catch (ImapConnectionException)
        {
            // The server may close right after BYE without the tagged OK: logged out all the same.
        }
        Fail(new ImapConnectionException("logged out"), orderly: true);
    }

    private void RequireState(ImapConnectionState state, string command)
    {
        ThrowIfFailed();
        if (State != state)
        {
            throw new InvalidOperationException($"{command} needs the {state} state; the connection is {State}");
        }
    }

    private void RequireAuthenticated(string command)
    {
        ThrowIfFailed();
        if (State is not (ImapConnectionState.Authenticated or ImapConnectionState.Selected))
        {
            throw new InvalidOperationException($"{command} needs a logged-in connection; the connection is {State}");
        }
    }
}
