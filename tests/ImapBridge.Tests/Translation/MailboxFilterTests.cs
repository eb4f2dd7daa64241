using Aggregators.ImapBridge.Translation;

namespace Aggregators.ImapBridge.Tests.Translation;

public sealed class MailboxFilterTests
{
    [Theory]
    [InlineData("*", "a/b/c", true)]
    [InlineData("%", "a", true)]
    [InlineData("%", "a/b", false)]
    [InlineData("a/%", "a/b", true)]
    [InlineData("a/*", "a/b/c", true)]
    [InlineData("Junk", "Junk", true)]
    [InlineData("Junk", "junk", false)]
    [InlineData("inbox", "INBOX", true)]
    [InlineData("Arch*e", "Archive", true)]
    public void Wildcards_as_in_list(string pattern, string name, bool match) =>
        Assert.Equal(match, MailboxFilter.Matches(pattern, name, '/'));

    [Fact]
    public void Exclude_wins_and_inbox_is_always_included_unless_excluded()
    {
        var f = new MailboxFilter(["Work/*"], ["Work/Spam"]);
        Assert.True(f.IsWatched("INBOX", '/'));
        Assert.True(f.IsWatched("Work/a", '/'));
        Assert.False(f.IsWatched("Work/Spam", '/'));
        Assert.False(f.IsWatched("Other", '/'));
        Assert.False(new MailboxFilter(["*"], ["INBOX"]).IsWatched("INBOX", '/'));
    }

    [Fact]
    public void Uid_sets_are_compact_and_sorted()
    {
        Assert.Equal("1:3,5,7:8", UidSets.Format([8, 1, 2, 3, 5, 7, 3]));
        Assert.Equal("4", UidSets.Range(4, 4));
        Assert.Equal("4:9", UidSets.Range(4, 9));
    }
}
