using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Aggregators.ImapBridge.Imap;
using static Aggregators.ImapBridge.Tests.ParseHelper;

namespace Aggregators.ImapBridge.Tests;

/// <summary>Hostile or broken server output: each is a precise ImapProtocolException, never a crash or a hang.</summary>
public class HostileResponseTests
{
    private static readonly ImapLimits Small = new() { MaxLineLength = 100, MaxLiteralSize = 50, MaxNesting = 4 };

    [Theory]
    [InlineData("* 1 FETCH (FLAGS (\\Seen)\r\n", "expected SP")]
    [InlineData("* 1 FETCH (FLAGS (\\Seen)))\r\n", "unexpected data")]
    [InlineData("* LIST (\\Noselect \"/\" foo\r\n", "expected")]
    [InlineData("* 4294967296 EXISTS\r\n", "number (32-bit) out of range")]
    [InlineData("* 0 EXPUNGE\r\n", "message sequence number 0")]
    [InlineData("* OK [UIDVALIDITY 0] x\r\n", "non-zero")]
    [InlineData("* OK [HIGHESTMODSEQ 9223372036854775808] x\r\n", "63-bit")]
    [InlineData("* OK [UIDNEXT 5 x\r\n", "']'")]
    [InlineData("A1 MAYBE fine\r\n", "expected OK, NO or BAD")]
    [InlineData("* LIST () \"ab\" x\r\n", "one character")]
    [InlineData("* LIST () \"/\" \"un&terminated\"\r\n", "not closed by '-'")]
    [InlineData("* STATUS x (MESSAGES \"5\")\r\n", "expected number")]
    [InlineData("* OK \"bad \\q escape\"\r\n", "")]
    [InlineData("* LIST () \"/\" \"a\\qb\"\r\n", "invalid escape")]
    [InlineData("* 1 FETCH (INTERNALDATE \"yesterday\")\r\n", "invalid INTERNALDATE")]
    [InlineData("garbage\r\n", "SP")]
    [InlineData("\r\n", "expected atom")]
    [InlineData("*\r\n", "expected SP")]
    public void Malformed_responses_fail_precisely(string response, string expected)
    {
        if (expected.Length == 0)
        {
            Parse(response); // resp-text is free text: a lenient parse is right here.
            return;
        }
        var e = Fails(response);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.Contains("offset", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Nul_bytes_are_rejected_everywhere_but_literal8()
    {
        Assert.Contains("NUL", Fails("* OK hello\0world\r\n").Message, StringComparison.Ordinal);
        Assert.Contains("NUL", Fails("* LIST () \"/\" \"a\0b\"\r\n").Message, StringComparison.Ordinal);
        Assert.Contains("NUL", Fails("* LIST () \"/\" {3}\r\na\0b\r\n").Message, StringComparison.Ordinal);
        Assert.Contains("NUL", Fails("* CAPABILITY IMAP4rev1 \0\r\n").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Absurd_literal_sizes_fail_when_announced()
    {
        // Framed before a single literal byte arrives: nothing gets buffered.
        var e = Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq("* 1 FETCH (BODY[] {99999999999}\r\n"), ImapLimits.Default, out _));
        Assert.Contains("literal of 99999999999 bytes exceeds the limit", e.Message, StringComparison.Ordinal);
        var huge = Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq("* 1 FETCH (BODY[] {99999999999999999999999}\r\n"), ImapLimits.Default, out _));
        Assert.Contains("out of range", huge.Message, StringComparison.Ordinal);
        Assert.Contains("exceeds the limit of 50", Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq("* 1 FETCH (BODY[] {51}\r\n"), Small, out _)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Over_long_lines_fail_with_or_without_crlf()
    {
        var line = "* OK " + new string('x', 200);
        Assert.Contains("without CRLF", Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq(line), Small, out _)).Message, StringComparison.Ordinal);
        Assert.Contains("exceeds the limit of 100", Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq(line + "\r\n"), Small, out _)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Missing_cr_is_an_error_and_missing_crlf_waits()
    {
        Assert.Contains("LF without CR", Assert.Throws<ImapProtocolException>(() =>
            ImapResponseFramer.TryFindEnd(Seq("* OK hi\n"), ImapLimits.Default, out _)).Message, StringComparison.Ordinal);
        Assert.False(ImapResponseFramer.TryFindEnd(Seq("* OK hi"), ImapLimits.Default, out _));
    }

    [Fact]
    public void Deep_nesting_fails()
    {
        Assert.Contains("nested deeper than the limit of 4", Fails("* X ((((((1))))))\r\n", Small).Message, StringComparison.Ordinal);
        var deep = "* X " + new string('(', 10_000) + new string(')', 10_000) + "\r\n";
        Assert.Contains("nested deeper", Fails(deep, ImapLimits.Default with { MaxLineLength = 30_000 }).Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_literal_at_end_of_stream_is_an_error_not_a_hang()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("* 1 FETCH (BODY[] {10}\r\nabc"));
        await pipe.Writer.CompleteAsync();
        var reader = new ImapResponseReader(pipe.Reader);
        var e = await Assert.ThrowsAsync<ImapProtocolException>(async () => await reader.ReadAsync());
        Assert.Contains("closed in the middle of a response", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reader_assembles_responses_arriving_byte_by_byte()
    {
        var pipe = new Pipe();
        var reader = new ImapResponseReader(pipe.Reader);
        var bytes = Encoding.ASCII.GetBytes("* 3 EXISTS\r\n* 1 FETCH (UID 5 BODY[] {4}\r\nab\r\n)\r\nA1 OK done\r\n");
        var writer = Task.Run(async () =>
        {
            foreach (var b in bytes)
            {
                await pipe.Writer.WriteAsync(new[] { b });
            }
            await pipe.Writer.CompleteAsync();
        });
        Assert.IsType<ImapExistsResponse>(await reader.ReadAsync());
        Assert.Equal("ab\r\n", Assert.IsType<ImapFetchResponse>(await reader.ReadAsync()).Other[0].Value.Text);
        Assert.IsType<ImapTaggedResponse>(await reader.ReadAsync());
        Assert.Null(await reader.ReadAsync());
        await writer;
    }

    private static ReadOnlySequence<byte> Seq(string s) => new(Encoding.ASCII.GetBytes(s));
}
