using Aggregators.EventModel.Bodies;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests.Bodies;

public class MessageSummaryTests
{
    // RFC 3842 §7.1 (the NOTIFY body of the example flow).
    private const string Rfc3842Example =
        "Messages-Waiting: yes\r\n" +
        "Message-Account: sip:alice@vmail.example.com\r\n" +
        "Voice-Message: 2/8 (0/2)\r\n";

    // RFC 3842 §5.2's example with optional message headers after a blank line.
    private const string Rfc3842WithHeaders =
        "Messages-Waiting: yes\r\n" +
        "Message-Account: sip:alice@vmail.example.com\r\n" +
        "Voice-Message: 4/8 (1/2)\r\n" +
        "\r\n" +
        "To: <alice@atlanta.example.com>\r\n" +
        "From: <bob@biloxi.example.com>\r\n" +
        "Subject: carpool tomorrow?\r\n" +
        "Message-Context: voice-message\r\n" +
        "Content-Type: audio/wav\r\n";

    [Fact]
    public void Rfc3842_example_parses_and_writes_back_byte_exact()
    {
        var s = MessageSummary.Parse(Rfc3842Example);
        Assert.True(s.MessagesWaiting);
        Assert.Equal("sip:alice@vmail.example.com", s.MessageAccount);
        Assert.Equal([new MessageSummaryLine("voice-message", 2, 8, 0, 2)], s.Lines);
        Assert.Equal(Rfc3842Example, s.ToString());
    }

    [Fact]
    public void Message_headers_after_the_blank_line_are_skipped()
    {
        var s = MessageSummary.Parse(Rfc3842WithHeaders);
        Assert.Equal([new MessageSummaryLine("voice-message", 4, 8, 1, 2)], s.Lines);
    }

    [Fact]
    public void Minimal_body_and_lenient_whitespace_case_and_bare_lf()
    {
        Assert.False(MessageSummary.Parse("Messages-Waiting: no\r\n").MessagesWaiting);
        var s = MessageSummary.Parse("messages-waiting:YES\ntext-message:  3 / 5\nFax-Message: 1/0 ( 0 / 0 )\n");
        Assert.True(s.MessagesWaiting);
        Assert.Equal(new MessageSummaryLine("text-message", 3, 5), s.Lines[0]);
        Assert.Equal(new MessageSummaryLine("fax-message", 1, 0, 0, 0), s.Lines[1]);
    }

    [Theory]
    [InlineData("", "no Messages-Waiting")]
    [InlineData("Voice-Message: 1/2\r\n", "must start with Messages-Waiting")]
    [InlineData("Messages-Waiting: maybe\r\n", "yes or no")]
    [InlineData("Messages-Waiting: yes\r\nMessages-Waiting: no\r\n", "repeated")]
    [InlineData("Messages-Waiting: yes\r\nEmail-Message: 1/2\r\n", "not a message-context class")]
    [InlineData("Messages-Waiting: yes\r\nVoice-Message: 1\r\n", "new/old")]
    [InlineData("Messages-Waiting: yes\r\nVoice-Message: -1/2\r\n", "new/old")]
    [InlineData("Messages-Waiting: yes\r\nVoice-Message: 99999999999/2\r\n", "new/old")]
    [InlineData("Messages-Waiting: yes\r\nVoice-Message: 1/2 (0/1\r\n", "new/old")]
    [InlineData("Messages-Waiting: yes\r\nMessage-Account: nouri\r\n", "URI")]
    [InlineData("Messages-Waiting: yes\r\ngarbage\r\n", "name: value")]
    public void Bad_bodies_are_refused_with_a_reason(string body, string reason)
    {
        Assert.False(MessageSummary.TryParse(body, out var s, out var error));
        Assert.Null(s);
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void From_totals_new_is_unseen_old_is_the_rest()
    {
        var s = MessageSummary.FromTotals(new MailboxTotals(10, 3, 11, 1), "sip:juliet@example.com");
        Assert.Equal(
            "Messages-Waiting: yes\r\nMessage-Account: sip:juliet@example.com\r\nText-Message: 3/7 (0/0)\r\n",
            s.ToString());
        Assert.False(MessageSummary.FromTotals(new MailboxTotals(4, 0, 5, 1), null, "voice-message").MessagesWaiting);
        // Inconsistent totals never underflow.
        Assert.Equal(new MessageSummaryLine("text-message", 2, 0, 0, 0), MessageSummary.FromTotals(new MailboxTotals(2, 5, 3, 1), null).Lines[0]);
    }

    [Fact]
    public void Writer_refuses_header_injection_and_unknown_classes()
    {
        Assert.Throws<ArgumentException>(() => new MessageSummary { MessagesWaiting = true, MessageAccount = "sip:a@b\r\nX: y" }.ToString());
        Assert.Throws<ArgumentException>(() => new MessageSummary { MessagesWaiting = true, Lines = [new("mail", 1, 1)] }.ToString());
    }

    [Fact]
    public void Round_trip_property()
    {
        var gen =
            from messages in Gen.Choose(0, 100_000)
            from unseen in Gen.Choose(0, 100_000)
            from cls in Gen.Elements(MessageSummary.MessageClasses.ToArray())
            from account in Gen.Elements<string?>(null, "sip:a@example.com", "imap://joe@mail.example.com/INBOX")
            select MessageSummary.FromTotals(new MailboxTotals((uint)messages, (uint)unseen, 1, 1), account, cls);
        Prop.ForAll(Arb.From(gen), s =>
        {
            var back = MessageSummary.Parse(s.ToString());
            return back.MessagesWaiting == s.MessagesWaiting && back.MessageAccount == s.MessageAccount && back.Lines.SequenceEqual(s.Lines);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }

    [Fact]
    public void Hostile_input_never_throws()
    {
        Prop.ForAll<string>(text =>
        {
            MessageSummary.TryParse(text, out _, out _);
            return true;
        }).QuickCheckThrowOnFailure();
    }
}
