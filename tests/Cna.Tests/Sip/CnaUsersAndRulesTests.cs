using Aggregators.Cna.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Subscriptions;

namespace Aggregators.Cna.Tests.Sip;

public sealed class CnaUsersAndRulesTests
{
    [Fact]
    public void Users_file_takes_passwords_and_hashes_and_upstream_credentials()
    {
        var md5 = DigestComputation.Ha1(DigestAlgorithm.Md5, "mercutio", "example.net", "pw2");
        var users = CnaUsers.Parse(
        [
            "# comment",
            "",
            "user romeo password=pw:with:colons",
            $"user mercutio ha1-md5={md5.ToUpperInvariant()}",
            "upstream romeo Example.COM username=juliet password=secret",
        ], "example.net");
        Assert.Equal(2, users.Count);
        Assert.Equal(DigestComputation.Ha1(DigestAlgorithm.Sha256, "romeo", "example.net", "pw:with:colons"), users.Ha1("romeo", DigestAlgorithm.Sha256));
        Assert.Equal(md5, users.Ha1("mercutio", DigestAlgorithm.Md5));
        Assert.Null(users.Ha1("mercutio", DigestAlgorithm.Sha256)); // only the hash given
        Assert.Null(users.Ha1("tybalt", DigestAlgorithm.Md5));
        Assert.Equal(("juliet", "secret"), users.Upstream("romeo", "example.com"));
        Assert.Null(users.Upstream("mercutio", "example.com"));
    }

    [Theory]
    [InlineData("user romeo", "line 1")]
    [InlineData("user romeo nopassword", "key=value")]
    [InlineData("user romeo colour=blue", "needs password=")]
    [InlineData("user romeo ha1-md5=xyz", "32 hex")]
    [InlineData("user romeo password=a\nuser romeo password=b", "line 2: user 'romeo' listed twice")]
    [InlineData("upstream romeo example.com username=juliet", "needs username= and password=")]
    [InlineData("group romeo", "expected 'user")]
    [InlineData("user ro:meo password=x", "bad user name")]
    public void Users_file_errors_name_the_line(string text, string message)
    {
        var e = Assert.Throws<FormatException>(() => CnaUsers.Parse(text.Split('\n'), "example.net"));
        Assert.Contains(message, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Without_rules_everyone_may_watch_anything_routed_with_rules_only_what_a_rule_allows()
    {
        Assert.True(new CnaSipAuthorizer([]).Allows("romeo", "juliet@example.com"));
        var rules = new CnaSipAuthorizer(
        [
            new CnaSipAuthorizationRule { User = "*", Resource = "*@example.com" },
            new CnaSipAuthorizationRule { User = "romeo", Resource = "sip:tybalt@example.org" },
            new CnaSipAuthorizationRule { User = "admin", Resource = "*" },
        ]);
        Assert.True(rules.Allows("mercutio", "juliet@Example.COM"));
        Assert.True(rules.Allows("romeo", "tybalt@example.org"));
        Assert.False(rules.Allows("mercutio", "tybalt@example.org"));
        Assert.False(rules.Allows("romeo", "Tybalt@example.org")); // user parts are case-sensitive
        Assert.True(rules.Allows("admin", "anyone@anywhere.example"));
        Assert.False(rules.Allows("romeo", "juliet@notexample.com"));
    }

    [Theory]
    [InlineData(SipSubscriptionEndKind.Terminated, null, "deactivated", "deactivated")]
    [InlineData(SipSubscriptionEndKind.Terminated, null, "noresource", "noresource")]
    [InlineData(SipSubscriptionEndKind.Rejected, 403, "Forbidden", "rejected")]
    [InlineData(SipSubscriptionEndKind.Rejected, 404, "Not Found", "noresource")]
    public void Refusals_map_to_the_local_termination_reason(SipSubscriptionEndKind kind, int? code, string reason, string expected) =>
        Assert.Equal(expected, UpstreamPool.ReasonOf(new SipSubscriptionEnd(kind, code, reason)));

    [Fact]
    public void Options_are_checked_at_start()
    {
        var o = new CnaSipOptions { HeartbeatSeconds = 0, DigestAlgorithms = { "SHA-1" } };
        o.Routes["example.com"] = new CnaSipRoute { Target = "nowhere", Transport = "sctp" };
        var errors = o.Validate().ToList();
        Assert.Contains(errors, e => e.Contains("UsersFile is required", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Domains", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("HeartbeatSeconds", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'SHA-1'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Target 'nowhere'", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("udp or tcp", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("TrustedPeer needs PeerUsername", StringComparison.Ordinal));
    }
}
