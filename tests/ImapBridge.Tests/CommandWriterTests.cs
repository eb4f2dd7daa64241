using System.Text;
using Aggregators.ImapBridge.Imap;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.ImapBridge.Tests;

public class CommandWriterTests
{
    private static string Text(ImapCommand c) => string.Join("|", c.Parts.Select(p => Encoding.UTF8.GetString(p.Span)));

    [Fact]
    public void Atoms_quoted_and_literals_are_chosen_by_content()
    {
        var c = new ImapCommandBuilder("A1", "LOGIN").AString("juliet*admin").AString("pass word").Build();
        // "*" is a list-wildcard, not an ATOM-CHAR: the master-user login name must be quoted.
        Assert.Equal("A1 LOGIN \"juliet*admin\" \"pass word\"\r\n", Text(c));
        Assert.Equal("A2 LOGIN fred \"a\\\"b\\\\c\"\r\n", Text(new ImapCommandBuilder("A2", "LOGIN").AString("fred").AString("a\"b\\c").Build()));
        Assert.Equal("A3 X \"\"\r\n", Text(new ImapCommandBuilder("A3", "X").AString("").Build()));
        Assert.Equal("A4 X \"nil\"\r\n", Text(new ImapCommandBuilder("A4", "X").AString("nil").Build()));
        Assert.Equal("A5 X a]b\r\n", Text(new ImapCommandBuilder("A5", "X").AString("a]b").Build()));
    }

    [Fact]
    public void Synchronizing_literal_splits_the_command()
    {
        var c = new ImapCommandBuilder("A1", "LOGIN").AString("jürgen").AString("pw").Build();
        Assert.Equal(2, c.Parts.Count);
        Assert.Equal("A1 LOGIN {7}\r\n|jürgen pw\r\n", Text(c));
    }

    [Fact]
    public void Literal_plus_and_minus_do_not_wait()
    {
        var plus = new ImapCommandBuilder("A1", "LOGIN", ImapLiteralMode.NonSynchronizing).AString("jürgen").AString("pw").Build();
        Assert.Single(plus.Parts);
        Assert.Equal("A1 LOGIN {7+}\r\njürgen pw\r\n", Text(plus));
        var big = new string('é', 3000);
        var minus = new ImapCommandBuilder("A2", "X", ImapLiteralMode.NonSynchronizingUpTo4096).String(big).Build();
        Assert.Equal(2, minus.Parts.Count);
        Assert.StartsWith("A2 X {6000}\r\n", Text(minus), StringComparison.Ordinal);
        Assert.Single(new ImapCommandBuilder("A3", "X", ImapLiteralMode.NonSynchronizingUpTo4096).String("line\r\nbreak").Build().Parts);
    }

    [Fact]
    public void Mailbox_names_are_modified_utf7_and_inbox_is_normalised()
    {
        Assert.Equal("A1 SELECT INBOX\r\n", Text(new ImapCommandBuilder("A1", "SELECT").Mailbox("inbox").Build()));
        Assert.Equal("A2 SELECT Entw&APw-rfe\r\n", Text(new ImapCommandBuilder("A2", "SELECT").Mailbox("Entwürfe").Build()));
        Assert.Equal("A3 SELECT \"Sent Items\"\r\n", Text(new ImapCommandBuilder("A3", "SELECT").Mailbox("Sent Items").Build()));
        Assert.Equal("A4 LIST \"\" %/*\r\n", Text(new ImapCommandBuilder("A4", "LIST").String("").ListMailbox("%/*").Build()));
    }

    [Fact]
    public void Bad_tags_atoms_and_nul_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new ImapCommandBuilder("A+1", "NOOP"));
        Assert.Throws<ArgumentException>(() => new ImapCommandBuilder("A1", "X").Atom("a b"));
        Assert.Throws<ArgumentException>(() => new ImapCommandBuilder("A1", "X").AString("a\0b"));
        Assert.Throws<ArgumentException>(() => new ImapCommandBuilder("A1", "X").Raw("a\r\nB2 LOGOUT"));
    }

    [Fact]
    public void Sensitive_commands_are_masked()
    {
        var c = new ImapCommandBuilder("A1", "LOGIN").AString("u").AString("secret").Sensitive().Build();
        Assert.DoesNotContain("secret", c.ToString(), StringComparison.Ordinal);
    }

    /// <summary>Whatever string we write as an astring, a server-side parse of it yields the same string.</summary>
    [Fact]
    public void Quoting_round_trip_property()
    {
        var chars = Gen.OneOf(
            Gen.Elements("abcXYZ019 \"\\(){}%*]~&+\r\n\tNIL".ToCharArray()),
            Gen.Choose(0x01, 0x7F).Select(i => (char)i),
            Gen.Choose(0xA0, 0x2FF).Select(i => (char)i));
        var strings = chars.ListOf().Select(cs => new string(cs.ToArray()));
        Prop.ForAll(Arb.From(strings), s =>
        {
            var c = new ImapCommandBuilder("T1", "X").AString(s).Build();
            var wire = Encoding.UTF8.GetBytes(string.Concat(c.Parts.Select(p => Encoding.UTF8.GetString(p.Span))));
            // Reuse the response tokenizer: "* X <astring>" parses the same astring grammar.
            var response = Encoding.UTF8.GetBytes("* MYRIGHTS INBOX ").Concat(wire.AsSpan(5).ToArray()).ToArray();
            var parsed = Assert.IsType<ImapMyRightsResponse>(ImapResponseParser.Parse(response, ImapLimits.Default));
            return parsed.Rights == s;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }
}
