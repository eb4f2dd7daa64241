using System.Text;
using Aggregators.EventModel.Json;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests.Json;

/// <summary>
/// <see cref="MailEventJson.TryValidate"/> (the in-process ingest's check) against the codec: an event
/// object is judged exactly as the JSON the encoder writes for it, which is what a bridge sends over HTTP.
/// </summary>
public class ValidateTests
{
    private static readonly Config Many = Config.QuickThrowOnFailure.WithMaxTest(1000);

    private static readonly AccountId Bob = AccountId.Parse("bob@example.org");

    /// <summary>Ways a producer's event object can be wrong (or need normalising), one at a time.</summary>
    private static readonly Func<MailEvent, MailEvent>[] Mutations =
    [
        e => e with { Id = "" },
        e => e with { Id = "has space" },
        e => e with { Id = new string('x', 201) },
        e => e with { Id = "caf\u00e9" },
        e => e with { ClientIp = "nope" },
        e => e with { ClientIp = "1234" },
        e => e with { ServerPort = -1 },
        e => e with { ServerPort = 70000 },
        e => e with { ClientPort = 65536 },
        e => e with { Pid = -5 },
        e => e with { Uidset = "0" },
        e => e with { Uidset = "1:" },
        e => e with { Uidset = "" },
        e => e with { Service = "a\u0001b" },
        e => e with { Admin = "line\nbreak" },
        e => e with { Subject = "next\u0085line" },
        e => e with { Envelope = "nul\0" },
        e => e with { MessageContent = "multi\r\nline is fine" },
        e => e with { FlagNames = ["\\Recent"] },
        e => e with { FlagNames = ["\\seen", "\\RECENT"] },
        e => e with { FlagNames = ["bad(flag"] },
        e => e with { FlagNames = [] },
        e => e with { FlagNames = ["", " "] },
        e => e with { FlagNames = ["\\Seen \\Flagged"] },
        e => e with { FlagNames = ["\\Seen", ""] },
        e => e with { FlagNames = new List<string> { "$Junk", "\\Answered" } },
        e => e with { FlagNames = ["a\u0001"] },
        e => e with { FlagNames = ["a\tb"] },
        e => e with { Tags = ["", "x"] },
        e => e with { Tags = ["ok", "a\nb"] },
        e => e with { Tags = [] },
        e => e with { Uri = "not a url" },
        e => e with { Uri = "IMAP://Host.Example/%49NBOX;UIDVALIDITY=7/;UID=3" },
        e => e with { MailboxId = "imap://host.example/Work%2fReports" },
        e => e with { MailboxId = "imap://host.example/" },
        e => e with { OldMailboxId = "imap://host.example/Old" },
        e => e with { OldMailboxId = "http://example.com/" },
        e => e with { Mailbox = MailboxPath.Root },
        e => e with { Mailbox = MailboxPath.Inbox },
        e => e with { OldMailbox = MailboxPath.Root },
        e => e with { OldMailbox = MailboxPath.Parse("Archive/2025") },
        e => e with { OldMailbox = null },
        e => e with { Account = default },
        e => e with { Type = MailEventType.FlagsSet },
        e => e with { Type = MailEventType.Login },
        e => e with { Type = MailEventType.MailboxRename },
        e => e with { Type = (MailEventType)99 },
        e => e with { Service = "lone \uD800 surrogate" },
        e => e with { FlagNames = ["\\Seen", "\uDC00x"] },
        e => e with { Tags = ["\uD83D"] },
        e => e with { Mailbox = MailboxPath.Parse("Lone\uDBFF") },
        e => e with { Vendor = [new VendorParameter("x.y", "1")] },
        e => e with { Vendor = [new VendorParameter("vnd.", "1")] },
        e => e with { Vendor = [new VendorParameter("vnd.a", "1"), new VendorParameter("vnd.a", "2")] },
        e => e with { Vendor = [new VendorParameter("vnd.deep", new string('[', 17) + new string(']', 17))] },
        e => e with { Vendor = [new VendorParameter("vnd.ws", " {\"a\": 1} ")] },
        e => e with { Vendor = [new VendorParameter("vnd.bad", "not json")] },
        e => e with { Vendor = [new VendorParameter("vnd.s", "\"" + new string('s', 70_000) + "\"")] },
        // Named exactly like an RFC 5423 parameter: the decoder reads the member as that parameter.
        e => e with { Vendor = [new VendorParameter("uidnext", "5")] },
        e => e with { Vendor = [new VendorParameter("uidnext", "-5")] },
        e => e with { Vendor = [new VendorParameter("subject", "7")] },
        e => e with { Vendor = [new VendorParameter("id", "\"v1\"")] },
        e => e with { Vendor = [new VendorParameter("event", "\"MessageNew\"")] },
        e => e with { Vendor = [new VendorParameter("mailbox", "\"Work\"")] },
        e => e with { Vendor = [new VendorParameter("spam", "false")] },
        e => e with { Vendor = [new VendorParameter("totals", "{\"messages\":1,\"unseen\":0,\"uidnext\":2,\"uidvalidity\":3}")] },
        e => e with { Vendor = [new VendorParameter("vnd.a", "1"), new VendorParameter("messages", "1"), new VendorParameter("messages", "2")] },
        e => e with { Vendor = [new VendorParameter("uidnext", "not json")] },
        // Names are case-sensitive: another case is an unknown parameter to both.
        e => e with { Vendor = [new VendorParameter("Uidnext", "5")] },
        e => e with { Vendor = [new VendorParameter("SUBJECT", "\"x\"")] },
        e => e with { Subject = new string('s', 70_000) },
        e => e with { FlagNames = Enumerable.Repeat("$k", 1025).ToArray() },
        e => e with { Tags = Enumerable.Repeat("t", 1025).ToArray() },
    ];

    private static Gen<MailEvent> Mutated =>
        from e in Generators.Event
        from picks in Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, Mutations.Length - 1), n))
        select picks.Aggregate(e, (acc, i) => Mutations[i](acc));

    [Fact]
    public void Validate_judges_an_event_as_the_decoder_judges_its_encoding() =>
        Prop.ForAll(Arb.From(Mutated), e =>
        {
            var valid = MailEventJson.TryValidate(e, 3, out var normalised, out var error);
            byte[] json;
            try
            {
                json = MailEventJson.Encode(e);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
            {
                // Not even writable as JSON: it must be refused, with a reason.
                return !valid && error is { Index: 3 };
            }
            var decoded = MailEventJson.TryDecode(json, 3, out var back, out var decodeError);
            if (valid != decoded || error != decodeError)
            {
                throw new InvalidOperationException($"validate: {valid} {error}\ndecode: {decoded} {decodeError}\n{Encoding.UTF8.GetString(json)}");
            }
            if (valid && !MailEventJson.Encode(normalised!).AsSpan().SequenceEqual(MailEventJson.Encode(back!)))
            {
                throw new InvalidOperationException($"normalised differently:\n{MailEventAssert.Show(normalised!)}\n{MailEventAssert.Show(back!)}");
            }
            return true;
        }).Check(Many);

    [Fact]
    public void A_vendor_parameter_named_like_a_standard_one_is_that_parameter_as_the_decoder_reads_it()
    {
        var e = new MailEvent { Type = MailEventType.MessageNew, Account = Bob, Mailbox = MailboxPath.Inbox, Vendor = [new VendorParameter("uidnext", "5")] };
        Assert.True(MailEventJson.TryValidate(e, 0, out var normalised, out var error), error?.ToString());
        Assert.Equal(5u, normalised!.Uidnext);
        Assert.Null(normalised.Vendor);
        Assert.True(MailEventJson.TryDecode(MailEventJson.Encode(e), 0, out var decoded, out _));
        Assert.Equal(5u, decoded!.Uidnext);

        Assert.False(MailEventJson.TryValidate(e with { Uidnext = 4 }, 0, out _, out error));
        Assert.Equal("'uidnext' appears more than once", error!.Message);
        Assert.False(MailEventJson.TryValidate(e with { Vendor = [new VendorParameter("UIDNEXT", "5")] }, 0, out _, out error));
        Assert.Contains("unknown parameter 'UIDNEXT'", error!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_mutation_alone_is_judged_as_its_encoding()
    {
        var e = new MailEvent { Type = MailEventType.MessageNew, Account = Bob, Mailbox = MailboxPath.Inbox, Id = "n1", FlagNames = ["\\Seen"] };
        foreach (var mutate in Mutations)
        {
            var m = mutate(e);
            var valid = MailEventJson.TryValidate(m, 0, out _, out var error);
            byte[] json;
            try
            {
                json = MailEventJson.Encode(m);
            }
            catch (Exception ex) when (ex is ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
            {
                Assert.False(valid);
                Assert.NotNull(error);
                continue;
            }
            MailEventJson.TryDecode(json, 0, out _, out var decodeError);
            Assert.Equal(decodeError, error);
        }
    }

    [Fact]
    public void A_valid_event_is_accepted_as_is()
    {
        var e = new MailEvent
        {
            Type = MailEventType.MessageRead, Account = Bob, Mailbox = MailboxPath.Inbox, Id = "r1",
            Totals = new MailboxTotals(3, 0, 9, 1), FlagNames = ["\\Seen"], Uidset = "8",
        };
        Assert.True(MailEventJson.TryValidate(e, 0, out var normalised, out var error));
        Assert.Null(error);
        Assert.True(MailEventAssert.AreEqual(e, normalised!));
    }

    [Fact]
    public void Precise_errors_name_the_field_and_the_rule()
    {
        var e = new MailEvent { Type = MailEventType.FlagsSet, Account = Bob, Mailbox = MailboxPath.Inbox };
        Assert.False(MailEventJson.TryValidate(e, 2, out _, out var error));
        Assert.Equal(new EventError(2, "flagNames", "'flagNames' is required for FlagsSet events (RFC 5423 §4.2)"), error);

        Assert.False(MailEventJson.TryValidate(e with { FlagNames = ["\\Recent"] }, 0, out _, out error));
        Assert.Equal("'flagNames' must not include \\Recent (RFC 5423 §4.2)", error!.Message);

        Assert.False(MailEventJson.TryValidate(e with { FlagNames = ["\\Seen"], ServerPort = 70000 }, 0, out _, out error));
        Assert.Equal(new EventError(0, "serverPort", "'serverPort' is too large: it must be a whole number from 0 to 65535 (got 70000)"), error);

        // JSON text is Unicode: a lone surrogate is written, and so taken, as U+FFFD.
        Assert.True(MailEventJson.TryValidate(e with { FlagNames = ["\\Seen"], Service = "a\uD800" }, 0, out var normalised, out _));
        Assert.Equal("a\uFFFD", normalised!.Service);

        Assert.False(MailEventJson.TryValidate(e with { FlagNames = ["\\Seen"], Vendor = [new VendorParameter("vnd.x", "{")] }, 0, out _, out error));
        Assert.Equal("vnd.x", error!.Field);
        Assert.StartsWith("'vnd.x' is not valid JSON: ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_mailbox_is_taken_from_the_mailbox_url_when_absent()
    {
        var e = new MailEvent { Type = MailEventType.MessageNew, Account = Bob, MailboxId = "imap://bob@host.example/Work/Reports" };
        Assert.True(MailEventJson.TryValidate(e, 0, out var normalised, out _));
        Assert.Equal(MailboxPath.Parse("Work/Reports"), normalised!.Mailbox);
    }

    [Fact]
    public void An_event_over_the_size_limit_is_refused_as_the_decoder_refuses_it()
    {
        var e = new MailEvent
        {
            Type = MailEventType.MessageNew, Account = Bob, Mailbox = MailboxPath.Inbox,
            MessageContent = new string('m', 1 << 20), Envelope = new string('e', 60_000),
        };
        Assert.False(MailEventJson.TryValidate(e, 0, out _, out var error));
        MailEventJson.TryDecode(MailEventJson.Encode(e), 0, out _, out var decodeError);
        Assert.Equal(decodeError, error);
        Assert.StartsWith("the event is ", error!.Message, StringComparison.Ordinal);
    }
}
