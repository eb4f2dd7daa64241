using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Pna.Tests.Authorization;

public class SubscriberUriTests
{
    [Theory]
    [InlineData("sip:romeo@example.net", "sip", "romeo", "example.net")]
    [InlineData("SIP:Romeo@Example.NET", "sip", "Romeo", "example.net")]
    [InlineData("sips:romeo@example.net:5061;transport=tcp", "sips", "romeo", "example.net")]
    [InlineData("sip:romeo@example.net?subject=hi", "sip", "romeo", "example.net")]
    [InlineData("sip:rom%65o@example.net", "sip", "romeo", "example.net")]
    [InlineData("sip:+15551234;phone-context=x@example.net;user=phone", "sip", "+15551234;phone-context=x", "example.net")]
    [InlineData("sip:romeo@[2001:DB8::1]:5060", "sip", "romeo", "[2001:db8::1]")]
    [InlineData("sip:romeo@192.0.2.7", "sip", "romeo", "192.0.2.7")]
    [InlineData("xmpp:romeo@example.net", "xmpp", "romeo", "example.net")]
    [InlineData("xmpp:Romeo@Example.net/orchard", "xmpp", "romeo", "example.net")]
    [InlineData("xmpp:romeo@example.net?message;subject=hi", "xmpp", "romeo", "example.net")]
    [InlineData("xmpp:romeo@example.net/res/with/slash", "xmpp", "romeo", "example.net")]
    [InlineData("romeo@example.net", "xmpp", "romeo", "example.net")]
    [InlineData("romeo@example.net/phone:1", "xmpp", "romeo", "example.net")]
    [InlineData("xmpp:ju%C3%A9liet@example.net", "xmpp", "juéliet", "example.net")]
    public void Valid_subscribers_reduce_to_scheme_user_and_host(string text, string scheme, string user, string host)
    {
        Assert.True(SubscriberUri.TryParse(text, out var uri, out var error), error);
        Assert.Equal(new SubscriberUri(scheme, user, host), uri);
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("sip:example.net", "no user part")]
    [InlineData("sip:@example.net", "user part is empty")]
    [InlineData("sip:romeo:secret@example.net", "password")]
    [InlineData("sip:romeo@", "empty host")]
    [InlineData("sip:romeo@example.net:0", "invalid port")]
    [InlineData("sip:romeo@example.net:99999", "invalid port")]
    [InlineData("sip:romeo@exa_mple.net", "invalid host name")]
    [InlineData("sip:romeo@-example.net", "invalid host name")]
    [InlineData("sip:romeo@[zz::1]", "invalid IPv6")]
    [InlineData("sip:ro%6@example.net", "%-escape")]
    [InlineData("sip:ro%FF@example.net", "%-escape")]
    [InlineData("sip:a@b@example.net", "more than one '@'")]
    [InlineData("sip:romeo@example.net;", "empty parameter")]
    [InlineData("sip:rom eo@example.net", "whitespace")]
    [InlineData("tel:+15551234", "unsupported URI scheme 'tel'")]
    [InlineData("mailto:romeo@example.net", "unsupported URI scheme")]
    [InlineData("xmpp:example.net", "no localpart")]
    [InlineData("xmpp://guest@example.com/romeo@example.net", "authority")]
    [InlineData("xmpp:romeo@example.net/", "empty resourcepart")]
    [InlineData("xmpp:ro&meo@example.net", "not allowed")]
    [InlineData("xmpp:romeo@exa%zzmple.net", "%-escape")]
    public void Invalid_subscribers_are_refused_with_a_precise_reason(string text, string reason)
    {
        Assert.False(SubscriberUri.TryParse(text, out _, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Hostile_input_never_throws_and_every_accepted_uri_round_trips()
    {
        // Strings built from URI-significant characters, so the parser's branches are all reached.
        var chars = Gen.Elements("sipxm:@/;?#%[]25F3.-*aZ \u00e9\u0000&<".ToCharArray());
        var prefix = Gen.Elements("", "sip:", "sips:", "xmpp:", "SIP:", "xmpp://", "tel:");
        var noise = from p in prefix
                    from body in Gen.ArrayOf(chars)
                    select p + new string(body);
        // Mostly well-formed: user@host with noise in the user and after the host.
        var shaped = from p in prefix
                     from user in Gen.ArrayOf(Gen.Frequency((30, Gen.Elements("abZ%25;?#+-.!~\u00e9".ToCharArray())), (1, chars)))
                     from host in Gen.Elements("example.net", "EXAMPLE.net", "[::1]", "192.0.2.1", "x")
                     from tail in Gen.Elements("", ":5060", ";transport=tcp", "/res", "?q", "#f", ":0", "/")
                     select p + new string(user) + "@" + host + tail;
        var gen = Gen.OneOf(noise, shaped);
        var accepted = 0;
        var policy = new GrantPolicy(new GrantPolicyOptions { Grants = [new GrantOptions { Subscriber = "*", Account = "*" }] });
        Prop.ForAll(Arb.From(gen), text =>
        {
            if (SubscriberUri.TryParse(text, out var uri, out var error))
            {
                Assert.Null(error);
                Assert.Equal(uri, SubscriberUri.Parse(uri.ToString()));
                accepted++;
            }
            else
            {
                Assert.False(string.IsNullOrEmpty(error));
            }
            var decision = policy.Authorize(text, AccountId.Parse("juliet@example.com"), MailboxPath.Inbox);
            Assert.False(string.IsNullOrEmpty(decision.Reason));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(2000));
        Assert.True(accepted > 50, $"only {accepted} generated subscribers were valid: the generator needs reshaping");
    }

    [Fact]
    public void Overlong_subscribers_are_refused()
    {
        Assert.False(SubscriberUri.TryParse("sip:" + new string('a', 3000) + "@example.net", out _, out var error));
        Assert.Contains("longer than", error, StringComparison.Ordinal);
    }
}
