using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Tests.Authorization;

public class GrantPolicyTests
{
    private static readonly AccountId Juliet = AccountId.Parse("juliet@example.com");

    private static GrantPolicy Policy(bool ownerAccess = true, Dictionary<string, string>? aliases = null, params GrantOptions[] grants) =>
        new(new GrantPolicyOptions
        {
            OwnerAccess = ownerAccess,
            DomainAliases = aliases ?? [],
            Grants = [.. grants],
        });

    private static GrantOptions Grant(string subscriber, string account, string mailbox = "") =>
        new() { Subscriber = subscriber, Account = account, Mailbox = mailbox };

    private static AuthorizationDecision Decide(GrantPolicy policy, string subscriber, string account = "juliet@example.com", string mailbox = "INBOX") =>
        policy.Authorize(subscriber, AccountId.Parse(account), MailboxPath.Parse(mailbox));

    [Fact]
    public void With_nothing_configured_but_owner_access_strangers_are_denied()
    {
        var d = Decide(Policy(), "sip:romeo@example.net");
        Assert.False(d.Allowed);
        Assert.StartsWith("no grant matches sip:romeo@example.net for juliet@example.com/INBOX", d.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("sip:juliet@example.com")]
    [InlineData("sips:juliet@EXAMPLE.com:5061;transport=tls")]
    [InlineData("xmpp:juliet@example.com/balcony")]
    [InlineData("juliet@example.com")]
    public void The_owner_sees_all_of_its_mailboxes(string subscriber)
    {
        var policy = Policy();
        foreach (var mailbox in new[] { "", "INBOX", "Work/Reports/2026" })
        {
            var d = Decide(policy, subscriber, mailbox: mailbox);
            Assert.True(d.Allowed, d.Reason);
            Assert.StartsWith("owner access:", d.Reason, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Owner_comparison_follows_account_rules_local_part_exact()
    {
        var d = Decide(Policy(), "sip:Juliet@example.com");
        Assert.False(d.Allowed);
        Assert.True(Decide(Policy(), "sip:Juliet@example.com", account: "Juliet@Example.com").Allowed);
    }

    [Fact]
    public void Owner_access_can_be_switched_off()
    {
        var d = Decide(Policy(ownerAccess: false), "sip:juliet@example.com");
        Assert.False(d.Allowed);
        Assert.Contains("no grant matches", d.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Domain_aliases_map_subscriber_domains_to_mail_domains_for_owner_access()
    {
        var policy = Policy(aliases: new() { ["Events.Example.com"] = "example.com" });
        var d = Decide(policy, "xmpp:juliet@events.example.com");
        Assert.True(d.Allowed, d.Reason);
        Assert.Contains("domain alias events.example.com -> example.com", d.Reason, StringComparison.Ordinal);
        Assert.False(Decide(policy, "xmpp:romeo@events.example.com").Allowed);
        // The alias does not make the mail domain's users owners of the alias domain.
        Assert.False(Decide(policy, "sip:juliet@example.com", account: "juliet@events.example.com").Allowed);
    }

    [Fact]
    public void An_exact_subscriber_grant_allows_only_that_subscriber_and_scheme()
    {
        var policy = Policy(grants: Grant("sip:romeo@example.net", "juliet@example.com"));
        var d = Decide(policy, "sip:romeo@EXAMPLE.net;transport=udp");
        Assert.True(d.Allowed);
        Assert.Equal("Pna:Authorization:Grants:0 allows it (subscriber sip:romeo@example.net, account juliet@example.com, mailbox (all))", d.Reason);
        Assert.False(Decide(policy, "sips:romeo@example.net").Allowed);
        Assert.False(Decide(policy, "xmpp:romeo@example.net").Allowed);
        Assert.False(Decide(policy, "sip:Romeo@example.net").Allowed);
        Assert.False(Decide(policy, "sip:romeo@example.net", account: "nurse@example.com").Allowed);
    }

    [Fact]
    public void Wildcard_subscriber_patterns()
    {
        var xmppHost = Policy(grants: Grant("xmpp:*@example.net", "*"));
        Assert.True(Decide(xmppHost, "xmpp:anyone@example.net/x").Allowed);
        Assert.False(Decide(xmppHost, "sip:anyone@example.net").Allowed);
        Assert.False(Decide(xmppHost, "xmpp:anyone@other.net").Allowed);

        var anyScheme = Policy(grants: Grant("*@Example.net", "*"));
        Assert.True(Decide(anyScheme, "xmpp:a@example.net").Allowed);
        Assert.True(Decide(anyScheme, "sips:b@example.net").Allowed);
        Assert.False(Decide(anyScheme, "sip:b@sub.example.net").Allowed);

        var sipAnyone = Policy(grants: Grant("sip:*", "*"));
        Assert.True(Decide(sipAnyone, "sip:x@y.org").Allowed);
        Assert.False(Decide(sipAnyone, "xmpp:x@y.org").Allowed);

        var anyone = Policy(grants: Grant("*", "*"));
        Assert.True(Decide(anyone, "xmpp:x@y.org").Allowed);
        // Even "*" does not admit a subscriber that is not a valid URI.
        var bad = Decide(anyone, "tel:+1555");
        Assert.False(bad.Allowed);
        Assert.Contains("not a valid subscriber URI", bad.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Account_patterns()
    {
        var domain = Policy(grants: Grant("*", "*@Example.com"));
        Assert.True(Decide(domain, "sip:r@x.net", account: "anyone@example.com").Allowed);
        Assert.False(Decide(domain, "sip:r@x.net", account: "anyone@example.org").Allowed);
        Assert.False(Decide(domain, "sip:r@x.net", account: "anyone@sub.example.com").Allowed);
        var exact = Policy(grants: Grant("*", "juliet@EXAMPLE.COM"));
        Assert.True(Decide(exact, "sip:r@x.net").Allowed);
        Assert.False(Decide(exact, "sip:r@x.net", account: "Juliet@example.com").Allowed);
    }

    [Fact]
    public void Mailbox_prefixes_match_whole_segments()
    {
        var policy = Policy(grants: Grant("*", "*", "Shared"));
        Assert.True(Decide(policy, "sip:r@x.net", mailbox: "Shared").Allowed);
        Assert.True(Decide(policy, "sip:r@x.net", mailbox: "Shared/Team/2026").Allowed);
        Assert.False(Decide(policy, "sip:r@x.net", mailbox: "Shared2").Allowed);
        Assert.False(Decide(policy, "sip:r@x.net", mailbox: "").Allowed);
        Assert.False(Decide(policy, "sip:r@x.net", mailbox: "INBOX").Allowed);
        var inbox = Policy(grants: Grant("*", "*", "inbox"));
        Assert.True(Decide(inbox, "sip:r@x.net", mailbox: "INBOX/Receipts").Allowed);
    }

    [Fact]
    public void The_first_matching_grant_is_named_in_the_reason()
    {
        var policy = Policy(false, null,
            Grant("sip:*@example.net", "*", "Work"),
            Grant("sip:romeo@example.net", "juliet@example.com"));
        Assert.StartsWith("Pna:Authorization:Grants:0 ", Decide(policy, "sip:romeo@example.net", mailbox: "Work/x").Reason, StringComparison.Ordinal);
        Assert.StartsWith("Pna:Authorization:Grants:1 ", Decide(policy, "sip:romeo@example.net", mailbox: "INBOX").Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AuthorizeAsync_gives_the_same_decision()
    {
        IAuthorizationPolicy policy = Policy();
        var d = await policy.AuthorizeAsync("sip:juliet@example.com", Juliet, MailboxPath.Inbox, CancellationToken.None);
        Assert.True(d.Allowed);
    }

    [Theory]
    [InlineData("", "*", "", "Grants:0:Subscriber '': is empty")]
    [InlineData("ro*@example.net", "*", "", "'*' may only stand for the whole user part")]
    [InlineData("sip:*@*.example.net", "*", "", "'*' may only stand for the whole user part")]
    [InlineData("tel:*", "*", "", "unsupported scheme 'tel'")]
    [InlineData("sip:romeo", "*", "", "expected user@host")]
    [InlineData("sip:*@bad_host", "*", "", "the host has an invalid host name")]
    [InlineData("sip:romeo:pw@example.net", "*", "", "password")]
    [InlineData("*", "", "", "Grants:0:Account '': is empty")]
    [InlineData("*", "jul*@example.com", "", "'*' may only stand for the whole local part")]
    [InlineData("*", "*@", "", "expected *@domain")]
    [InlineData("*", "juliet @example.com", "", "forbidden character")]
    [InlineData("*", "*", "Shared//x", "Grants:0:Mailbox 'Shared//x': mailbox path has an empty segment")]
    public void Invalid_grants_are_configuration_errors_naming_the_key(string subscriber, string account, string mailbox, string message)
    {
        var options = new GrantPolicyOptions { Grants = [Grant(subscriber, account, mailbox)] };
        var ex = Assert.Throws<InvalidOperationException>(() => new GrantPolicy(options));
        Assert.Contains("invalid authorization configuration", ex.Message, StringComparison.Ordinal);
        Assert.Contains(message, ex.Message, StringComparison.Ordinal);
        Assert.Single(GrantPolicy.Validate(options));
    }

    [Fact]
    public void Invalid_domain_aliases_are_configuration_errors()
    {
        var options = new GrantPolicyOptions { DomainAliases = new() { ["events.example.com"] = "not a domain" } };
        var errors = GrantPolicy.Validate(options);
        Assert.Contains("Pna:Authorization:DomainAliases:events.example.com: the mail domain 'not a domain'", Assert.Single(errors), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_problem_is_reported_at_once()
    {
        var options = new GrantPolicyOptions { Grants = [Grant("x*", "y*"), Grant("*", "*"), Grant("*", "*", "a//b")] };
        var errors = GrantPolicy.Validate(options);
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.StartsWith("Pna:Authorization:Grants:2:Mailbox", StringComparison.Ordinal));
    }

    [Fact]
    public void Options_bind_from_the_Pna_Authorization_section()
    {
        static IServiceProvider Build(Dictionary<string, string?> settings)
        {
            var config = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
            var services = new ServiceCollection();
            services.AddSingleton<IConfiguration>(config);
            services.AddGrantPolicy();
            return services.BuildServiceProvider();
        }
        var sp = Build(new()
        {
            ["Pna:Authorization:OwnerAccess"] = "false",
            ["Pna:Authorization:DomainAliases:events.example.com"] = "example.com",
            ["Pna:Authorization:Grants:0:Subscriber"] = "xmpp:*@example.net",
            ["Pna:Authorization:Grants:0:Account"] = "*@example.com",
            ["Pna:Authorization:Grants:0:Mailbox"] = "Shared",
        });
        var options = sp.GetRequiredService<IOptions<GrantPolicyOptions>>().Value;
        Assert.False(options.OwnerAccess);
        Assert.Equal("example.com", options.DomainAliases["events.example.com"]);
        var policy = sp.GetRequiredService<IAuthorizationPolicy>();
        Assert.IsType<GrantPolicy>(policy);
        Assert.True(((GrantPolicy)policy).Authorize("xmpp:nurse@example.net", Juliet, MailboxPath.Parse("Shared/Balcony")).Allowed);
        Assert.False(((GrantPolicy)policy).Authorize("xmpp:juliet@example.com", Juliet, MailboxPath.Inbox).Allowed);

        var bad = Build(new() { ["Pna:Authorization:Grants:0:Subscriber"] = "sip:ro*@x", ["Pna:Authorization:Grants:0:Account"] = "*" });
        var ex = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<GrantPolicyOptions>>().Value);
        Assert.Contains("Pna:Authorization:Grants:0:Subscriber 'sip:ro*@x'", ex.Message, StringComparison.Ordinal);
    }
}
