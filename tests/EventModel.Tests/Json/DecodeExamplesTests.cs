using System.Text;
using Aggregators.EventModel.Json;

namespace Aggregators.EventModel.Tests.Json;

/// <summary>Realistic events of every type, in the shapes our bridge, RFC 5423, Cyrus and Dovecot produce.</summary>
public class DecodeExamplesTests
{
    internal static MailEvent Decode(string json)
    {
        Assert.True(MailEventJson.TryDecode(Encoding.UTF8.GetBytes(json), 0, out var e, out var error), error?.ToString());
        Assert.Null(error);
        return e!;
    }

    public static TheoryData<string, MailEventType> EveryType => new()
    {
        { """{"event":"MessageAppend","account":"joe@example.com","mailbox":"Sent","totals":{"messages":12,"unseen":0,"uidnext":13,"uidvalidity":1700000000},"uidset":"12","messageSize":2048}""", MailEventType.MessageAppend },
        { """{"event":"MessageExpire","account":"joe@example.com","mailbox":"Archive/2019","uidset":"1:40","totals":{"messages":0,"unseen":0,"uidnext":41,"uidvalidity":7}}""", MailEventType.MessageExpire },
        { """{"event":"MessageExpunge","account":"joe@example.com","mailbox":"INBOX","uidset":"3,5:7","totals":{"messages":9,"unseen":2,"uidnext":20,"uidvalidity":7}}""", MailEventType.MessageExpunge },
        { """{"event":"MessageNew","account":"joe@example.com","mailbox":"INBOX","totals":{"messages":10,"unseen":3,"uidnext":21,"uidvalidity":7},"uidset":"20","from":"Romeo <romeo@example.net>","subject":"Dinner?"}""", MailEventType.MessageNew },
        { """{"event":"QuotaExceed","account":"joe@example.com","diskQuota":1048576,"diskUsed":1048577,"maxMessages":10000,"messages":10001}""", MailEventType.QuotaExceed },
        { """{"event":"QuotaWithin","account":"joe@example.com","diskQuota":1048576,"diskUsed":2000}""", MailEventType.QuotaWithin },
        { """{"event":"QuotaChange","account":"joe@example.com","diskQuota":2097152,"maxMessages":20000}""", MailEventType.QuotaChange },
        { """{"event":"MessageRead","account":"joe@example.com","mailbox":"INBOX","uidset":"20","totals":{"messages":10,"unseen":2,"uidnext":21,"uidvalidity":7}}""", MailEventType.MessageRead },
        { """{"event":"MessageTrash","account":"joe@example.com","mailbox":"INBOX","uidset":"4","totals":{"messages":10,"unseen":2,"uidnext":21,"uidvalidity":7}}""", MailEventType.MessageTrash },
        { """{"event":"FlagsSet","account":"joe@example.com","mailbox":"INBOX","uidset":"4:6","flagNames":"\\Flagged $Important"}""", MailEventType.FlagsSet },
        { """{"event":"FlagsClear","account":"joe@example.com","mailbox":"INBOX","uidset":"4","flagNames":["\\Seen"],"totals":{"messages":10,"unseen":3,"uidnext":21,"uidvalidity":7}}""", MailEventType.FlagsClear },
        { """{"event":"Login","account":"joe@example.com","service":"imap","serverDomain":"example.com","serverPort":143,"clientIP":"192.0.2.7","clientPort":51234,"user":"joe@example.com"}""", MailEventType.Login },
        { """{"event":"Logout","account":"joe@example.com","service":"imap","clientIP":"2001:db8::7","clientPort":51234}""", MailEventType.Logout },
        { """{"event":"MailboxCreate","account":"joe@example.com","mailbox":"Work/Reports","totals":{"messages":0,"unseen":0,"uidnext":1,"uidvalidity":1700000001}}""", MailEventType.MailboxCreate },
        { """{"event":"MailboxDelete","account":"joe@example.com","mailbox":"Work/Old"}""", MailEventType.MailboxDelete },
        { """{"event":"MailboxRename","account":"joe@example.com","mailbox":"Work/Done","oldMailbox":"Work/Todo"}""", MailEventType.MailboxRename },
        { """{"event":"MailboxSubscribe","account":"joe@example.com","mailbox":"Lists/dotnet"}""", MailEventType.MailboxSubscribe },
        { """{"event":"MailboxUnSubscribe","account":"joe@example.com","mailbox":"Lists/dotnet"}""", MailEventType.MailboxUnSubscribe },
    };

    [Theory]
    [MemberData(nameof(EveryType))]
    public void Every_event_type_decodes_from_a_realistic_example(string json, MailEventType type)
    {
        var e = Decode(json);
        Assert.Equal(type, e.Type);
        Assert.Equal("joe@example.com", e.Account.Value);
        Assert.Equal(type.IsMailboxEvent(), !e.Mailbox.IsRoot);
        // And back: the strict form decodes to the same event.
        var again = Decode(Encoding.UTF8.GetString(MailEventJson.Encode(e)));
        MailEventAssert.Equal(e, again);
    }

    [Fact]
    public void Every_event_type_has_an_example() =>
        Assert.Equal(MailEventTypes.Count, EveryType.Select(row => (MailEventType)row[1]).Distinct().Count());

    [Fact]
    public void Message_new_carries_totals_and_parameters()
    {
        var e = Decode("""
            {"event":"MessageNew","account":"Joe@Example.COM","mailbox":"INBOX","id":"bridge-1:42",
             "totals":{"messages":10,"unseen":3,"uidnext":21,"uidvalidity":7},"spam":false,
             "timestamp":"2026-03-01T12:34:56.789+01:00","uidset":"20","messageSize":4321,"modseq":18446744073709551615}
            """);
        Assert.Equal("Joe@example.com", e.Account.Value);
        Assert.Same(MailboxPath.Inbox, e.Mailbox);
        Assert.Equal(new MailboxTotals(10, 3, 21, 7), e.Totals);
        Assert.Equal("bridge-1:42", e.Id);
        Assert.Equal(new DateTimeOffset(2026, 3, 1, 12, 34, 56, 789, TimeSpan.FromHours(1)), e.Timestamp);
        Assert.Equal(4321UL, e.MessageSize);
        Assert.Equal(ulong.MaxValue, e.Modseq);
        Assert.False(e.Spam);
    }

    // RFC 5423 §4.1 and §4.6: the parameters of a MessageNew as the RFC describes them, with
    // the IMAP URL form of its "uri" example.
    [Fact]
    public void Rfc5423_style_message_new_with_uri_gets_mailbox_and_account_from_it()
    {
        var e = Decode("""
            {"event":"MessageNew","user":"fred","serverDomain":"example.net","serverFQDN":"imap1.example.net",
             "uri":"imap://fred@imap1.example.net/INBOX;UIDVALIDITY=1234567/;UID=2","uidnext":3,"uidvalidity":1234567,
             "messageSize":1024,"envelope":"(\"Mon, 7 Feb 1994 21:52:25 -0800\" \"afternoon meeting\" NIL NIL NIL NIL NIL NIL NIL \"<B27397-0100000@cac.washington.edu>\")",
             "bodyStructure":"(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92)"}
            """);
        Assert.Equal("fred", e.Account.Value);
        Assert.Equal("fred", e.User);
        Assert.Equal("INBOX", e.Mailbox.Value);
        Assert.Equal("imap://fred@imap1.example.net/INBOX;UIDVALIDITY=1234567/;UID=2", e.Uri);
        Assert.Equal(3u, e.Uidnext);
        Assert.Equal(1234567u, e.UidValidity);
        Assert.StartsWith("(\"Mon, 7 Feb 1994", e.Envelope, StringComparison.Ordinal);
        Assert.Null(e.Totals);
    }

    // Cyrus's notifier JSON: the RFC 5423 names plus vnd.cmu.* keys, flagNames as one string,
    // and a lower-case ";uidvalidity" is accepted and written strictly.
    [Fact]
    public void Cyrus_style_event_keeps_vendor_keys_verbatim_and_normalises_urls()
    {
        var json = """
            {"event":"FlagsSet","service":"imap","pid":4242,"user":"jane@example.org","serverFQDN":"mail.example.org",
             "uri":"IMAP://jane%40example.org@mail.example.org/INBOX;uidvalidity=1577836800/;uid=17",
             "modseq":1009,"uidset":"17","flagNames":"\\Seen $Label1",
             "vnd.cmu.midset":["<m1@example.org>"],"vnd.cmu.unseenMessages":4,"vnd.cmu.sessionId":"mail-1234-1-abc",
             "vnd.cmu.envelope": {"subject" : "hi",  "to":[1, 2.5e3, null]}}
            """;
        var e = Decode(json);
        Assert.Equal(MailEventType.FlagsSet, e.Type);
        Assert.Equal("jane@example.org", e.Account.Value);
        Assert.Equal("INBOX", e.Mailbox.Value);
        Assert.Equal("imap://jane%40example.org@mail.example.org/INBOX;UIDVALIDITY=1577836800/;UID=17", e.Uri);
        Assert.Equal(["\\Seen", "$Label1"], e.FlagNames);
        Assert.Equal(4242, e.Pid);
        Assert.Equal(4, e.Vendor!.Count);
        Assert.Equal(new VendorParameter("vnd.cmu.midset", """["<m1@example.org>"]"""), e.Vendor[0]);
        Assert.Equal(new VendorParameter("vnd.cmu.unseenMessages", "4"), e.Vendor[1]);
        Assert.Equal(new VendorParameter("vnd.cmu.sessionId", "\"mail-1234-1-abc\""), e.Vendor[2]);
        Assert.Equal("""{"subject" : "hi",  "to":[1, 2.5e3, null]}""", e.Vendor[3].RawJson);

        var written = Encoding.UTF8.GetString(MailEventJson.Encode(e));
        Assert.Contains("\"flagNames\":\"\\\\Seen $Label1\"", written, StringComparison.Ordinal);
        Assert.Contains("""
            "vnd.cmu.envelope":{"subject" : "hi",  "to":[1, 2.5e3, null]}
            """.Trim(), written, StringComparison.Ordinal);
    }

    // Dovecot's push_notification spells MailboxUnSubscribe as MailboxUnsubscribe; we write the RFC spelling.
    [Fact]
    public void Dovecot_style_unsubscribe_is_accepted_and_written_in_rfc_spelling()
    {
        var e = Decode("""{"event":"MailboxUnsubscribe","user":"bob","mailbox":"Lists/old"}""");
        Assert.Equal(MailEventType.MailboxUnSubscribe, e.Type);
        Assert.Equal("bob", e.Account.Value);
        var written = Encoding.UTF8.GetString(MailEventJson.Encode(e));
        Assert.Contains("\"event\":\"MailboxUnSubscribe\"", written, StringComparison.Ordinal);
    }

    // A Dovecot push_notification (Lua) script: "user", the mailbox, uidvalidity/uidnext, the
    // envelope summary, and its own extras under vnd.dovecot.*.
    [Fact]
    public void Dovecot_style_message_new_with_from_subject_and_vendor_snippet()
    {
        var e = Decode("""{"user":"bob@example.com","mailbox":"INBOX","event":"MessageNew","uidvalidity":1612345678,"uidnext":43,"from":"alice@example.com","subject":"Re: lunch","vnd.dovecot.snippet":"See you at noon"}""");
        Assert.Equal(MailEventType.MessageNew, e.Type);
        Assert.Equal("bob@example.com", e.Account.Value);
        Assert.Equal(1612345678u, e.UidValidity);
        Assert.Equal(43u, e.Uidnext);
        Assert.Equal("Re: lunch", e.Subject);
        Assert.Equal("\"See you at noon\"", Assert.Single(e.Vendor!).RawJson);
    }

    [Fact]
    public void Mailbox_is_taken_from_mailbox_id_with_slash_as_separator()
    {
        var e = Decode("""{"event":"MailboxCreate","account":"a@b.c","mailboxID":"imap://a%40b.c@imap.b.c/Work/Q%C3%A4rterly%3B2;UIDVALIDITY=9"}""");
        Assert.Equal(["Work", "Qärterly;2"], e.Mailbox.Segments);
        Assert.Equal("imap://a%40b.c@imap.b.c/Work/Q%C3%A4rterly%3B2;UIDVALIDITY=9", e.MailboxId);
    }

    [Fact]
    public void Rename_takes_both_names_from_urls()
    {
        var e = Decode("""{"event":"MailboxRename","account":"a@b.c","mailboxID":"imap://h/New%20Name","oldMailboxID":"imap://h/Old Name"}""");
        Assert.Equal("New Name", e.Mailbox.Value);
        Assert.Equal("Old Name", e.OldMailbox!.Value);
        Assert.Equal("imap://h/Old%20Name", e.OldMailboxId);
    }

    [Fact]
    public void Mailbox_text_escapes_are_decoded()
    {
        var e = Decode("""{"event":"MessageNew","account":"a@b.c","mailbox":"Projects/A%2FB 50%25"}""");
        Assert.Equal(["Projects", "A/B 50%"], e.Mailbox.Segments);
        Assert.Equal("Projects/A%2FB 50%25", e.Mailbox.Value);
    }

    [Fact]
    public void Inbox_is_case_insensitive()
    {
        var e = Decode("""{"event":"MessageNew","account":"a@b.c","mailbox":"inbox/Sub"}""");
        Assert.Equal("INBOX/Sub", e.Mailbox.Value);
    }

    [Fact]
    public void Escaped_json_strings_are_accepted_everywhere()
    {
        var e = Decode("""{"\u0065vent":"Message\u004Eew","account":"a\u0040b.c","mailbox":"\u00c4rger","subject":"\ud83d\ude00 \"hi\""}""");
        Assert.Equal(MailEventType.MessageNew, e.Type);
        Assert.Equal("a@b.c", e.Account.Value);
        Assert.Equal("Ärger", e.Mailbox.Value);
        Assert.Equal("😀 \"hi\"", e.Subject);
    }

    [Fact]
    public void Tags_and_flag_array_and_spam()
    {
        var e = Decode("""{"event":"MessageNew","account":"a@b.c","mailbox":"Junk","spam":true,"tags":["vip","work"],"flagNames":["$Junk","\\Recent"]}""");
        Assert.True(e.Spam);
        Assert.Equal(["vip", "work"], e.Tags);
        Assert.Equal(["$Junk", "\\Recent"], e.FlagNames);
    }

    [Fact]
    public void Encoded_form_is_compact_and_ordered()
    {
        var e = Decode("""{"totals":{"uidvalidity":7,"uidnext":21,"unseen":3,"messages":10},"mailbox":"INBOX","account":"a@b.c","event":"MessageNew","spam":true,"id":"x1"}""");
        Assert.Equal(
            """{"event":"MessageNew","account":"a@b.c","mailbox":"INBOX","totals":{"messages":10,"unseen":3,"uidnext":21,"uidvalidity":7},"spam":true,"id":"x1"}""",
            Encoding.UTF8.GetString(MailEventJson.Encode(e)));
    }

    [Fact]
    public void Timestamp_forms_of_rfc3339_are_accepted()
    {
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero),
            Decode("""{"event":"Login","account":"a","timestamp":"2026-01-02t03:04:05z"}""").Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.FromMinutes(-330)),
            Decode("""{"event":"Login","account":"a","timestamp":"2026-01-02T03:04:05-05:30"}""").Timestamp);
        Assert.Equal(new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero).AddTicks(1234567),
            Decode("""{"event":"Login","account":"a","timestamp":"2026-01-02T03:04:05.123456789Z"}""").Timestamp);
    }

    [Fact]
    public void System_text_json_context_uses_the_codec()
    {
        var e = Decode("""{"event":"MessageNew","account":"a@b.c","mailbox":"INBOX","vnd.x.y":{"a":[1]}}""");
        var json = System.Text.Json.JsonSerializer.Serialize(new[] { e }, MailEventJsonContext.Default.MailEventArray);
        Assert.Equal("""[{"event":"MessageNew","account":"a@b.c","mailbox":"INBOX","vnd.x.y":{"a":[1]}}]""", json);
        var back = System.Text.Json.JsonSerializer.Deserialize(json, MailEventJsonContext.Default.MailEventArray)!;
        MailEventAssert.Equal(e, back[0]);
        var ex = Assert.Throws<System.Text.Json.JsonException>(() =>
            System.Text.Json.JsonSerializer.Deserialize("""{"event":"MessageNew","account":"a@b.c"}""", MailEventJsonContext.Default.MailEvent));
        Assert.Contains("mailbox", ex.Message, StringComparison.Ordinal);
        Assert.Equal("""{"index":3,"field":"totals.unseen","message":"m"}""",
            System.Text.Json.JsonSerializer.Serialize(new EventError(3, "totals.unseen", "m"), MailEventJsonContext.Default.EventError));
    }
}
