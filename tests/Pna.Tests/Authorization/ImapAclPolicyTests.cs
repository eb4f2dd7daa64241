using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Tests.Heartbeats;

namespace Aggregators.Pna.Tests.Authorization;

public sealed class ImapAclPolicyTests
{
    private static readonly AccountId Juliet = AccountId.Parse("juliet@example.com");

    private static ImapAclOptions Options(int cacheSeconds = 60) => new()
    {
        AdminUser = "admin",
        AdminPassword = "pw",
        CacheSeconds = cacheSeconds,
    };

    private sealed class FakeAclSource : IImapAclSource
    {
        public List<KeyValuePair<string, string>> Acl { get; } = [];
        public Exception? Failure { get; set; }
        public int Calls { get; private set; }
        public List<(string Owner, string Mailbox)> Asked { get; } = [];

        public Task<IReadOnlyList<KeyValuePair<string, string>>> GetAclAsync(string owner, MailboxPath mailbox, CancellationToken cancellationToken)
        {
            Calls++;
            Asked.Add((owner, mailbox.Value));
            return Failure is { } e ? Task.FromException<IReadOnlyList<KeyValuePair<string, string>>>(e)
                : Task.FromResult<IReadOnlyList<KeyValuePair<string, string>>>([.. Acl]);
        }
    }

    [Theory]
    [InlineData("romeo@example.com lr", true)]
    [InlineData("romeo@example.com lrs", true)]
    [InlineData("romeo@example.com l", false)]
    [InlineData("anyone lr", true)]
    [InlineData("authenticated lr", true)]
    [InlineData("romeo@example.com lr|-romeo@example.com r", false)]
    [InlineData("anyone lr|-anyone l", false)]
    [InlineData("someone@example.com lr", false)]
    [InlineData("$friends lr", false)]
    [InlineData("group:friends lr", false)]
    public void Effective_rights_follow_rfc4314_section_2(string acl, bool hasLr)
    {
        var entries = acl.Split('|').Select(e => e.Split(' ')).Select(p => KeyValuePair.Create(p[0], p[1]));
        var (rights, _) = ImapRights.Effective(entries, "romeo@example.com", "juliet@example.com");
        Assert.Equal(hasLr, ImapRights.Missing(rights, "lr").Length == 0);
    }

    [Fact]
    public void Owner_identifier_matches_only_the_owner()
    {
        KeyValuePair<string, string>[] acl = [KeyValuePair.Create("owner", "lrswipkxtea")];
        Assert.Equal("aeiklprstwx", ImapRights.Effective(acl, "juliet", "juliet").Rights);
        Assert.Equal("", ImapRights.Effective(acl, "romeo", "juliet").Rights);
    }

    [Fact]
    public async Task Allows_with_lookup_and_read_and_says_why()
    {
        var source = new FakeAclSource();
        source.Acl.Add(KeyValuePair.Create("romeo@example.com", "lr"));
        var policy = new ImapAclPolicy(Options(), source);
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default);
        Assert.True(d.Allowed, d.Reason);
        Assert.Contains("romeo@example.com", d.Reason, StringComparison.Ordinal);
        Assert.Contains("'lr'", d.Reason, StringComparison.Ordinal);
        Assert.Equal(("juliet@example.com", "INBOX"), Assert.Single(source.Asked));
    }

    [Fact]
    public async Task Denies_when_a_right_is_missing_and_names_it()
    {
        var source = new FakeAclSource();
        source.Acl.Add(KeyValuePair.Create("romeo@example.com", "l"));
        var policy = new ImapAclPolicy(Options(), source);
        var d = await policy.AuthorizeAsync("xmpp:romeo@example.com/phone", Juliet, MailboxPath.Inbox, default);
        Assert.False(d.Allowed);
        Assert.Contains("missing 'r'", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Identity_and_owner_mapping_are_configurable()
    {
        var source = new FakeAclSource();
        source.Acl.Add(KeyValuePair.Create("romeo", "lr"));
        source.Acl.Add(KeyValuePair.Create("boss", "lr"));
        var options = Options();
        options.Identity = "{user}";
        options.AccountUser = "{local}";
        options.Identities["chief@corp.example"] = "boss";
        var policy = new ImapAclPolicy(options, source);
        Assert.True((await policy.AuthorizeAsync("sip:romeo@other.example", Juliet, MailboxPath.Parse("Work/Reports"), default)).Allowed);
        Assert.True((await policy.AuthorizeAsync("xmpp:chief@corp.example", Juliet, MailboxPath.Inbox, default)).Allowed);
        Assert.False((await policy.AuthorizeAsync("xmpp:chiefx@corp.example", Juliet, MailboxPath.Inbox, default)).Allowed);
        Assert.Equal(("juliet", "Work/Reports"), source.Asked[0]);
    }

    [Fact]
    public async Task Answers_are_cached_until_expiry_so_a_revocation_applies_within_it()
    {
        var time = new ManualTimeProvider();
        var source = new FakeAclSource();
        source.Acl.Add(KeyValuePair.Create("romeo@example.com", "lr"));
        var policy = new ImapAclPolicy(Options(cacheSeconds: 60), source, time);
        Assert.True((await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default)).Allowed);
        source.Acl.Clear(); // revoked on the server
        time.Advance(TimeSpan.FromSeconds(59));
        var cached = await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default);
        Assert.True(cached.Allowed);
        Assert.Contains("cached", cached.Reason, StringComparison.Ordinal);
        Assert.Equal(1, source.Calls);
        time.Advance(TimeSpan.FromSeconds(2));
        Assert.False((await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default)).Allowed);
        Assert.Equal(2, source.Calls);
    }

    [Fact]
    public async Task Unreachable_server_denies_without_caching()
    {
        var source = new FakeAclSource { Failure = new ImapConnectionException("connection refused") };
        var policy = new ImapAclPolicy(Options(), source);
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default);
        Assert.False(d.Allowed);
        Assert.Contains("could not be asked", d.Reason, StringComparison.Ordinal);
        Assert.Equal(0, policy.CachedCount);
        source.Failure = null;
        source.Acl.Add(KeyValuePair.Create("anyone", "lr"));
        Assert.True((await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default)).Allowed);
    }

    [Fact]
    public async Task Server_refusal_denies_with_its_text()
    {
        var source = new FakeAclSource { Failure = new ImapCommandException("NO Mailbox doesn't exist: Nope") };
        var policy = new ImapAclPolicy(Options(), source);
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Parse("Nope"), default);
        Assert.False(d.Allowed);
        Assert.Contains("refused", d.Reason, StringComparison.Ordinal);
        Assert.Contains("doesn't exist", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Invalid_subscriber_is_denied_without_asking()
    {
        var source = new FakeAclSource();
        var policy = new ImapAclPolicy(Options(), source);
        Assert.False((await policy.AuthorizeAsync("mailto:x@y", Juliet, MailboxPath.Inbox, default)).Allowed);
        Assert.Equal(0, source.Calls);
    }

    [Fact]
    public async Task Either_allows_when_one_allows_and_explains_both_when_neither_does()
    {
        var grants = new GrantPolicy(new GrantPolicyOptions { OwnerAccess = true });
        var source = new FakeAclSource();
        source.Acl.Add(KeyValuePair.Create("romeo@example.com", "lr"));
        var either = new EitherPolicy(grants, new ImapAclPolicy(Options(), source));
        Assert.True((await either.AuthorizeAsync("sip:juliet@example.com", Juliet, MailboxPath.Inbox, default)).Allowed);
        Assert.Equal(0, source.Calls);
        Assert.True((await either.AuthorizeAsync("sip:romeo@example.com", Juliet, MailboxPath.Inbox, default)).Allowed);
        var d = await either.AuthorizeAsync("sip:tybalt@example.com", Juliet, MailboxPath.Inbox, default);
        Assert.False(d.Allowed);
        Assert.Contains("neither allows", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_options_are_rejected_with_the_key()
    {
        var e = Assert.Throws<InvalidOperationException>(() => new ImapAclPolicy(new ImapAclOptions { RequiredRights = "L!" }, new FakeAclSource()));
        Assert.Contains("AdminUser", e.Message, StringComparison.Ordinal);
        Assert.Contains("RequiredRights", e.Message, StringComparison.Ordinal);
    }
}
