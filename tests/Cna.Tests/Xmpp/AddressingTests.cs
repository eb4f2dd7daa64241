using Aggregators.Cna.Xmpp;
using Aggregators.EventModel;
using Aggregators.Xmpp;

namespace Aggregators.Cna.Tests.Xmpp;

public sealed class AddressingTests
{
    private static readonly RemoteAccounts Accounts = new(Jid.Parse("events.example.net"),
        new Dictionary<string, string> { ["example.com"] = "events.example.com", ["example.org"] = "pubsub.example.org" });

    [Fact]
    public void A_remote_account_is_its_escaped_address_at_the_cna()
    {
        var jid = Accounts.LocalJidOf(AccountId.Parse("juliet@example.com"));
        Assert.Equal(@"juliet\40example.com@events.example.net", jid.ToString());
        Assert.True(Accounts.TryAccountOf(jid, out var account));
        Assert.Equal("juliet@example.com", account.Value);
        Assert.True(Accounts.TryUpstreamOf(account, out var upstream));
        Assert.Equal("juliet@events.example.com", upstream.ToString());
        Assert.True(Accounts.TryAccountOfUpstream(upstream, out var back));
        Assert.Equal(account, back);
    }

    [Fact]
    public void A_local_part_a_jid_cannot_carry_is_escaped_at_the_pna_too()
    {
        var account = AccountId.Parse("o'brien@example.com");
        Assert.Equal(@"o\27brien\40example.com@events.example.net", Accounts.LocalJidOf(account).ToString());
        Assert.True(Accounts.TryUpstreamOf(account, out var upstream));
        Assert.Equal(@"o\27brien@events.example.com", upstream.ToString());
        Assert.True(Accounts.TryAccountOfUpstream(upstream, out var back));
        Assert.Equal(account, back);
    }

    [Theory]
    [InlineData(@"juliet@events.example.net")]                 // no mail domain in the localpart
    [InlineData(@"juliet\40example.invalid@events.example.net")] // domain without a route
    [InlineData(@"juliet\40example.com@other.example.net")]     // not the CNA's domain
    [InlineData(@"juliet\40example.com@events.example.net/r")]  // a resource
    [InlineData(@"events.example.net")]
    public void Addresses_that_name_no_routed_account_are_refused(string text) =>
        Assert.False(Accounts.TryAccountOf(Jid.Parse(text), out _));

    [Theory]
    [InlineData("a b\"c&d'e/f:g<h>i@j.example.com", @"a\20b\22c\26d\27e\2ff\3ag\3ch\3ei\40j.example.com")]
    [InlineData("o'brien@example.com", @"o\27brien\40example.com")]
    public void Account_jids_are_the_address_escaped_by_the_shared_xep_0106_escaper(string address, string local)
    {
        // One escaper (src/Xmpp JidEscaping, tested against the XEP's examples in Xmpp.Tests) for the PNA and the CNA.
        Assert.Equal(local, JidEscaping.Escape(address));
        if (AccountId.TryParse(address, out var account, out _))
        {
            Assert.Equal(local, Accounts.LocalJidOf(account).Local);
        }
    }

    [Fact]
    public void Allow_rules_match_users_and_accounts_by_address_or_domain()
    {
        var rules = new AllowRules(["example.net"],
        [
            new CnaXmppAllowRule { User = "romeo@example.net", Account = "juliet@example.com" },
            new CnaXmppAllowRule { User = "*@example.net", Account = "shared@example.com" },
            new CnaXmppAllowRule { User = "admin@example.net", Account = "*" },
        ]);
        var juliet = AccountId.Parse("juliet@example.com");
        var shared = AccountId.Parse("shared@example.com");
        Assert.True(rules.Allows(Jid.Parse("romeo@example.net/phone"), juliet));
        Assert.False(rules.Allows(Jid.Parse("mercutio@example.net"), juliet));
        Assert.True(rules.Allows(Jid.Parse("mercutio@example.net"), shared));
        Assert.True(rules.Allows(Jid.Parse("admin@example.net"), AccountId.Parse("any@example.org")));
        Assert.False(rules.Allows(Jid.Parse("romeo@example.org"), shared)); // not a local user
        Assert.False(rules.Allows(Jid.Parse("example.net"), shared));       // a server, not a user
    }

    [Fact]
    public void Without_rules_every_local_user_may_watch_any_account()
    {
        var rules = new AllowRules(["example.net"], []);
        Assert.True(rules.Allows(Jid.Parse("romeo@example.net"), AccountId.Parse("juliet@example.com")));
        Assert.False(rules.Allows(Jid.Parse("tybalt@example.org"), AccountId.Parse("juliet@example.com")));
    }

    [Theory]
    [InlineData("*", true)]
    [InlineData("*@example.net", true)]
    [InlineData("romeo@example.net", true)]
    [InlineData("romeo*@example.net", false)]
    [InlineData("*romeo@example.net", false)]
    [InlineData("example.net", false)]
    [InlineData("", false)]
    public void Rule_patterns_are_checked(string pattern, bool valid) => Assert.Equal(valid, AllowRules.IsPattern(pattern));
}
