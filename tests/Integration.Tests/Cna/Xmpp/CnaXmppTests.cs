using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Integration.Tests.Peers;
using Aggregators.Integration.Tests.Xmpp;
using Aggregators.Pna.Subscriptions;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Cna.Xmpp;

/// <summary>
/// Two domains on one Prosody: the PNA (in process) publishes example.com as events.example.com;
/// the CNA (in process) is events.example.net for the users of example.net. slixmpp as
/// romeo@example.net and 49 raw clients watch juliet@example.com's INBOX through the CNA.
/// </summary>
public sealed class CnaXmppTests : IClassFixture<CnaXmppPeers>
{
    private const string Account = @"juliet\40example.com@events.example.net";
    private const string Inbox = "mail_events/INBOX";
    private const string CnaSubscriber = "xmpp:cna@events.example.net";
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static readonly Dictionary<string, string> PnaSettings = new()
    {
        // The CNA's own JID is the subscriber at the PNA; 1 s heartbeats for a quick watchdog.
        ["Pna:Authorization:Grants:1:Subscriber"] = CnaSubscriber,
        ["Pna:Authorization:Grants:1:Account"] = "juliet@example.com",
        ["Pna:Heartbeats:Min"] = "00:00:01",
    };

    private readonly CnaXmppPeers _peers;

    public CnaXmppTests(CnaXmppPeers peers) => _peers = peers;

    private static string Subscribe(string jid) =>
        $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{Inbox}' jid='{jid}'/></pubsub>";

    private static string Unsubscribe(string jid) =>
        $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><unsubscribe node='{Inbox}' jid='{jid}'/></pubsub>";

    private static int UpstreamSubscriptions(PnaXmppHost pna) =>
        pna.App.Services.GetRequiredService<SubscriptionManager>().Snapshot().Count(s => s.Subscriber == CnaSubscriber);

    [Fact]
    public async Task Local_users_watch_a_remote_mailbox_through_the_cna_with_one_upstream_subscription_and_recover_from_a_pna_restart()
    {
        var prosody = _peers.Prosody;
        var pnaData = RequiredPeer.TempDirectory("cna-xmpp-pna");
        var pna = await PnaXmppHost.StartAsync(pnaData, prosody.ComponentPort, ProsodyServer.Secret, extra: PnaSettings);
        CnaXmppHost? cna = null;
        var raw = new List<RawXmppClient>();
        SlixmppClient? romeo = null;
        try
        {
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 3, 1, 4);
            cna = await CnaXmppHost.StartAsync(RequiredPeer.TempDirectory("cna-xmpp-cna"), prosody.ComponentPort, ProsodyServer.Secret, TimeSpan.FromSeconds(2));
            romeo = await SlixmppClient.ConnectAsync("romeo@example.net", ProsodyServer.Users["romeo@example.net"], prosody.C2sPort);

            // Browse the remote account through the CNA (answers proxied from the PNA).
            var accounts = await PubsubScenario.ResultAsync(romeo, "get", "events.example.net", PubsubScenario.DiscoItems());
            Assert.Equal([Account], PubsubScenario.ItemAttributes(accounts, "jid"));
            var root = await PubsubScenario.ResultAsync(romeo, "get", Account, PubsubScenario.DiscoItems());
            Assert.Equal(["mail_events"], PubsubScenario.ItemAttributes(root, "node"));
            Assert.Equal([Account], PubsubScenario.ItemAttributes(root, "jid"));
            var top = await PubsubScenario.ResultAsync(romeo, "get", Account, PubsubScenario.DiscoItems("mail_events"));
            Assert.Equal([Inbox], PubsubScenario.ItemAttributes(top, "node"));

            // The first local subscriber: the CNA subscribes upstream; romeo gets the totals.
            await PubsubScenario.ResultAsync(romeo, "set", Account, Subscribe("romeo@example.net"));
            var (node, initial) = await PubsubScenario.NextNotificationAsync(romeo);
            Assert.Equal((Inbox, XmppPayloadKind.Initial, new MailboxTotals(3, 1, 4, 1)), (node, initial.Kind, initial.Totals));

            // 49 more: each gets the cached totals with its subscribe result, and the PNA still
            // has exactly one subscription of the CNA.
            using (var gate = new SemaphoreSlim(8))
            {
                raw.AddRange(await Task.WhenAll(Enumerable.Range(0, CnaXmppPeers.RawSubscribers).Select(async i =>
                {
                    await gate.WaitAsync();
                    try
                    {
                        var client = await RawXmppClient.ConnectAsync(prosody.C2sPort, "u" + i, "example.net", "pw", CancellationToken.None);
                        var result = await client.IqAsync("set", Account, Subscribe(client.BareJid), Wait);
                        Assert.Equal("result", (string?)result.Attribute("type"));
                        var first = await client.NextNotificationAsync(Wait);
                        Assert.Equal((XmppPayloadKind.Initial, new MailboxTotals(3, 1, 4, 1)), (first.Kind, first.Totals));
                        return client;
                    }
                    finally
                    {
                        gate.Release();
                    }
                })));
            }
            Assert.Equal(1, UpstreamSubscriptions(pna));
            Assert.Equal(50, cna.Proxy.Status.LocalSubscriptions);
            Assert.Equal(1, cna.Proxy.Status.Upstreams);

            // One upstream notification, fanned out to all 50.
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 4, 2, 5);
            await EveryoneSeesAsync(romeo, raw, p => p.Kind == XmppPayloadKind.Event && p.Totals?.Messages == 4 && !p.Stale);

            // The PNA goes away: within two heartbeats everyone is told the totals are stale.
            await pna.DisposeAsync();
            await EveryoneSeesAsync(romeo, raw, p => p.Stale && p.Totals?.Messages == 4);

            // It comes back (its subscriptions restored) and the mailbox changed: everyone gets
            // fresh, right totals without doing anything.
            pna = await PnaXmppHost.StartAsync(pnaData, prosody.ComponentPort, ProsodyServer.Secret, extra: PnaSettings);
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 5, 3, 6);
            await EveryoneSeesAsync(romeo, raw, p => !p.Stale && p.Totals?.Messages == 5);
            Assert.Equal(1, UpstreamSubscriptions(pna));

            // The last local subscriber leaving ends the upstream subscription.
            foreach (var client in raw)
            {
                Assert.Equal("result", (string?)(await client.IqAsync("set", Account, Unsubscribe(client.BareJid), Wait)).Attribute("type"));
            }
            Assert.Equal(1, UpstreamSubscriptions(pna));
            await PubsubScenario.ResultAsync(romeo, "set", Account, Unsubscribe("romeo@example.net"));
            var deadline = DateTime.UtcNow + Wait;
            while (UpstreamSubscriptions(pna) != 0)
            {
                Assert.True(DateTime.UtcNow < deadline, "the CNA's upstream subscription was not ended");
                await Task.Delay(50);
            }
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nProsody log:\n" + prosody.Log(), ex);
        }
        finally
        {
            foreach (var client in raw)
            {
                await client.DisposeAsync();
            }
            if (romeo is not null)
            {
                await romeo.DisposeAsync();
            }
            if (cna is not null)
            {
                await cna.DisposeAsync();
            }
            await pna.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_grant_revoked_at_the_pna_ends_the_local_subscription_with_a_subscription_state_notification()
    {
        var prosody = _peers.Prosody;
        var pnaData = RequiredPeer.TempDirectory("cna-xmpp-pna");
        var pna = await PnaXmppHost.StartAsync(pnaData, prosody.ComponentPort, ProsodyServer.Secret, extra: PnaSettings);
        CnaXmppHost? cna = null;
        RawXmppClient? user = null;
        try
        {
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 3, 1, 4);
            cna = await CnaXmppHost.StartAsync(RequiredPeer.TempDirectory("cna-xmpp-cna"), prosody.ComponentPort, ProsodyServer.Secret,
                TimeSpan.FromSeconds(2), refresh: TimeSpan.FromSeconds(1));
            user = await RawXmppClient.ConnectAsync(prosody.C2sPort, "u0", "example.net", "pw", CancellationToken.None);
            Assert.Equal("result", (string?)(await user.IqAsync("set", Account, Subscribe(user.BareJid), Wait)).Attribute("type"));
            Assert.Equal(XmppPayloadKind.Initial, (await user.NextNotificationAsync(Wait)).Kind);

            // The PNA's admin removes the CNA's grant and restarts it (the stored subscription comes back).
            await pna.DisposeAsync();
            var revoked = new Dictionary<string, string>(PnaSettings) { ["Pna:Authorization:Grants:1:Subscriber"] = "xmpp:nobody@example.org" };
            pna = await PnaXmppHost.StartAsync(pnaData, prosody.ComponentPort, ProsodyServer.Secret, extra: revoked);

            // The CNA's next re-subscribe is refused: the user is told, per XEP-0060 §8.8.4.
            System.Xml.Linq.XNamespace ev = "http://jabber.org/protocol/pubsub#event";
            var ended = await user.NextAsync(e => e.Element(ev + "event")?.Element(ev + "subscription") is not null, Wait);
            var state = ended.Element(ev + "event")!.Element(ev + "subscription")!;
            Assert.Equal(("none", Inbox, Account), ((string?)state.Attribute("subscription"), (string?)state.Attribute("node"), (string?)ended.Attribute("from")));
            Assert.Equal(0, cna.Proxy.Status.LocalSubscriptions);
            Assert.Equal(0, UpstreamSubscriptions(pna));
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nProsody log:\n" + prosody.Log(), ex);
        }
        finally
        {
            if (user is not null)
            {
                await user.DisposeAsync();
            }
            if (cna is not null)
            {
                await cna.DisposeAsync();
            }
            await pna.DisposeAsync();
        }
    }

    [Fact]
    public async Task Local_subscribers_are_told_the_heartbeat_the_cna_sends_them_in_the_subscribe_reply_and_options()
    {
        var prosody = _peers.Prosody;
        // This PNA clamps heartbeats to at least 3 s; the CNA's own (watchdog) heartbeat is 4 s.
        var settings = new Dictionary<string, string>(PnaSettings) { ["Pna:Heartbeats:Min"] = "00:00:03" };
        var pna = await PnaXmppHost.StartAsync(RequiredPeer.TempDirectory("cna-xmpp-pna"), prosody.ComponentPort, ProsodyServer.Secret, extra: settings);
        CnaXmppHost? cna = null;
        var users = new List<RawXmppClient>();
        try
        {
            await pna.MessageNewAsync("juliet@example.com", "INBOX", 3, 1, 4);
            cna = await CnaXmppHost.StartAsync(RequiredPeer.TempDirectory("cna-xmpp-cna"), prosody.ComponentPort, ProsodyServer.Secret, TimeSpan.FromSeconds(4));
            for (var i = 0; i < 3; i++)
            {
                users.Add(await RawXmppClient.ConnectAsync(prosody.C2sPort, "u" + i, "example.net", "pw", CancellationToken.None));
            }

            // Asked 1 s: the CNA asks 1 s upstream, the PNA grants 3 s, every heartbeat is passed on: 3.
            // Asked 10 s: the CNA's 4 s subscription is shared and its heartbeats passed on: 4. None: 0.
            int?[] asked = [1, 10, null];
            int[] told = [3, 4, 0];
            for (var i = 0; i < users.Count; i++)
            {
                var reply = await users[i].IqAsync("set", Account, SubscribeWithHeartbeat(users[i].BareJid, asked[i]), Wait);
                Assert.Equal("result", (string?)reply.Attribute("type"));
                Assert.Equal(told[i], GrantedHeartbeat(reply));
                Assert.Equal(XmppPayloadKind.Initial, (await users[i].NextNotificationAsync(Wait)).Kind);
                var options = await users[i].IqAsync("get", Account,
                    $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><options node='{Inbox}' jid='{users[i].BareJid}'/></pubsub>", Wait);
                Assert.Equal(told[i], GrantedHeartbeat(options));
            }
            Assert.Equal(2, UpstreamSubscriptions(pna));

            // And heartbeats do come to the subscriber that asked for them.
            var beat = await users[0].NextNotificationAsync(Wait);
            Assert.Equal((XmppPayloadKind.Heartbeat, false), (beat.Kind, beat.Stale));
        }
        catch (Exception ex) when (ex is TimeoutException or Xunit.Sdk.XunitException)
        {
            throw new InvalidOperationException(ex.Message + "\nProsody log:\n" + prosody.Log(), ex);
        }
        finally
        {
            foreach (var user in users)
            {
                await user.DisposeAsync();
            }
            if (cna is not null)
            {
                await cna.DisposeAsync();
            }
            await pna.DisposeAsync();
        }
    }

    private static string SubscribeWithHeartbeat(string jid, int? seconds) =>
        $"<pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{Inbox}' jid='{jid}'/><options>"
        + new PubsubSubscribeOptions(SubscriptionDepth.One, EventTypeSet.All, seconds is { } s ? TimeSpan.FromSeconds(s) : null).ToSubmitForm()
        + "</options></pubsub>";

    /// <summary>pna#heartbeat in the options of a reply (XEP-0060 §6.3.7 / §6.3.2); -1 when it has none.</summary>
    private static int GrantedHeartbeat(System.Xml.Linq.XElement reply)
    {
        System.Xml.Linq.XNamespace ps = "http://jabber.org/protocol/pubsub";
        System.Xml.Linq.XNamespace x = "jabber:x:data";
        return reply.Descendants(ps + "options").SingleOrDefault()?.Element(x + "x") is { } form
            && PubsubSubscribeOptions.TryParse(form, out var granted, out _)
                ? (int)(granted.Heartbeat?.TotalSeconds ?? 0)
                : -1;
    }

    /// <summary>Waits until romeo and every raw subscriber received a notification matching <paramref name="condition"/> (others are skipped).</summary>
    private static async Task EveryoneSeesAsync(SlixmppClient romeo, IReadOnlyList<RawXmppClient> raw, Func<XmppMailEventPayload, bool> condition)
    {
        await Task.WhenAll(raw.Select(async client =>
        {
            var deadline = DateTime.UtcNow + Wait;
            while (!condition(await client.NextNotificationAsync(deadline - DateTime.UtcNow)))
            {
            }
        }).Append(Task.Run(async () =>
        {
            while (!condition((await PubsubScenario.NextNotificationAsync(romeo)).Payload))
            {
            }
        })));
    }
}
