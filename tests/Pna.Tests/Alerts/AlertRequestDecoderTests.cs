using System.Text;
using Aggregators.Pna.Alerts;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Alerts;

public sealed class AlertRequestDecoderTests
{
    private const string Valid = """
        {"targets":["xmpp:juliet@example.com","sip:juliet@127.0.0.1:5070"],"text":"Mail from Romeo","importance":"high",
         "account":"juliet@example.com","mailbox":"INBOX","imapUrl":"imap://juliet@mail.example.com/INBOX;UIDVALIDITY=7/;UID=42",
         "from":"Romeo <romeo@example.com>","subject":"Balcony","clientId":"c-1"}
        """;

    private static (AlertRequest? Request, List<AlertFieldError> Errors) Decode(string json, int maxTargets = 16, int maxText = 1024)
    {
        var errors = new List<AlertFieldError>();
        return (AlertRequestDecoder.Decode(Encoding.UTF8.GetBytes(json), maxTargets, maxText, errors), errors);
    }

    [Fact]
    public void A_full_request_decodes()
    {
        var (r, errors) = Decode(Valid);
        Assert.Empty(errors);
        Assert.NotNull(r);
        Assert.Equal(["xmpp:juliet@example.com", "sip:juliet@127.0.0.1"], r.Targets.Select(t => t.Key));
        Assert.Equal(5070, r.Targets[1].Sip!.Port);
        Assert.Equal("juliet@example.com", r.Targets[0].Jid!.ToString());
        Assert.Equal(AlertImportance.High, r.Importance);
        Assert.Equal("juliet@example.com", r.Account!.Value.Value);
        Assert.Equal("INBOX", r.Mailbox!.Value);
        Assert.Equal("Balcony", r.Subject);
        Assert.Equal("c-1", r.ClientId);
    }

    [Theory]
    [InlineData("""{"text":"x"}""", "targets", "required")]
    [InlineData("""{"targets":["xmpp:a@b"]}""", "text", "required")]
    [InlineData("""{"targets":[],"text":"x"}""", "targets", "empty")]
    [InlineData("""{"targets":"xmpp:a@b","text":"x"}""", "targets", "must be an array")]
    [InlineData("""{"targets":["mailto:a@b"],"text":"x"}""", "targets[0]", "xmpp:, sip: or sips:")]
    [InlineData("""{"targets":["xmpp:b"],"text":"x"}""", "targets[0]", "localpart")]
    [InlineData("""{"targets":["xmpp:a@b","xmpp:A@B/res"],"text":"x"}""", "targets[1]", "listed twice")]
    [InlineData("""{"targets":[42],"text":"x"}""", "targets[0]", "must be a string")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"   "}""", "text", "blank")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"a\u0007b"}""", "text", "control character")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","importance":"urgent"}""", "importance", "low, normal or high")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","account":"a b"}""", "account", "forbidden")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","mailbox":"INBOX"}""", "mailbox", "needs 'account'")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","imapUrl":"http://x/"}""", "imapUrl", "RFC 5092")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","clientId":"has space"}""", "clientId", "printable ASCII")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","target":"y"}""", "target", "unknown field")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","text":"y"}""", "text", "more than once")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","from":{"a":1}}""", "from", "must be a string")]
    [InlineData("""{"targets":["xmpp:a@b"],"text":"x","subject":"\ud800"}""", "subject", "not valid Unicode")]
    public void Each_error_names_its_field(string json, string field, string words)
    {
        var (r, errors) = Decode(json);
        Assert.Null(r);
        Assert.Contains(errors, e => e.Field == field && e.Error.Contains(words, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("[]", "must be a JSON object")]
    [InlineData("\"x\"", "must be a JSON object")]
    [InlineData("{\"targets\":[\"xmpp:a@b\"],\"text\":\"x\"", "not valid JSON")]
    [InlineData("{\"targets\":[\"xmpp:a@b\"],\"text\":\"x\"} {}", "after the JSON object")]
    [InlineData("{\"text\":\"x\",\"targets\":[[[[[\"deep\"]]]]]}", "not valid JSON")]
    [InlineData("{/*c*/}", "not valid JSON")]
    public void Broken_bodies_are_refused_as_a_whole(string json, string words)
    {
        var (r, errors) = Decode(json);
        Assert.Null(r);
        Assert.Contains(errors, e => e.Field is null && e.Error.Contains(words, StringComparison.Ordinal));
    }

    [Fact]
    public void Invalid_utf8_is_refused()
    {
        var bytes = Encoding.UTF8.GetBytes("{\"targets\":[\"xmpp:a@b\"],\"text\":\"ab\"}");
        bytes[^4] = 0xC3; // a lead byte followed by 'b'
        var errors = new List<AlertFieldError>();
        Assert.Null(AlertRequestDecoder.Decode(bytes, 16, 1024, errors));
        Assert.NotEmpty(errors);
    }

    [Fact]
    public void Limits_on_targets_and_text()
    {
        var (r, errors) = Decode("""{"targets":["xmpp:a@b","xmpp:c@d","xmpp:e@f"],"text":"x"}""", maxTargets: 2);
        Assert.Null(r);
        Assert.Contains(errors, e => e.Field == "targets[2]" && e.Error.Contains("at most 2", StringComparison.Ordinal));
        (r, errors) = Decode($$"""{"targets":["xmpp:a@b"],"text":"{{new string('x', 17)}}"}""", maxText: 16);
        Assert.Null(r);
        Assert.Contains(errors, e => e.Field == "text" && e.Error.Contains("longer than 16", StringComparison.Ordinal));
    }

    [Fact]
    public void Random_bytes_never_throw()
    {
        Prop.ForAll(Arb.From(Gen.ArrayOf(Gen.Choose(0, 255).Select(i => (byte)i))), bytes =>
        {
            var errors = new List<AlertFieldError>();
            var r = AlertRequestDecoder.Decode(bytes, 16, 1024, errors);
            return (r is null) == (errors.Count > 0);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Mutated_valid_bodies_never_throw()
    {
        var valid = Encoding.UTF8.GetBytes(Valid);
        var gen = from index in Gen.Choose(0, valid.Length - 1)
                  from value in Gen.Choose(0, 255)
                  from cut in Gen.Choose(1, valid.Length)
                  select (index, (byte)value, cut);
        Prop.ForAll(Arb.From(gen), m =>
        {
            var bytes = valid[..m.cut];
            if (m.index < bytes.Length)
            {
                bytes[m.index] = m.Item2;
            }
            var errors = new List<AlertFieldError>();
            var r = AlertRequestDecoder.Decode(bytes, 16, 1024, errors);
            return (r is null) == (errors.Count > 0);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }
}
