using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Xmpp.Tests;

public class JidTests
{
    // RFC 7622 §3.5 examples of valid JIDs.
    [Theory]
    [InlineData("juliet@example.com", "juliet", "example.com", null)]
    [InlineData("juliet@example.com/foo", "juliet", "example.com", "foo")]
    [InlineData("juliet@example.com/foo bar", "juliet", "example.com", "foo bar")]
    [InlineData("juliet@example.com/foo@bar", "juliet", "example.com", "foo@bar")]
    [InlineData("foo\\20bar@example.com", "foo\\20bar", "example.com", null)]
    [InlineData("fussball@example.com", "fussball", "example.com", null)]
    [InlineData("fußball@example.com", "fußball", "example.com", null)]
    [InlineData("π@example.com", "π", "example.com", null)]
    [InlineData("Σ@example.com/foo", "σ", "example.com", "foo")]
    [InlineData("king@example.com/♚", "king", "example.com", "♚")]
    [InlineData("example.com", null, "example.com", null)]
    [InlineData("example.com/foobar", null, "example.com", "foobar")]
    [InlineData("a.example.com/b@example.net", null, "a.example.com", "b@example.net")]
    [InlineData("[::1]", null, "[::1]", null)]
    public void Valid_examples_of_RFC_7622_parse(string text, string? local, string domain, string? resource)
    {
        var jid = Jid.Parse(text);
        Assert.Equal(local, jid.Local);
        Assert.Equal(domain, jid.Domain);
        Assert.Equal(resource, jid.Resource);
    }

    // RFC 7622 §3.5 examples of invalid JIDs, plus empty parts.
    [Theory]
    [InlineData("\"juliet\"@example.com")]
    [InlineData("foo bar@example.com")]
    [InlineData("juliet@example..com")]
    [InlineData("@example.com")]
    [InlineData("juliet@example.com/")]
    [InlineData("juliet@")]
    [InlineData("/foobar")]
    [InlineData("")]
    [InlineData("juliet@exa mple.com")]
    [InlineData("juliet@-example.com")]
    [InlineData("a<b@example.com")]
    [InlineData("juliet@example.com/a\u0001b")]
    public void Invalid_examples_are_refused(string text)
    {
        Assert.Throws<JidFormatException>(() => Jid.Parse(text));
        Assert.False(Jid.TryParse(text, out _));
    }

    [Fact]
    public void Localpart_and_domainpart_are_case_mapped_resourcepart_is_not()
    {
        var jid = Jid.Parse("Juliet@Example.COM./Balcony");
        Assert.Equal("juliet@example.com/Balcony", jid.ToString());
        Assert.Equal(Jid.Parse("juliet@example.com/Balcony"), jid);
        Assert.NotEqual(Jid.Parse("juliet@example.com/balcony"), jid);
    }

    [Fact]
    public void Each_part_is_limited_to_1023_bytes()
    {
        Assert.NotNull(Jid.Parse(new string('a', 1023) + "@example.com"));
        Assert.Throws<JidFormatException>(() => Jid.Parse(new string('a', 1024) + "@example.com"));
        Assert.Throws<JidFormatException>(() => Jid.Parse("a@example.com/" + new string('é', 512))); // 1024 bytes
        Assert.NotNull(Jid.Parse("a@example.com/" + new string('x', 1023)));
    }

    [Fact]
    public void Bare_drops_the_resource()
    {
        var jid = Jid.Parse("romeo@example.net/orchard");
        Assert.False(jid.IsBare);
        Assert.Equal("romeo@example.net", jid.Bare.ToString());
        Assert.True(jid.Bare.IsBare);
        Assert.Equal(jid, jid.Bare.WithResource("orchard"));
    }

    internal static Gen<string> LocalGen =>
        Gen.Elements("juliet", "romeo", "nurse", "π", "fußball", "x.y", "a-b_c", "user+tag", "σ")
            .SelectMany(a => Gen.Choose(0, 999).Select(n => a + n.ToString(System.Globalization.CultureInfo.InvariantCulture)));

    internal static Gen<string> DomainGen =>
        Gen.Elements("example.com", "example.net", "events.example.com", "xn--bcher-kva.example", "bücher.example", "localhost");

    internal static Gen<string> ResourceGen =>
        Gen.Elements("balcony", "orchard", "foo bar", "♚", "a@b/c", "Mixed Case", "x'y\"z<&>");

    internal static Gen<Jid> JidGen =>
        from local in Gen.OneOf(Gen.Constant<string?>(null), LocalGen.Select(s => (string?)s))
        from domain in DomainGen
        from resource in Gen.OneOf(Gen.Constant<string?>(null), ResourceGen.Select(s => (string?)s))
        select Jid.Create(local, domain, resource);

    [Fact]
    public void Round_trip_text_parse_is_identity()
    {
        Prop.ForAll(Arb.From(JidGen), jid =>
        {
            var again = Jid.Parse(jid.ToString());
            return again == jid && again.Local == jid.Local && again.Domain == jid.Domain && again.Resource == jid.Resource;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }
}
