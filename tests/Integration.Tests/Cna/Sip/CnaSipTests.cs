using Aggregators.EventModel.Bodies;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Integration.Tests.Sip;
using Aggregators.Sip.Subscriptions;

namespace Aggregators.Integration.Tests.Cna.Sip;

/// <summary>
/// Two domains on loopback: a PNA for example.com (in process, real SIP notifier) and a CNA for
/// example.net (in process); local subscribers are raw src/Sip UAs and baresip.
/// </summary>
public sealed class CnaSipTests
{
    private static async Task Until(Func<bool> condition, string what, int seconds = 30)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }

    private static bool Counts(RawSubscriberUa.Watch w, uint unseen, uint old) =>
        w.Summary is { Lines.Count: > 0 } s && s.Lines[0].New == unseen && s.Lines[0].Old == old;

    [Fact]
    public async Task Fifty_local_subscribers_share_one_upstream_subscription_get_cached_totals_and_recover_from_a_pna_restart()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-fanout");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), SipCna.TrustingPna());
        await pna.MailboxChangedAsync(messages: 5, unseen: 2);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port);
        await using var ua = new RawSubscriberUa();

        // baresip (registering to the CNA's registrar) and 49 raw UAs watch juliet@example.com through the CNA.
        await using var phone = await BaresipPhone.StartAsync(cna.Port, SipCna.LocalPassword, TimeSpan.FromSeconds(150), authUser: "romeo");
        var watches = Enumerable.Range(1, 49).Select(i => ua.Subscribe(cna.EndPoint, $"user{i:00}", SipCna.LocalPassword)).ToList();
        await Until(() => watches.All(w => Counts(w, 2, 3)), "49 raw subscribers with 2 new / 3 old");
        var lamp = await phone.WaitForMwiAsync(m => m.MessagesWaiting && m.Lines[0].New == 2, "baresip's lamp through the CNA");
        Assert.Equal(3u, lamp.Lines[0].Old);

        // Exactly one upstream subscription at the PNA, as the CNA's asserted identity.
        Assert.Equal(50, cna.Notifier.LocalCount);
        var upstream = Assert.Single(pna.Subscriptions.Snapshot());
        Assert.Equal("sip:cna@example.net", upstream.Subscriber);
        Assert.Equal(1, cna.Notifier.UpstreamCount);

        // A new subscriber gets the cached totals in its first NOTIFY.
        var late = ua.Subscribe(cna.EndPoint, "user50", SipCna.LocalPassword);
        await Until(() => late.Notifies.Count > 0, "the newcomer's first NOTIFY");
        Assert.True(Counts(late, 2, 3), "first NOTIFY from cache: " + late.LastText);
        Assert.Equal(1, cna.Notifier.UpstreamCount);

        // A change fans out to everyone.
        await pna.MailboxChangedAsync(messages: 6, unseen: 3);
        await Until(() => watches.All(w => Counts(w, 3, 3)) && Counts(late, 3, 3), "everyone at 3 new / 3 old");
        await phone.WaitForMwiAsync(m => m.Lines[0].New == 3, "baresip at 3 new");

        // A mail-event subscriber sees the stale marker while the PNA is down, and fresh data after.
        var rich = ua.Subscribe(cna.EndPoint, "romeo", SipCna.LocalPassword, package: "mail-event", filter: """{"mailbox":"INBOX","depth":"1"}""");
        await Until(() => rich.Last is { } n && !MailEventNotifyBody.IsStale(n.Body.Span) && rich.LastText.Contains("\"unseen\":3", StringComparison.Ordinal), "the mail-event subscriber's fresh totals");

        await pna.StopAsync();
        await Until(() => rich.Last is { } n && MailEventNotifyBody.IsStale(n.Body.Span), "the stale marker after two silent heartbeat intervals");
        Assert.Contains("\"unseen\":3", rich.LastText, StringComparison.Ordinal); // the last totals are kept
        Assert.True(cna.Notifier.StaleUpstreams >= 1);

        await pna.RestartAsync();
        await pna.MailboxChangedAsync(messages: 9, unseen: 4);
        await Until(() => watches.All(w => Counts(w, 4, 5)) && Counts(late, 4, 5), "everyone right again after the restart", 60);
        await Until(() => rich.Last is { } n && !MailEventNotifyBody.IsStale(n.Body.Span) && rich.LastText.Contains("\"unseen\":4", StringComparison.Ordinal), "fresh again");
        await phone.WaitForMwiAsync(m => m.Lines[0].New == 4, "baresip right again", TimeSpan.FromSeconds(60));
        await Until(() => cna.Notifier.StaleUpstreams == 0, "no stale upstream left");
        Assert.All(watches, w => Assert.Null(w.End));
    }

    [Fact]
    public async Task Mail_event_subscribers_are_told_the_heartbeat_the_cna_sends_them()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-heartbeat");
        var settings = SipCna.TrustingPna();
        settings["Pna:Heartbeats:Min"] = "00:00:03"; // the PNA clamps what the CNA asks to at least 3 s
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), settings);
        await pna.MailboxChangedAsync(messages: 5, unseen: 2);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port);
        await using var ua = new RawSubscriberUa();

        // Asked 1 s: asked upstream as is, granted 3 s, every PNA heartbeat passed on: 3. Asked 5: 5.
        // Asked none: the CNA's own 3 s heartbeat is for its watchdog and not passed on: nothing said.
        var fast = ua.Subscribe(cna.EndPoint, "user01", SipCna.LocalPassword, package: "mail-event", filter: """{"mailbox":"INBOX","depth":"1","heartbeat":1}""");
        var slow = ua.Subscribe(cna.EndPoint, "user02", SipCna.LocalPassword, package: "mail-event", filter: """{"mailbox":"INBOX","depth":"1","heartbeat":5}""");
        var none = ua.Subscribe(cna.EndPoint, "user03", SipCna.LocalPassword, package: "mail-event", filter: """{"mailbox":"INBOX","depth":"1"}""");
        static bool Fresh(RawSubscriberUa.Watch w) => w.Notifies.FirstOrDefault() is { } n && !MailEventNotifyBody.IsStale(n.Body.Span);
        await Until(() => Fresh(fast) && Fresh(slow) && Fresh(none), "three fresh first NOTIFYs");
        Assert.Equal(TimeSpan.FromSeconds(3), MailEventNotifyBody.GrantedHeartbeat(fast.Notifies.First().Body.Span));
        Assert.Equal(TimeSpan.FromSeconds(5), MailEventNotifyBody.GrantedHeartbeat(slow.Notifies.First().Body.Span));
        Assert.Null(MailEventNotifyBody.GrantedHeartbeat(none.Notifies.First().Body.Span));
        Assert.Equal(3, pna.Subscriptions.Snapshot().Count);

        // The heartbeats come, and the upstream subscription that asked 1 s (granted 3 s) is not judged
        // silent meanwhile: the watchdog allows two granted intervals, not two asked ones.
        await Until(() => fast.Notifies.Skip(1).Any(n => MailEventNotifyBody.TryDecode(n.Body.Span, out _, out var kind, out _, out _) && kind == "heartbeat"),
            "a heartbeat passed on");
        Assert.All(fast.Notifies, n => Assert.False(MailEventNotifyBody.IsStale(n.Body.Span)));
        Assert.Equal(0, cna.Notifier.Pool.Resubscribes);
        Assert.All(none.Notifies, n => Assert.Null(MailEventNotifyBody.GrantedHeartbeat(n.Body.Span)));
    }

    [Fact]
    public async Task The_last_local_subscriber_leaving_ends_the_upstream_subscription()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-leave");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), SipCna.TrustingPna());
        await pna.MailboxChangedAsync(messages: 1, unseen: 1);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port);
        await using var ua = new RawSubscriberUa();
        var a = ua.Subscribe(cna.EndPoint, "user01", SipCna.LocalPassword);
        var b = ua.Subscribe(cna.EndPoint, "user02", SipCna.LocalPassword);
        await Until(() => Counts(a, 1, 0) && Counts(b, 1, 0), "both subscribed");
        Assert.Single(pna.Subscriptions.Snapshot());
        a.Subscription.Unsubscribe();
        await Until(() => cna.Notifier.LocalCount == 1, "one local left");
        Assert.Single(pna.Subscriptions.Snapshot());
        b.Subscription.Unsubscribe();
        await Until(() => pna.Subscriptions.Snapshot().Count == 0, "the upstream subscription to end at the PNA");
        Assert.Equal(0, cna.Notifier.UpstreamCount);
    }

    [Fact]
    public async Task Local_wrong_password_unrouted_domain_and_unauthorized_user_are_refused_at_the_cna()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-local-auth");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), SipCna.TrustingPna());
        await pna.MailboxChangedAsync(messages: 1, unseen: 1);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port, new Dictionary<string, string>
        {
            ["Cna:Sip:Authorization:0:User"] = "*",
            ["Cna:Sip:Authorization:0:Resource"] = "*@example.com",
            ["Cna:Sip:Authorization:1:User"] = "romeo",
            ["Cna:Sip:Authorization:1:Resource"] = "*",
        });
        await using var ua = new RawSubscriberUa();
        var wrong = ua.Subscribe(cna.EndPoint, "user01", "guess");
        var unrouted = ua.Subscribe(cna.EndPoint, "romeo", SipCna.LocalPassword, resource: "sip:juliet@example.org");
        await Until(() => wrong.End is not null && unrouted.End is not null, "both refused");
        Assert.Equal(403, wrong.End!.StatusCode);
        Assert.Equal(404, unrouted.End!.StatusCode);
        Assert.Empty(pna.Subscriptions.Snapshot());
    }

    [Fact]
    public async Task Trusted_peer_with_a_wrong_secret_is_refused_by_the_pna_and_the_local_subscriber_hears_it()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-peer-wrong");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), SipCna.TrustingPna());
        await pna.MailboxChangedAsync(messages: 1, unseen: 1);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port, new Dictionary<string, string>
        {
            ["Cna:Sip:Routes:example.com:PeerPassword"] = "not-the-secret",
        });
        await using var ua = new RawSubscriberUa();
        var w = ua.Subscribe(cna.EndPoint, "romeo", SipCna.LocalPassword);
        await Until(() => w.End is not null, "the refusal");
        Assert.Equal(SipSubscriptionEndKind.Rejected, w.End!.Kind);
        Assert.Equal(403, w.End.StatusCode);
        Assert.Contains("refused upstream", w.End.Reason, StringComparison.Ordinal);
        Assert.Empty(pna.Subscriptions.Snapshot());
        Assert.Equal(0, cna.Notifier.UpstreamCount);
    }

    [Fact]
    public async Task Per_user_credentials_authenticate_upstream_as_the_user_and_wrong_ones_are_refused()
    {
        var dir = RequiredPeer.TempDirectory("cna-sip-per-user");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), SipCna.TrustingPna());
        await pna.MailboxChangedAsync(messages: 4, unseen: 1);
        await using var cna = await SipCna.StartAsync(dir, TestPorts.Next(), pna.Port, new Dictionary<string, string>
        {
            ["Cna:Sip:Routes:example.com:Authentication"] = "PerUser",
        }, extraUsers: "upstream romeo example.com username=juliet password=" + SipPna.Password + "\nupstream mercutio example.com username=juliet password=wrong");
        await using var ua = new RawSubscriberUa();

        // romeo's stored credentials are juliet's at the PNA: authorized as the owner.
        var romeo = ua.Subscribe(cna.EndPoint, "romeo", SipCna.LocalPassword);
        await Until(() => Counts(romeo, 1, 3), "romeo's counts");
        Assert.Equal("sip:juliet@example.com", Assert.Single(pna.Subscriptions.Snapshot()).Subscriber);

        // mercutio's are wrong: 403 from the PNA, passed on; user01 has none stored: 403 at the CNA.
        var mercutio = ua.Subscribe(cna.EndPoint, "mercutio", SipCna.LocalPassword);
        var none = ua.Subscribe(cna.EndPoint, "user01", SipCna.LocalPassword);
        await Until(() => mercutio.End is not null && none.End is not null, "both refused");
        Assert.Equal(403, mercutio.End!.StatusCode);
        Assert.Contains("refused upstream", mercutio.End.Reason, StringComparison.Ordinal);
        Assert.Equal(403, none.End!.StatusCode);
        Assert.Contains("no stored credentials", none.End.Reason, StringComparison.Ordinal);
        Assert.Single(pna.Subscriptions.Snapshot());
        Assert.Null(romeo.End);
    }
}
