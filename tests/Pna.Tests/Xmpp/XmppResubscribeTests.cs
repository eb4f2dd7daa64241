using System.Xml.Linq;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Tests.Ingest;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>
/// Subscribing again to a node one is subscribed to (XEP-0060 §6.1.6) re-checks access: a CNA
/// does it to notice a revoked grant.
/// </summary>
public sealed class XmppResubscribeTests
{
    private static readonly XNamespace Ps = "http://jabber.org/protocol/pubsub";

    [Fact]
    public async Task A_resubscribe_answers_the_existing_subscription_while_granted_and_forbidden_once_revoked()
    {
        var dir = PnaTestHost.NewDataDirectory();
        var policy = new Switchable();
        await using (var host = await PnaTestHost.StartAsync(dir, new Dictionary<string, string>
        {
            ["Pna:Xmpp:Enabled"] = "true",
            ["Pna:Xmpp:Port"] = "9",
            ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
            ["Pna:Xmpp:Secret"] = "s3cret",
            ["Pna:Xmpp:MailDomain"] = "example.com",
        }, services: s => s.AddSingleton<IAuthorizationPolicy>(policy)))
        {
            var transport = host.App.Services.GetRequiredService<XmppPubsubTransport>();
            var sink = new XmppPubsubTests.RecordingSink();
            transport.Sink = sink;
            using (var response = await host.PostAsync(Events.Ndjson(Events.MessageNew("juliet@example.com", "INBOX", 3, 1, 4))))
            {
                Assert.True(response.IsSuccessStatusCode);
            }
            var cna = Jid.Parse("cna@events.example.net/up-1");
            var subscribe = new XElement(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("node", "mail_events/INBOX"), new XAttribute("jid", cna.ToString())));

            async Task<Iq> SubscribeAsync(string id)
            {
                var iq = (Iq)Stanza.FromElement(XElement.Parse(new Iq(IqType.Set, id, Jid.Parse("juliet@events.example.com"), cna, new XElement(subscribe)).ToString()));
                await transport.HandleStanzaAsync(iq, CancellationToken.None);
                return sink.Replies.Last(r => r.Id == id);
            }

            var first = await SubscribeAsync("s1");
            Assert.Equal(IqType.Result, first.Type);
            var again = await SubscribeAsync("s2");
            Assert.Equal(IqType.Result, again.Type);
            Assert.Equal((string?)first.Payload!.Element(Ps + "subscription")!.Attribute("subid"), (string?)again.Payload!.Element(Ps + "subscription")!.Attribute("subid"));
            Assert.Equal(1, host.Subscriptions.Count);

            policy.Allowed = false;
            var revoked = await SubscribeAsync("s3");
            Assert.Equal(StanzaErrorCondition.Forbidden, revoked.Error!.Condition);
            Assert.Equal(0, host.Subscriptions.Count);
        }
        Directory.Delete(dir, recursive: true);
    }

    private sealed class Switchable : IAuthorizationPolicy
    {
        public volatile bool Allowed = true;

        public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
            ValueTask.FromResult(Allowed ? AuthorizationDecision.Allow("test") : AuthorizationDecision.Deny("test: revoked"));
    }
}
