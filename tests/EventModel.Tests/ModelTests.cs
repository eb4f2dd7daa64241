namespace Aggregators.EventModel.Tests;

public class AccountIdTests
{
    [Theory]
    [InlineData("joe@Example.COM", "joe@example.com")]
    [InlineData("Joe.Doe@EXAMPLE.com", "Joe.Doe@example.com")]
    [InlineData("joe", "joe")]
    [InlineData("\"a@b\"@c.D", "\"a@b\"@c.d")]
    public void Domain_is_lower_cased_local_part_kept(string text, string value)
    {
        var id = AccountId.Parse(text);
        Assert.Equal(value, id.Value);
        Assert.Equal(value, id.ToString());
    }

    [Fact]
    public void Parts_and_equality()
    {
        var id = AccountId.Parse("joe@example.com");
        Assert.Equal("joe", id.LocalPart);
        Assert.Equal("example.com", id.Domain);
        Assert.Equal(id, AccountId.Parse("joe@EXAMPLE.com"));
        Assert.NotEqual(id, AccountId.Parse("Joe@example.com"));
        Assert.Null(AccountId.Parse("joe").Domain);
        Assert.True(default(AccountId).IsDefault);
        Assert.False(id.IsDefault);
    }

    [Theory]
    [InlineData(null, "empty")]
    [InlineData("", "empty")]
    [InlineData("a b@c", "forbidden character")]
    [InlineData("a/b@c", "forbidden character")]
    [InlineData("a\u0000@c", "forbidden character")]
    [InlineData("@c", "empty local part")]
    [InlineData("a@", "empty local part or domain")]
    public void Invalid_accounts_say_why(string? text, string words)
    {
        Assert.False(AccountId.TryParse(text, out _, out var error));
        Assert.Contains(words, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Too_long_is_refused()
    {
        Assert.False(AccountId.TryParse(new string('a', 256), out _, out var error));
        Assert.Contains("255", error, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => AccountId.Parse(""));
    }
}

public class MailboxPathTests
{
    [Theory]
    [InlineData("INBOX.Work.Reports", '.', "INBOX/Work/Reports")]
    [InlineData("inbox.Work", '.', "INBOX/Work")]
    [InlineData("Work/Reports", '/', "Work/Reports")]
    [InlineData("A/B.C", '.', "A%2FB/C")]
    [InlineData("50%.off", '.', "50%25/off")]
    [InlineData("Lone/Name", null, "Lone%2FName")]
    [InlineData("Inbox", null, "INBOX")]
    [InlineData("Sub/INBOX", '/', "Sub/INBOX")]
    public void From_imap_normalises_the_separator(string imap, char? separator, string value)
    {
        var path = MailboxPath.FromImap(imap, separator);
        Assert.Equal(value, path.Value);
        Assert.Equal(path, MailboxPath.Parse(value));
    }

    [Theory]
    [InlineData("INBOX/Work/Reports", '.', "INBOX.Work.Reports")]
    [InlineData("A%2FB/C", '.', "A/B.C")]
    [InlineData("Work", null, "Work")]
    [InlineData("a%25b", '/', "a%b")]
    public void To_imap_uses_the_server_separator(string value, char? separator, string imap) =>
        Assert.Equal(imap, MailboxPath.Parse(value).ToImap(separator));

    [Fact]
    public void To_imap_refuses_what_the_server_cannot_name()
    {
        Assert.Throws<InvalidOperationException>(() => MailboxPath.Parse("A%2FB").ToImap('/'));
        Assert.Throws<InvalidOperationException>(() => MailboxPath.Parse("A/B").ToImap(null));
        Assert.Throws<InvalidOperationException>(() => MailboxPath.Root.ToImap('/'));
    }

    [Fact]
    public void Inbox_is_case_insensitive_only_as_first_segment()
    {
        Assert.Same(MailboxPath.Inbox, MailboxPath.Parse("inbox"));
        Assert.Equal("INBOX/inbox", MailboxPath.Parse("Inbox/inbox").Value);
        Assert.Equal("Archive/Inbox", MailboxPath.Parse("Archive/Inbox").Value);
    }

    [Fact]
    public void Escapes_are_decoded_and_reencoded()
    {
        var path = MailboxPath.Parse("Projects/A%2fB 50%25");
        Assert.Equal(["Projects", "A/B 50%"], path.Segments);
        Assert.Equal("Projects/A%2FB 50%25", path.Value);
        Assert.Equal("A/B 50%", path.Name);
        Assert.Equal(2, path.Depth);
    }

    [Theory]
    [InlineData("a//b", "empty segment")]
    [InlineData("/a", "empty segment")]
    [InlineData("a/", "empty segment")]
    [InlineData("a%2", "truncated")]
    [InlineData("a%41", "unsupported escape")]
    [InlineData("a\u0007b", "control character")]
    public void Bad_paths_say_why(string text, string words)
    {
        Assert.False(MailboxPath.TryParse(text, out _, out var error));
        Assert.Contains(words, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_are_enforced()
    {
        Assert.False(MailboxPath.TryParse(string.Join('/', Enumerable.Repeat("a", 65)), out _, out var deep));
        Assert.Contains("deeper", deep, StringComparison.Ordinal);
        Assert.False(MailboxPath.TryParse(new string('a', 1025), out _, out var longError));
        Assert.Contains("longer", longError, StringComparison.Ordinal);
        Assert.False(MailboxPath.TryFromImap("", '/', out _, out var empty));
        Assert.Contains("empty", empty, StringComparison.Ordinal);
        Assert.False(MailboxPath.TryParse(null, out _, out _));
    }

    [Fact]
    public void Hierarchy_navigation()
    {
        var path = MailboxPath.Parse("Work/Reports/2026");
        Assert.Equal("Work/Reports", path.Parent!.Value);
        Assert.Same(MailboxPath.Root, MailboxPath.Parse("Work").Parent);
        Assert.Null(MailboxPath.Root.Parent);
        Assert.Equal("Work/Reports/2026/Q%2F1", path.Child("Q/1").Value);
        Assert.True(MailboxPath.Parse("Work").IsAncestorOrSelfOf(path));
        Assert.True(path.IsAncestorOrSelfOf(path));
        Assert.True(MailboxPath.Root.IsAncestorOrSelfOf(path));
        Assert.False(MailboxPath.Parse("Wor").IsAncestorOrSelfOf(path));
        Assert.False(path.IsAncestorOrSelfOf(MailboxPath.Parse("Work")));
        Assert.True(MailboxPath.Root.IsRoot);
        Assert.Equal("", MailboxPath.Parse("").Value);
    }
}

public class SubscriptionFilterTests
{
    private static readonly AccountId Joe = AccountId.Parse("joe@example.com");

    private static SubscriptionFilter Filter(string mailbox, SubscriptionDepth depth, EventTypeSet? events = null) => new()
    {
        Account = Joe,
        Mailbox = MailboxPath.Parse(mailbox),
        Depth = depth,
        Events = events ?? EventTypeSet.All,
    };

    private static MailEvent Event(MailEventType type, string mailbox, string account = "joe@example.com", string? old = null) => new()
    {
        Type = type,
        Account = AccountId.Parse(account),
        Mailbox = MailboxPath.Parse(mailbox),
        OldMailbox = old is null ? null : MailboxPath.Parse(old),
    };

    [Theory]
    // targeted: only the same mailbox
    [InlineData("INBOX", SubscriptionDepth.One, MailEventType.MessageNew, "INBOX", true)]
    [InlineData("INBOX", SubscriptionDepth.One, MailEventType.MessageNew, "INBOX/Sub", false)]
    [InlineData("INBOX/Sub", SubscriptionDepth.One, MailEventType.MessageNew, "INBOX", false)]
    // hierarchical: the mailbox and everything below
    [InlineData("Work", SubscriptionDepth.Subtree, MailEventType.MessageNew, "Work", true)]
    [InlineData("Work", SubscriptionDepth.Subtree, MailEventType.MessageNew, "Work/Reports/2026", true)]
    [InlineData("Work", SubscriptionDepth.Subtree, MailEventType.MessageNew, "Workshop", false)]
    [InlineData("Work", SubscriptionDepth.Subtree, MailEventType.QuotaExceed, "", false)]
    // the root: depth one is account-level events only, subtree is the whole account
    [InlineData("", SubscriptionDepth.One, MailEventType.QuotaExceed, "", true)]
    [InlineData("", SubscriptionDepth.One, MailEventType.MessageNew, "INBOX", false)]
    [InlineData("", SubscriptionDepth.Subtree, MailEventType.MessageNew, "INBOX/Deep/Er", true)]
    [InlineData("", SubscriptionDepth.Subtree, MailEventType.Login, "", true)]
    public void Mailbox_and_depth_semantics(string filterMailbox, SubscriptionDepth depth, MailEventType type, string mailbox, bool matches)
    {
        Assert.Equal(matches, Filter(filterMailbox, depth).Matches(type, MailboxPath.Parse(mailbox)));
        Assert.Equal(matches, Filter(filterMailbox, depth).Matches(Event(type, mailbox)));
    }

    [Fact]
    public void Event_types_filter()
    {
        var filter = Filter("INBOX", SubscriptionDepth.One, EventTypeSet.MessageCounts);
        Assert.True(filter.Matches(Event(MailEventType.MessageNew, "INBOX")));
        Assert.True(filter.Matches(Event(MailEventType.FlagsSet, "INBOX")));
        Assert.False(filter.Matches(Event(MailEventType.MailboxSubscribe, "INBOX")));
        Assert.False(Filter("INBOX", SubscriptionDepth.One, EventTypeSet.None).Matches(Event(MailEventType.MessageNew, "INBOX")));
    }

    [Fact]
    public void Other_accounts_never_match()
    {
        Assert.False(Filter("", SubscriptionDepth.Subtree).Matches(Event(MailEventType.MessageNew, "INBOX", "jane@example.com")));
        Assert.True(Filter("", SubscriptionDepth.Subtree).Matches(Event(MailEventType.MessageNew, "INBOX", "joe@EXAMPLE.com")));
    }

    [Fact]
    public void Rename_matches_old_or_new_name()
    {
        var rename = Event(MailEventType.MailboxRename, "Archive/Done", old: "Work/Todo");
        Assert.True(Filter("Work", SubscriptionDepth.Subtree).Matches(rename));
        Assert.True(Filter("Work/Todo", SubscriptionDepth.One).Matches(rename));
        Assert.True(Filter("Archive", SubscriptionDepth.Subtree).Matches(rename));
        Assert.False(Filter("Work", SubscriptionDepth.One).Matches(rename));
    }

    [Fact]
    public void Describes_itself()
    {
        var filter = Filter("INBOX", SubscriptionDepth.Subtree, EventTypeSet.Of(MailEventType.MessageNew, MailEventType.MessageRead)) with { Heartbeat = TimeSpan.FromSeconds(30) };
        Assert.Equal("joe@example.com/INBOX depth=all events=MessageNew,MessageRead heartbeat=30s", filter.ToString());
    }
}

public class EventTypeTests
{
    [Fact]
    public void Names_round_trip_and_dovecot_spelling_is_accepted()
    {
        foreach (var t in MailEventTypes.All)
        {
            Assert.True(MailEventTypes.TryParse(t.ToRfcName(), out var back));
            Assert.Equal(t, back);
        }
        Assert.True(MailEventTypes.TryParse("MailboxUnsubscribe", out var dovecot));
        Assert.Equal(MailEventType.MailboxUnSubscribe, dovecot);
        Assert.False(MailEventTypes.TryParse("messagenew", out _));
        Assert.Equal(18, MailEventTypes.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => ((MailEventType)18).ToRfcName());
    }

    [Fact]
    public void Account_level_events_are_quota_login_logout()
    {
        var accountLevel = MailEventTypes.All.Where(t => !t.IsMailboxEvent()).ToArray();
        Assert.Equal([MailEventType.QuotaExceed, MailEventType.QuotaWithin, MailEventType.QuotaChange, MailEventType.Login, MailEventType.Logout], accountLevel);
    }

    [Fact]
    public void Set_basics()
    {
        Assert.Equal("*", EventTypeSet.All.ToString());
        Assert.Equal("", EventTypeSet.None.ToString());
        Assert.True(EventTypeSet.None.IsEmpty);
        Assert.True(EventTypeSet.All.IsAll);
        Assert.Equal(18, EventTypeSet.All.Types().Count());
        Assert.Equal("MessageNew,MailboxUnSubscribe", EventTypeSet.Of(MailEventType.MailboxUnSubscribe, MailEventType.MessageNew).ToString());
        Assert.False(EventTypeSet.MessageCounts.Contains(MailEventType.Login));
    }
}
