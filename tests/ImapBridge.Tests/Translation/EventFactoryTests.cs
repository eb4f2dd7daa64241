using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using Aggregators.ImapBridge.Translation;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.ImapBridge.Tests.Translation;

public sealed class EventFactoryTests
{
    [Theory]
    [InlineData("inbox", '/', "INBOX")]
    [InlineData("Work/Reports", '/', "Work/Reports")]
    [InlineData("INBOX.a/b", '.', "INBOX/a%2Fb")]
    [InlineData("a//b", '/', "a/_/b")]
    [InlineData("bad\u0001name", '/', "bad\uFFFDname")]
    public void Imap_names_map_to_notification_paths(string imap, char delimiter, string path) =>
        Assert.Equal(path, EventFactory.ToPath(imap, delimiter).Value);

    [Fact]
    public void Any_server_name_gives_an_event_that_encodes_and_decodes()
    {
        var factory = new EventFactory(AccountId.Parse("juliet@example.com"));
        var names = Gen.ListOf(Gen.Elements('a', '/', '.', '\u0000', '\u0007', ' ', 'ä', '%', '*')).Select(cs => new string(cs.ToArray()))
            .Where(s => s.Length > 0);
        Prop.ForAll(Arb.From(names), name =>
        {
            var e = factory.Create(MailEventType.MessageNew, name, '/', 7, "uid:1", new MailboxTotals(1, 1, 2, 7), "1");
            var json = MailEventJson.Encode(e);
            return MailEventJson.TryDecode(json, 0, out var back, out _) && back!.Mailbox == e.Mailbox && back.Id == e.Id;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
