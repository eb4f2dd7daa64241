using System.Collections.Concurrent;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Tests.Shared;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Authorization;

/// <summary>Live subscriptions are authorized again when their answer expires; a definite deny ends them.</summary>
public sealed class AuthorizationRecheckTests
{
    private readonly ManualTimeProvider _time = new();

    /// <summary>Answers like the IMAP ACL policy: valid for 60 s from the time asked.</summary>
    private sealed class TogglePolicy(TimeProvider time) : IAuthorizationPolicy
    {
        public volatile bool Allow = true;
        public volatile bool Unavailable;
        public TimeSpan? ValidFor { get; set; } = TimeSpan.FromSeconds(60);
        public int Calls;

        public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Calls);
            var until = ValidFor is { } v ? time.GetUtcNow() + v : (DateTimeOffset?)null;
            var d = Unavailable ? AuthorizationDecision.Deny("server down") with { Unavailable = true }
                : Allow ? AuthorizationDecision.Allow("acl lr") with { ValidUntil = until }
                : AuthorizationDecision.Deny("missing 'r'") with { ValidUntil = until };
            return ValueTask.FromResult(d);
        }
    }

    private sealed class RevocableTransport : INotificationTransport, IRevocableTransport
    {
        public ConcurrentQueue<(long Id, string Reason)> Revoked { get; } = new();

        public string Name => "revocable";

        public void Deliver(in Notification notification)
        {
        }

        public void Revoke(Subscription subscription, string reason) => Revoked.Enqueue((subscription.Id, reason));
    }

    private AuthorizationRecheck Recheck(PnaTestHost host, IAuthorizationPolicy policy) =>
        new(policy, host.Subscriptions, _time, NullLogger<AuthorizationRecheck>.Instance);

    [Fact]
    public async Task A_denied_answer_after_the_expiry_ends_the_subscription()
    {
        await using var host = await PnaTestHost.StartAsync();
        var s = await host.SubscribeAsync("juliet@example.com");
        var policy = new TogglePolicy(_time);
        using var recheck = Recheck(host, policy);

        Assert.Equal(0, await recheck.RunOnceAsync(default)); // picked up: asked once, allowed until +60 s
        policy.Allow = false;
        _time.Advance(TimeSpan.FromSeconds(59));
        Assert.Equal(0, await recheck.RunOnceAsync(default));
        Assert.Equal(1, policy.Calls); // not asked again before the expiry
        Assert.NotNull(host.Subscriptions.Get(s.Id));

        _time.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(1, await recheck.RunOnceAsync(default));
        Assert.Null(host.Subscriptions.Get(s.Id)); // a transport that cannot say it: ended at the PNA
        Assert.Equal(1, recheck.Revoked);
    }

    [Fact]
    public async Task A_revocable_transport_ends_it_in_its_own_words()
    {
        var transport = new RevocableTransport();
        await using var host = await PnaTestHost.StartAsync();
        var filter = new SubscriptionFilter { Account = AccountId.Parse("juliet@example.com"), Mailbox = MailboxPath.Inbox };
        var s = (await host.Subscriptions.SubscribeAsync("sip:romeo@example.com", filter, transport, "{}", null, default)).Subscription!;
        var policy = new TogglePolicy(_time) { Allow = false };
        using var recheck = Recheck(host, policy);

        Assert.Equal(1, await recheck.RunOnceAsync(default));
        var (id, reason) = Assert.Single(transport.Revoked);
        Assert.Equal(s.Id, id);
        Assert.Contains("missing 'r'", reason, StringComparison.Ordinal);
        // The transport has not ended it yet (a final NOTIFY in flight): not revoked twice.
        _time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(0, await recheck.RunOnceAsync(default));
        Assert.Single(transport.Revoked);
    }

    [Fact]
    public async Task An_unavailable_answer_keeps_the_subscription_and_asks_again_soon()
    {
        await using var host = await PnaTestHost.StartAsync();
        var s = await host.SubscribeAsync("juliet@example.com");
        var policy = new TogglePolicy(_time) { Unavailable = true };
        using var recheck = Recheck(host, policy);

        Assert.Equal(0, await recheck.RunOnceAsync(default));
        Assert.NotNull(host.Subscriptions.Get(s.Id));
        _time.Advance(AuthorizationRecheck.UnavailableRetry - TimeSpan.FromMilliseconds(1));
        await recheck.RunOnceAsync(default);
        Assert.Equal(1, policy.Calls);
        _time.Advance(TimeSpan.FromMilliseconds(1));
        policy.Unavailable = false;
        policy.Allow = false;
        Assert.Equal(1, await recheck.RunOnceAsync(default));
        Assert.Null(host.Subscriptions.Get(s.Id));
    }

    [Fact]
    public async Task Answers_without_an_expiry_are_not_asked_again()
    {
        await using var host = await PnaTestHost.StartAsync();
        var s = await host.SubscribeAsync("juliet@example.com");
        var policy = new TogglePolicy(_time) { ValidFor = null };
        using var recheck = Recheck(host, policy);

        await recheck.RunOnceAsync(default);
        policy.Allow = false;
        _time.Advance(TimeSpan.FromDays(1));
        Assert.Equal(0, await recheck.RunOnceAsync(default));
        Assert.Equal(1, policy.Calls);
        Assert.NotNull(host.Subscriptions.Get(s.Id));
    }

    [Fact]
    public async Task Ended_subscriptions_are_forgotten()
    {
        await using var host = await PnaTestHost.StartAsync();
        var s = await host.SubscribeAsync("juliet@example.com");
        var policy = new TogglePolicy(_time);
        using var recheck = Recheck(host, policy);

        await recheck.RunOnceAsync(default);
        host.Subscriptions.Unsubscribe(s.Id, "test");
        policy.Allow = false;
        _time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(0, await recheck.RunOnceAsync(default));
        Assert.Equal(1, policy.Calls);
    }

    [Fact]
    public async Task The_imap_acl_policy_gives_its_cache_expiry()
    {
        var source = new FixedAclSource();
        var policy = new ImapAclPolicy(new ImapAclOptions { AdminUser = "a", AdminPassword = "b", CacheSeconds = 30 }, source, _time);
        var d = await policy.AuthorizeAsync("sip:romeo@example.com", AccountId.Parse("juliet@example.com"), MailboxPath.Inbox, default);
        Assert.True(d.Allowed, d.Reason);
        Assert.Equal(_time.GetUtcNow().AddSeconds(30), d.ValidUntil);
        _time.Advance(TimeSpan.FromSeconds(10));
        var cached = await policy.AuthorizeAsync("sip:romeo@example.com", AccountId.Parse("juliet@example.com"), MailboxPath.Inbox, default);
        Assert.Equal(d.ValidUntil, cached.ValidUntil); // the cached answer keeps its expiry

        source.Failure = new Aggregators.ImapBridge.Imap.ImapConnectionException("refused");
        _time.Advance(TimeSpan.FromSeconds(30));
        var down = await policy.AuthorizeAsync("sip:romeo@example.com", AccountId.Parse("juliet@example.com"), MailboxPath.Inbox, default);
        Assert.False(down.Allowed);
        Assert.True(down.Unavailable, down.Reason);
    }

    private sealed class FixedAclSource : IImapAclSource
    {
        public Exception? Failure { get; set; }

        public Task<IReadOnlyList<KeyValuePair<string, string>>> GetAclAsync(string owner, MailboxPath mailbox, CancellationToken cancellationToken) =>
            Failure is { } e ? Task.FromException<IReadOnlyList<KeyValuePair<string, string>>>(e)
                : Task.FromResult<IReadOnlyList<KeyValuePair<string, string>>>([KeyValuePair.Create("romeo@example.com", "lr")]);
    }
}
