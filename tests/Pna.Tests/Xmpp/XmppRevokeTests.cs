using System.Xml.Linq;
using Aggregators.Pna.Tests.Hosting;
using Aggregators.Pna.Tests.Ingest;
using Aggregators.Pna.Transports.Xmpp;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Xmpp;

/// <summary>A revoked authorization ends the pubsub subscription with a subscription='none' notification.</summary>
public sealed class XmppRevokeTests
{
    private static readonly XNamespace Ps = "http://jabber.org/protocol/pubsub";
    private static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";

    [Fact]
    public async Task Revoke_tells_the_subscriber_none_and_no_notification_follows()
    {
        var sink = new XmppPubsubTests.RecordingSink();
        await using var host = await PnaTestHost.StartAsync(settings: new Dictionary<string, string>
        {
            ["Pna:Xmpp:Enabled"] = "true",
            ["Pna:Xmpp:Port"] = "9",
            ["Pna:Xmpp:ComponentDomain"] = "events.example.com",
            ["Pna:Xmpp:Secret"] = "s3cret",
            ["Pna:Xmpp:MailDomain"] = "example.com",
        });
        var transport = host.App.Services.GetRequiredService<XmppPubsubTransport>();
        transport.Sink = sink;
        using (var first = await host.PostAsync(Events.Ndjson([Events.MessageNew("juliet@example.com", "INBOX", 2, 1, 3)])))
        {
            Assert.True(first.IsSuccessStatusCode); // the account is known before subscribing
        }
        await PnaTestHost.WaitUntil(() => host.State.Get(Aggregators.EventModel.AccountId.Parse("juliet@example.com"), Aggregators.EventModel.MailboxPath.Inbox) is not null, "the first event");
        var service = Jid.Parse("juliet@events.example.com");
        var iq = new Iq(IqType.Set, "q1", service, Jid.Parse("romeo@example.net/balcony"),
            new XElement(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("node", "mail_events/INBOX"), new XAttribute("jid", "romeo@example.net"))));
        await transport.HandleStanzaAsync((Iq)Stanza.FromElement(XElement.Parse(iq.ToString())), CancellationToken.None);
        var subscription = Assert.Single(host.Subscriptions.Snapshot());

        transport.Revoke(subscription, "authorization withdrawn: missing 'r'");
        Assert.Null(host.Subscriptions.Get(subscription.Id));
        var none = sink.Notifications.Single(m => m.Element.Element(Ev + "event")?.Element(Ev + "subscription") is not null);
        var sub = none.Element.Element(Ev + "event")!.Element(Ev + "subscription")!;
        Assert.Equal("none", (string?)sub.Attribute("subscription"));
        Assert.Equal("mail_events/INBOX", (string?)sub.Attribute("node"));
        Assert.Equal("romeo@example.net", (string?)sub.Attribute("jid"));
        Assert.Equal(subscription.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), (string?)sub.Attribute("subid"));
        Assert.Equal("romeo@example.net", none.To!.ToString());

        var before = sink.Notifications.Count;
        using var response = await host.PostAsync(Events.Ndjson([Events.MessageNew("juliet@example.com", "INBOX", 3, 1, 4)]));
        Assert.True(response.IsSuccessStatusCode);
        await PnaTestHost.WaitUntil(() => host.State.Get(Aggregators.EventModel.AccountId.Parse("juliet@example.com"), Aggregators.EventModel.MailboxPath.Inbox)?.Totals?.Messages == 3, "the event to be dispatched");
        await Task.Delay(100);
        Assert.Equal(before, sink.Notifications.Count);
    }
}
