using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Pna.Transports.Sip;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Sip;

public class MessageSummaryBytesTests
{
    /// <summary>The per-dialog writer is byte for byte the RFC 3842 codec's output.</summary>
    [Fact]
    public void Writes_what_MessageSummary_writes()
    {
        var gen =
            from messages in Gen.Choose(0, 100_000)
            from unseen in Gen.Choose(0, 100_000)
            from cls in Gen.Elements("text-message", "voice-message", "multimedia-message")
            from account in Gen.Elements<string?>("sip:juliet@example.com", null, "sip:ü@example.com")
            select (Totals: new MailboxTotals((uint)messages, (uint)unseen, 1, 1), cls, account);
        Prop.ForAll(Arb.From(gen), c =>
            Assert.Equal(MessageSummary.FromTotals(c.Totals, c.account, c.cls).ToBytes(), new MessageSummaryBytes(c.account, c.cls).Encode(c.Totals)))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Rejects_what_the_codec_rejects()
    {
        Assert.Throws<ArgumentException>(() => new MessageSummaryBytes("sip:a@b\r\nX: y", "text-message"));
        Assert.Throws<ArgumentException>(() => new MessageSummaryBytes("sip:a@b", "coffee-message"));
    }
}
