using System.Text;
using Aggregators.Xmpp.Client;

namespace Aggregators.Xmpp.Tests.Client;

public sealed class SaslTests
{
    [Fact]
    public void Scram_sha1_matches_the_rfc_5802_example()
    {
        // RFC 5802 §5: user "user", password "pencil".
        var scram = new ScramSha1("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
        Assert.Equal("n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL", Encoding.UTF8.GetString(scram.InitialResponse()));
        var final = scram.Respond("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"u8);
        Assert.Equal("c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=", Encoding.UTF8.GetString(final));
        scram.Complete("v=rmF9pqV8S7suAoZWja4dJRkFsKQ="u8);
    }

    [Fact]
    public void Scram_sha1_refuses_a_server_that_does_not_know_the_password()
    {
        var scram = new ScramSha1("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
        scram.Respond("r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096"u8);
        var ex = Assert.Throws<SaslException>(() => scram.Complete("v=AAAAAAAAAAAAAAAAAAAAAAAAAAA="u8));
        Assert.Contains("does not verify", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("r=othernonce,s=QSXCR+Q6sek8bf92,i=4096", "does not extend")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawL,s=QSXCR+Q6sek8bf92,i=4096", "does not extend")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=0", "iteration count")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=99999999", "iteration count")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92", "lacks")]
    [InlineData("m=ext,r=fyko+d2lbbFgONRv9qkxdawLx,s=QSXCR+Q6sek8bf92,i=1", "mandatory extension")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawLx,s=!!!,i=1", "not base64")]
    [InlineData("r=fyko+d2lbbFgONRv9qkxdawLx,,i=1", "malformed")]
    [InlineData("r=a,r=b,s=x,i=1", "repeated")]
    public void Scram_sha1_refuses_a_bad_server_first_message(string serverFirst, string reason)
    {
        var scram = new ScramSha1("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL");
        var ex = Assert.Throws<SaslException>(() => scram.Respond(Encoding.UTF8.GetBytes(serverFirst)));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Scram_sha1_escapes_comma_and_equals_in_the_user_name()
    {
        // RFC 5802 §5.1.
        var scram = new ScramSha1("a,b=c", "x", "n1");
        Assert.Equal("n,,n=a=2Cb=3Dc,r=n1", Encoding.UTF8.GetString(scram.InitialResponse()));
    }

    [Fact]
    public void Plain_is_authzid_nul_authcid_nul_password()
    {
        // RFC 4616 §4 example.
        Assert.Equal("\0tim\0tanstaaftanstaaf", Encoding.UTF8.GetString(new SaslPlain("tim", "tanstaaftanstaaf").InitialResponse()));
        Assert.Equal("Ursel\0Kurt\0xipj3plmq", Encoding.UTF8.GetString(new SaslPlain("Kurt", "xipj3plmq", "Ursel").InitialResponse()));
        Assert.Throws<SaslException>(() => new SaslPlain("a\0b", "p").InitialResponse());
        Assert.Throws<SaslException>(() => new SaslPlain("a", "p").Respond("x"u8));
    }
}
