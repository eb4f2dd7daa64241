using System.Text;
using Aggregators.EventModel.Json;

namespace Aggregators.EventModel.Tests.Json;

/// <summary>Bad input gives an error naming the field and a reason; never an exception.</summary>
public class HostileInputTests
{
    private static EventError Fail(string json) => Fail(Encoding.UTF8.GetBytes(json));

    private static EventError Fail(byte[] utf8)
    {
        Assert.False(MailEventJson.TryDecode(utf8, 5, out var e, out var error));
        Assert.Null(e);
        Assert.NotNull(error);
        Assert.Equal(5, error.Index);
        return error;
    }

    private static void AssertError(string json, string? field, params string[] words)
    {
        var error = Fail(json);
        Assert.Equal(field, error.Field);
        foreach (var w in words)
        {
            Assert.Contains(w, error.Message, StringComparison.Ordinal);
        }
    }

    private const string Ok = "\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailbox\":\"INBOX\"";

    [Theory]
    [InlineData("", "empty")]
    [InlineData("   ", "empty")]
    [InlineData("{", "truncated")]
    [InlineData("{\"event\":\"MessageNew\",\"acc", "truncated")]
    [InlineData("{\"event\":\"MessageNew\",\"messages\":12", "truncated")]
    [InlineData("{\"event\" \"MessageNew\"}", "not valid JSON")]
    [InlineData("{\"event\":\"MessageNew\",}", "not valid JSON")]
    [InlineData("{'event':1}", "not valid JSON")]
    [InlineData("{\"event\":\"MessageNew\"} {}", "not valid JSON")]
    [InlineData("{\"event\":\"MessageNew\"} x", "not valid JSON")]
    [InlineData("{\"a\":1 /* c */}", "not valid JSON")]
    [InlineData("{\"event\":tru}", "not valid JSON")]
    [InlineData("{\"messages\":01}", "not valid JSON")]
    [InlineData("{\"messages\":NaN}", "not valid JSON")]
    [InlineData("[]", "must be a JSON object, not an array")]
    [InlineData("\"MessageNew\"", "must be a JSON object, not a string")]
    [InlineData("null", "must be a JSON object")]
    public void Malformed_json_is_an_event_level_error(string json, string words) =>
        AssertError(json, null, words);

    [Fact]
    public void Invalid_utf8_in_a_value_names_the_field()
    {
        var bytes = Encoding.UTF8.GetBytes("{" + Ok + ",\"subject\":\"X\"}");
        bytes[^3] = 0xC3; // 0xC3 followed by '"' is a broken sequence
        var error = Fail(bytes);
        Assert.Equal("subject", error.Field);
        Assert.Contains("UTF-8", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_key_is_reported()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"X\":1}");
        bytes[2] = 0xFF;
        Assert.Contains("UTF-8", Fail(bytes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_utf8_in_a_vendor_value_is_reported()
    {
        var bytes = Encoding.UTF8.GetBytes("{" + Ok + ",\"vnd.x\":\"ab\"}");
        bytes[^4] = 0xE2;
        Assert.Equal("vnd.x", Fail(bytes).Field);
    }

    [Fact]
    public void Lone_surrogate_escape_is_reported() =>
        AssertError("{" + Ok + ",\"subject\":\"\\ud800\"}", "subject", "surrogate");

    [Fact]
    public void Deep_nesting_is_refused_without_stack_trouble()
    {
        var deep = "{" + Ok + ",\"vnd.deep\":" + new string('[', 20) + new string(']', 20) + "}";
        AssertError(deep, "vnd.deep", "deeper than 16");
        var deeper = "{" + Ok + ",\"vnd.deep\":" + new string('[', 100_000) + new string(']', 100_000) + "}";
        Assert.Contains("deeper", Fail(deeper).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Huge_strings_are_refused()
    {
        AssertError("{" + Ok + ",\"subject\":\"" + new string('x', 70_000) + "\"}", "subject", "64 KiB");
        AssertError("{" + Ok + ",\"vnd.big\":\"" + new string('x', 70_000) + "\"}", "vnd.big", "64 KiB");
        // messageContent may be larger, but not beyond the 1 MiB event limit.
        var content = new string('x', 200_000);
        Assert.Equal(content, DecodeExamplesTests.Decode("{" + Ok + ",\"messageContent\":\"" + content + "\"}").MessageContent);
        AssertError("{" + Ok + ",\"messageContent\":\"" + new string('x', 1_100_000) + "\"}", null, "MiB");
        // Escapes count after decoding: 6 bytes of \u0041 are one byte of text.
        var escaped = string.Concat(Enumerable.Repeat("\\u0041", 12_000));
        Assert.Equal(12_000, DecodeExamplesTests.Decode("{" + Ok + ",\"subject\":\"" + escaped + "\"}").Subject!.Length);
    }

    [Theory]
    [InlineData("\"messages\":-1", "messages", "not negative")]
    [InlineData("\"messages\":4294967296", "messages", "too large")]
    [InlineData("\"messages\":99999999999999999999999999999999", "messages", "too large")]
    [InlineData("\"messages\":1.5", "messages", "fraction")]
    [InlineData("\"messages\":1.0", "messages", "fraction")]
    [InlineData("\"messages\":1e3", "messages", "exponent")]
    [InlineData("\"messages\":\"12\"", "messages", "must be a whole number", "not a string")]
    [InlineData("\"modseq\":18446744073709551616", "modseq", "too large")]
    [InlineData("\"serverPort\":65536", "serverPort", "0 to 65535")]
    [InlineData("\"clientPort\":-5", "clientPort", "not negative")]
    [InlineData("\"pid\":2147483648", "pid", "too large")]
    [InlineData("\"uidnext\":null", "uidnext", "not null")]
    [InlineData("\"messages\":1e400", "messages", "exponent")]
    [InlineData("\"diskUsed\":184467440737095516150", "diskUsed", "too large", "18446744073709551615")]
    [InlineData("\"messageSize\":true", "messageSize", "not true/false")]
    public void Numbers_must_be_integers_in_range(string member, string field, params string[] words) =>
        AssertError("{" + Ok + "," + member + "}", field, words);

    [Theory]
    [InlineData("\"totals\":{\"messages\":1,\"unseen\":-1,\"uidnext\":2,\"uidvalidity\":3}", "totals.unseen", "not negative")]
    [InlineData("\"totals\":{\"messages\":1,\"unseen\":0,\"uidnext\":2}", "totals.uidvalidity", "required")]
    [InlineData("\"totals\":{\"unseen\":0,\"uidnext\":2,\"uidvalidity\":3}", "totals.messages", "required")]
    [InlineData("\"totals\":{}", "totals.messages", "required")]
    [InlineData("\"totals\":{\"messages\":1,\"messages\":2}", "totals.messages", "more than once")]
    [InlineData("\"totals\":{\"messages\":1,\"recent\":2}", "totals.recent", "unknown member 'recent'")]
    [InlineData("\"totals\":{\"messages\":1.5}", "totals.messages", "fraction")]
    [InlineData("\"totals\":{\"messages\":4294967296}", "totals.messages", "too large")]
    [InlineData("\"totals\":[1,2,3,4]", "totals", "must be an object", "not an array")]
    [InlineData("\"totals\":null", "totals", "not null")]
    public void Totals_errors_name_the_member(string member, string field, params string[] words) =>
        AssertError("{" + Ok + "," + member + "}", field, words);

    [Fact]
    public void Unseen_above_messages_is_accepted_because_servers_race()
    {
        var e = DecodeExamplesTests.Decode("{" + Ok + ",\"totals\":{\"messages\":1,\"unseen\":5,\"uidnext\":2,\"uidvalidity\":3}}");
        Assert.Equal(5u, e.Totals!.Value.Unseen);
    }

    [Theory]
    [InlineData("{\"account\":\"a@b.c\",\"mailbox\":\"INBOX\"}", "event", "required")]
    [InlineData("{\"event\":\"NewMessage\",\"account\":\"a@b.c\"}", "event", "'NewMessage' is not an RFC 5423 event type", "MessageNew")]
    [InlineData("{\"event\":\"messagenew\",\"account\":\"a@b.c\"}", "event", "not an RFC 5423 event type")]
    [InlineData("{\"event\":7,\"account\":\"a@b.c\"}", "event", "must be a string, not a number")]
    [InlineData("{\"event\":\"MessageNew\",\"mailbox\":\"INBOX\"}", "account", "required", "user")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"\",\"mailbox\":\"INBOX\"}", "account", "not a valid account", "empty")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a b\",\"mailbox\":\"INBOX\"}", "account", "forbidden character")]
    [InlineData("{\"event\":\"MessageNew\",\"user\":\"@x\",\"mailbox\":\"INBOX\"}", "user", "not a valid account")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":[\"a\"],\"mailbox\":\"INBOX\"}", "account", "must be a string, not an array")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\"}", "mailbox", "required for MessageNew", "mailboxID")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailbox\":\"\"}", "mailbox", "must name a mailbox")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailbox\":\"a//b\"}", "mailbox", "empty segment")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailbox\":\"a%2Gb\"}", "mailbox", "unsupported escape")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailboxID\":\"imap://h/\"}", "mailbox", "names no mailbox")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"mailboxID\":\"http://h/INBOX\"}", "mailboxID", "not a valid IMAP URL", "imap://")]
    [InlineData("{\"event\":\"MessageNew\",\"account\":\"a@b.c\",\"uri\":\"imap://h/a//b\"}", "uri", "not usable", "empty segment")]
    [InlineData("{\"event\":\"QuotaExceed\",\"account\":\"a@b.c\",\"mailbox\":\"INBOX\"}", "mailbox", "not allowed on QuotaExceed")]
    [InlineData("{\"event\":\"Login\",\"account\":\"a@b.c\",\"mailbox\":\"\"}", "mailbox", "not allowed on Login")]
    [InlineData("{\"event\":\"MailboxRename\",\"account\":\"a@b.c\",\"mailbox\":\"New\"}", "oldMailbox", "required for MailboxRename")]
    [InlineData("{\"event\":\"MailboxCreate\",\"account\":\"a@b.c\",\"mailbox\":\"New\",\"oldMailbox\":\"Old\"}", "oldMailbox", "only allowed on MailboxRename")]
    [InlineData("{\"event\":\"MailboxCreate\",\"account\":\"a@b.c\",\"mailbox\":\"New\",\"oldMailboxID\":\"imap://h/Old\"}", "oldMailboxID", "only allowed on MailboxRename")]
    [InlineData("{\"event\":\"FlagsSet\",\"account\":\"a@b.c\",\"mailbox\":\"INBOX\"}", "flagNames", "required for FlagsSet")]
    [InlineData("{\"event\":\"FlagsClear\",\"account\":\"a@b.c\",\"mailbox\":\"INBOX\",\"flagNames\":\"\"}", "flagNames", "names no flag")]
    public void Missing_and_misplaced_fields_are_named(string json, string field, params string[] words) =>
        AssertError(json, field, words);

    [Theory]
    [InlineData("\"flagNames\":\"\\\\Seen (bad\"", "flagNames", "'(bad'", "not an IMAP flag")]
    [InlineData("\"flagNames\":\"\\\\*\"", "flagNames", "not an IMAP flag")]
    [InlineData("\"flagNames\":[\"\\\\Seen\",\"a]b\"]", "flagNames[1]", "not an IMAP flag")]
    [InlineData("\"flagNames\":[\"\\\\Seen\",7]", "flagNames[1]", "must be a string")]
    [InlineData("\"flagNames\":{}", "flagNames", "must be a string of space-separated flags or an array")]
    [InlineData("\"tags\":\"vip\"", "tags", "must be an array of strings")]
    [InlineData("\"tags\":[\"vip\",\"\"]", "tags[1]", "empty")]
    [InlineData("\"uidset\":\"1:*,0\"", "uidset", "'0'", "sequence-set")]
    [InlineData("\"uidset\":\"1,,2\"", "uidset", "sequence-set")]
    [InlineData("\"uidset\":\"4294967296\"", "uidset", "sequence-set")]
    [InlineData("\"uidset\":\"1:\"", "uidset", "range")]
    [InlineData("\"uidset\":\"\"", "uidset", "empty")]
    [InlineData("\"id\":\"\"", "id", "1 to 200")]
    [InlineData("\"id\":\"a b\"", "id", "printable")]
    [InlineData("\"spam\":\"yes\"", "spam", "true or false")]
    [InlineData("\"timestamp\":\"2026-02-30T00:00:00Z\"", "timestamp", "not a real calendar date")]
    [InlineData("\"timestamp\":\"2026-02-01\"", "timestamp", "RFC 3339")]
    [InlineData("\"timestamp\":\"2026-02-01T10:00:00\"", "timestamp", "RFC 3339")]
    [InlineData("\"timestamp\":\"2026-06-30T23:59:60Z\"", "timestamp", "leap second")]
    [InlineData("\"timestamp\":1700000000", "timestamp", "RFC 3339 date-time string", "not a number")]
    [InlineData("\"clientIP\":\"example.com\"", "clientIP", "not an IPv4 or IPv6")]
    [InlineData("\"clientIP\":\"1\"", "clientIP", "not an IPv4 or IPv6")]
    [InlineData("\"subject\":\"a\\u0000b\"", "subject", "control character")]
    [InlineData("\"subject\":\"line\\r\\nInjected: x\"", "subject", "control character")]
    [InlineData("\"uri\":\"imap://h/INBOX;UIDVALIDITY=0\"", "uri", "UIDVALIDITY", "1 to 4294967295")]
    [InlineData("\"uri\":\"imap://h/INBOX/;UID=12/;URLAUTH=anonymous:internal:abc\"", "uri", "URLAUTH")]
    public void Parameter_values_are_validated(string member, string field, params string[] words) =>
        AssertError("{" + Ok + "," + member + "}", field, words);

    [Fact]
    public void Multiline_text_is_fine_in_message_content()
    {
        var e = DecodeExamplesTests.Decode("{" + Ok + ",\"messageContent\":\"Subject: x\\r\\n\\r\\nbody\\r\\n\"}");
        Assert.Equal("Subject: x\r\n\r\nbody\r\n", e.MessageContent);
    }

    [Theory]
    [InlineData("\"event\":\"MessageNew\"", "event")]
    [InlineData("\"account\":\"x@y\"", "account")]
    [InlineData("\"mailbox\":\"INBOX\"", "mailbox")]
    [InlineData("\"vnd.a\":1,\"vnd.a\":2", "vnd.a")]
    public void Duplicate_keys_are_refused(string member, string field) =>
        AssertError("{" + Ok + "," + member + "}", field, "more than once");

    [Theory]
    [InlineData("\"unseen\":3", "unseen")]
    [InlineData("\"Event\":\"x\"", "Event")]
    [InlineData("\"vnd.\":1", "vnd.")]
    [InlineData("\"VND.x\":1", "VND.x")]
    [InlineData("\"\":1", "")]
    public void Unknown_keys_are_refused_with_the_rfc_hint(string member, string field) =>
        AssertError("{" + Ok + "," + member + "}", field, $"unknown parameter '{field}'", "vendor parameters must start with 'vnd.' (RFC 5423 §4)");

    [Fact]
    public void Hostile_key_names_are_clipped_in_messages()
    {
        var error = Fail("{" + Ok + ",\"" + new string('k', 10_000) + "\":1}");
        Assert.True(error.Message.Length < 300, error.Message);
    }

    [Fact]
    public void Too_many_vendor_parameters_are_refused()
    {
        var members = string.Join(",", Enumerable.Range(0, 300).Select(i => $"\"vnd.p{i}\":{i}"));
        AssertError("{" + Ok + "," + members + "}", "vnd.p256", "at most 256");
    }

    [Fact]
    public void Oversized_event_is_refused_before_parsing()
    {
        var bytes = new byte[MailEventJson.MaxEventBytes + 1];
        Assert.Contains("MiB", Fail(bytes).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        var random = new Random(42);
        var seed = Encoding.UTF8.GetBytes("""{"event":"MessageNew","account":"a@b.c","mailbox":"INBOX","totals":{"messages":1,"unseen":0,"uidnext":2,"uidvalidity":3},"flagNames":["\\Seen"],"vnd.x":[1,{"a":null}]}""");
        for (var i = 0; i < 20_000; i++)
        {
            var bytes = (byte[])seed.Clone();
            var mutations = random.Next(1, 4);
            for (var m = 0; m < mutations; m++)
            {
                bytes[random.Next(bytes.Length)] = (byte)random.Next(256);
            }
            var length = random.Next(2) == 0 ? bytes.Length : random.Next(bytes.Length);
            var ok = MailEventJson.TryDecode(bytes.AsSpan(0, length), i, out var e, out var error);
            Assert.True(ok ? e is not null && error is null : e is null && error is not null);
            _ = MailEventJson.DecodeBatch(bytes.AsSpan(0, length), BatchFormat.JsonArray, 10);
            _ = MailEventJson.DecodeBatch(bytes.AsSpan(0, length), BatchFormat.NdJson, 10);
        }
    }
}
