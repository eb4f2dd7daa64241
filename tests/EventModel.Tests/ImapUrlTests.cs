namespace Aggregators.EventModel.Tests;

public class ImapUrlTests
{
    // RFC 5092 §7-style examples.
    [Fact]
    public void Parses_a_full_message_part_url()
    {
        var url = ImapUrl.Parse("imap://michael@example.org/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2/;PARTIAL=0.1024");
        Assert.Equal("michael", url.User);
        Assert.Equal("example.org", url.Host);
        Assert.Equal("INBOX", url.Mailbox);
        Assert.Equal(385759045u, url.UidValidity);
        Assert.Equal(20u, url.Uid);
        Assert.Equal("1.2", url.Section);
        Assert.Equal(0u, url.PartialOffset);
        Assert.Equal(1024u, url.PartialLength);
        Assert.Equal("imap://michael@example.org/INBOX;UIDVALIDITY=385759045/;UID=20/;SECTION=1.2/;PARTIAL=0.1024", url.ToString());
    }

    [Fact]
    public void Parses_server_auth_port_and_search()
    {
        var url = ImapUrl.Parse("imap://psicorp.example.org/~peter/%E6%97%A5%E6%9C%AC%E8%AA%9E/%E5%8F%B0%E5%8C%97?SUBJECT%20%22x%22");
        Assert.Equal("~peter/日本語/台北", url.Mailbox);
        Assert.Equal("SUBJECT \"x\"", url.Search);

        var auth = ImapUrl.Parse("imap://;AUTH=*@minbari.example.org:1143/gray%20council");
        Assert.Null(auth.User);
        Assert.Equal("*", auth.Auth);
        Assert.Equal(1143, auth.Port);
        Assert.Equal("gray council", auth.Mailbox);
        Assert.Equal("imap://;AUTH=*@minbari.example.org:1143/gray%20council", auth.ToString());

        var v6 = ImapUrl.Parse("imap://joe;AUTH=GSSAPI@[2001:DB8::1]:993/");
        Assert.Equal("[2001:db8::1]", v6.Host);
        Assert.Equal("GSSAPI", v6.Auth);
        Assert.Null(v6.Mailbox);
    }

    [Theory]
    [InlineData("IMAP://Host.Example.COM/INBOX", "imap://host.example.com/INBOX")]
    [InlineData("imap://h/INBOX;uidvalidity=5/;uid=7/;section=TEXT/;partial=10", "imap://h/INBOX;UIDVALIDITY=5/;UID=7/;SECTION=TEXT/;PARTIAL=10")]
    [InlineData("imap://h/My Folder/Ärger", "imap://h/My%20Folder/%C3%84rger")]
    [InlineData("imap://h", "imap://h/")]
    [InlineData("imap://u@h:143", "imap://u@h:143/")]
    [InlineData("imap://h/a%2fb", "imap://h/a/b")]
    [InlineData("imap://h/a%3bb", "imap://h/a%3Bb")]
    [InlineData("imap://h/INBOX;UIDVALIDITY=5", "imap://h/INBOX;UIDVALIDITY=5")]
    [InlineData("imap://h/INBOX;UID=7", "imap://h/INBOX/;UID=7")]
    [InlineData("imap://joe%40example.com@h/INBOX", "imap://joe%40example.com@h/INBOX")]
    [InlineData("imap://h/a&b=c~d!$'()*+,:@", "imap://h/a&b=c~d!$'()*+,:@")]
    public void Lenient_in_strict_out(string lenient, string strict) =>
        Assert.Equal(strict, ImapUrl.Parse(lenient).ToString());

    [Theory]
    [InlineData("", "empty")]
    [InlineData("http://h/INBOX", "must start with 'imap://'")]
    [InlineData("imap://", "no host")]
    [InlineData("imap:///INBOX", "no host")]
    [InlineData("imap://h:99999/", "port")]
    [InlineData("imap://h:x/", "port")]
    [InlineData("imap://h/INBOX;UIDVALIDITY=", "UIDVALIDITY")]
    [InlineData("imap://h/INBOX;UIDVALIDITY=01", "leading zeros")]
    [InlineData("imap://h/INBOX/;UID=0", "UID")]
    [InlineData("imap://h/INBOX/;UID=4294967296", "UID")]
    [InlineData("imap://h/INBOX;FOO=1", "unexpected text after the mailbox")]
    [InlineData("imap://h/INBOX/;UID=1/;SECTION=", "empty ';SECTION='")]
    [InlineData("imap://h/INBOX/;UID=1/extra", "unexpected text after the UID")]
    [InlineData("imap://h/;UID=1", "no mailbox")]
    [InlineData("imap://h/a%zz", "two hex digits")]
    [InlineData("imap://h/a%", "two hex digits")]
    [InlineData("imap://h/a%FF", "UTF-8")]
    [InlineData("imap://h/a%0A", "control character")]
    [InlineData("imap://h/a\u0001", "control character")]
    [InlineData("imap://u;X=1@h/", "';AUTH='")]
    [InlineData("imap://u;AUTH=@h/", "empty ';AUTH='")]
    [InlineData("imap://@h/", "empty user name")]
    [InlineData("imap://[::1/", "closing ']'")]
    [InlineData("imap://[nope]/", "IP literal")]
    [InlineData("imap://h h/", "not allowed in a host name")]
    [InlineData("imap://h/INBOX?", "empty search")]
    public void Bad_urls_say_why(string text, string words)
    {
        Assert.False(ImapUrl.TryParse(text, out var url, out var error));
        Assert.Null(url);
        Assert.Contains(words, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Mailbox_ending_in_slash_survives_a_uid()
    {
        var url = new ImapUrl { Host = "h", Mailbox = "a/", Uid = 3 };
        Assert.Equal("imap://h/a//;UID=3", url.ToString());
        Assert.Equal(url, ImapUrl.Parse(url.ToString()));
    }
}
