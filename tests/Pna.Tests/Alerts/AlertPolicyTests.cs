using Aggregators.EventModel;
using Aggregators.Pna.Alerts;
using Aggregators.Tests.Shared;

namespace Aggregators.Pna.Tests.Alerts;

public sealed class AlertPolicyTests
{
    private static AlertTarget Target(string uri) => AlertTarget.TryParse(uri, out var t, out var e) ? t : throw new FormatException(e);

    private static AlertConsent Consent(IEnumerable<string>? subscribers = null, bool allowSubscribers = true) => new(new AlertOptions
    {
        AllowSubscribers = allowSubscribers,
        Targets =
        [
            new() { Target = "xmpp:juliet@example.com", AllowSenders = ["romeo@example.com", "*@verona.example"] },
            new() { Target = "sip:juliet@example.com", AllowSources = ["sieve"] },
        ],
    }, (_, _) => subscribers ?? []);

    [Theory]
    [InlineData("xmpp:juliet@example.com", "other", "Romeo <Romeo@Example.com>", true)]
    [InlineData("xmpp:Juliet@EXAMPLE.com/phone", "other", "romeo@example.com", true)]
    [InlineData("xmpp:juliet@example.com", "other", "tybalt@verona.example", true)]
    [InlineData("xmpp:juliet@example.com", "other", "tybalt@example.com", false)]
    [InlineData("xmpp:juliet@example.com", "sieve", null, false)]
    [InlineData("sip:juliet@example.com:5070;transport=udp", "sieve", null, true)]
    [InlineData("sip:juliet@example.com", "other", "romeo@example.com", false)]
    [InlineData("xmpp:nurse@example.com", "sieve", "romeo@example.com", false)]
    public void Configured_consent(string target, string source, string? from, bool allowed)
    {
        var decision = Consent().Decide(Target(target), source, from, null, null);
        Assert.Equal(allowed, decision.Allowed);
        Assert.False(string.IsNullOrEmpty(decision.Reason));
    }

    [Fact]
    public void A_refusal_says_why()
    {
        var decision = Consent().Decide(Target("xmpp:nurse@example.com"), "sieve", "romeo@example.com", AccountId.Parse("nurse@example.com"), null);
        Assert.False(decision.Allowed);
        Assert.Contains("no entry in Pna:Alerts:Targets", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("no subscription covering nurse@example.com/INBOX", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_subscription_covering_the_mailbox_is_consent()
    {
        var account = AccountId.Parse("nurse@example.com");
        var consent = Consent(["sip:nurse@EXAMPLE.com:5060;transport=tcp", "xmpp:watcher@example.net"]);
        Assert.True(consent.Decide(Target("sip:nurse@example.com"), "x", null, account, null).Allowed);
        Assert.True(consent.Decide(Target("xmpp:watcher@example.net"), "x", null, account, MailboxPath.Parse("Work")).Allowed);
        Assert.False(consent.Decide(Target("xmpp:nurse@example.com"), "x", null, account, null).Allowed);
        Assert.False(consent.Decide(Target("sip:nurse@example.com"), "x", null, null, null).Allowed); // no account named
        Assert.False(Consent(["sip:nurse@example.com"], allowSubscribers: false).Decide(Target("sip:nurse@example.com"), "x", null, account, null).Allowed);
    }

    [Fact]
    public void Token_buckets_refill_with_time()
    {
        var time = new ManualTimeProvider();
        var limiter = new AlertRateLimiter(new AlertRateOptions { Burst = 3, PerMinute = 6 }, time);
        Assert.True(limiter.TryTake("a"));
        Assert.True(limiter.TryTake("a"));
        Assert.True(limiter.TryTake("a"));
        Assert.False(limiter.TryTake("a"));
        Assert.True(limiter.TryTake("b")); // keys are apart
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(limiter.TryTake("a")); // 0.9 of a token
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.True(limiter.TryTake("a"));
        Assert.False(limiter.TryTake("a"));
        limiter.Return("a");
        Assert.True(limiter.TryTake("a"));
        time.Advance(TimeSpan.FromHours(1));
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryTake("a")); // never more than the burst
        }
        Assert.False(limiter.TryTake("a"));
    }

    [Fact]
    public void Identical_alerts_fold_within_the_window()
    {
        var time = new ManualTimeProvider();
        var folding = new AlertFolding(TimeSpan.FromSeconds(60), time);
        var target = Target("xmpp:juliet@example.com");
        var a = new AlertRequest { Text = "Mail from Romeo", From = "romeo@example.com" };
        var b = new AlertRequest { Text = "Mail from Romeo", From = "romeo@example.com", ImapUrl = "imap://h/INBOX;UIDVALIDITY=1/;UID=2" };
        Assert.Null(folding.Find(target, a));
        folding.Remember(target, a, 7);
        Assert.Equal(7, folding.Find(target, a));
        Assert.Equal(7, folding.Find(Target("xmpp:Juliet@example.com/pc"), a));
        Assert.Null(folding.Find(target, b));
        Assert.Null(folding.Find(Target("sip:juliet@example.com"), a));
        time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(7, folding.Find(target, a));
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.Null(folding.Find(target, a));
    }
}
