using System.Xml.Linq;
using Aggregators.EventModel.Bodies;
using Aggregators.MailWatch.Model;
using Aggregators.MailWatch.Output;
using Aggregators.MailWatch.Sources;

namespace Aggregators.MailWatch.Tests;

public sealed class PubsubProtocolTests
{
    [Fact]
    public void Subscribe_carries_depth_and_heartbeat_in_the_options_form()
    {
        var x = PubsubProtocol.Subscribe("mail_events/Work", "romeo@example.net/mw", subtree: true, TimeSpan.FromSeconds(30));
        XNamespace ps = PubsubProtocol.Pubsub, xd = XmppPubsubNamespaces.DataForms;
        Assert.Equal("mail_events/Work", (string?)x.Element(ps + "subscribe")!.Attribute("node"));
        var fields = x.Element(ps + "options")!.Element(xd + "x")!.Elements(xd + "field").ToDictionary(f => (string)f.Attribute("var")!, f => f.Element(xd + "value")!.Value);
        Assert.Equal(XmppPubsubNamespaces.SubscribeOptions, fields["FORM_TYPE"]);
        Assert.Equal("all", fields["pubsub#subscription_depth"]);
        Assert.Equal("30", fields["pna#heartbeat"]);
    }

    [Fact]
    public void A_notification_as_in_docs_xmpp_md_becomes_counts()
    {
        var message = XElement.Parse("""
            <message xmlns='jabber:client' type='headline' from='juliet@events.example.com' to='romeo@example.net'>
              <event xmlns='http://jabber.org/protocol/pubsub#event'>
                <items node='mail_events/Work/Projects'>
                  <item id='2'>
                    <mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='event' seq='2' type='MessageNew'
                        account='juliet@example.com' mailbox='Work/Projects' timestamp='2026-11-21T21:00:00Z' id='ev-1' uidset='5'>
                      <totals messages='5' unseen='2' uidnext='6' uidvalidity='1'/>
                    </mail-event>
                  </item>
                </items>
              </event>
            </message>
            """);
        var payload = Assert.Single(PubsubProtocol.ReadPayloads(message.Element(XName.Get("event", PubsubProtocol.Event))));
        var update = PubsubProtocol.ToUpdate(payload);
        Assert.Equal(new MailboxUpdate("Work/Projects", 5, 2, 6, 1, UpdateKind.Event, "MessageNew"), update);
        Assert.True(PubsubProtocol.IsWatched("Work/Projects", ["Work"], subtree: true));
        Assert.False(PubsubProtocol.IsWatched("Work/Projects", ["Work"], subtree: false));
        Assert.False(PubsubProtocol.IsWatched("Workshop", ["Work"], subtree: true));
    }

    [Fact]
    public void Malformed_payloads_are_reported_and_skipped()
    {
        var pubsub = XElement.Parse("""
            <pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='mail_events/INBOX'>
              <item id='current'><mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='sometimes' seq='0' account='juliet@example.com' mailbox='INBOX'/></item>
              <item id='current'><mail-event xmlns='urn:aggregators:xmpp:mail-event:0' kind='current' seq='0' account='juliet@example.com' mailbox='INBOX'><totals messages='1' unseen='0' uidnext='2' uidvalidity='3'/></mail-event></item>
            </items></pubsub>
            """);
        var errors = new List<string>();
        var payload = Assert.Single(PubsubProtocol.ReadPayloads(pubsub, errors.Add));
        Assert.Equal(UpdateKind.Current, PubsubProtocol.ToUpdate(payload)!.Kind);
        Assert.Contains("kind", Assert.Single(errors), StringComparison.Ordinal);
        Assert.Empty(PubsubProtocol.ReadPayloads(new XElement("other")));
    }

    [Fact]
    public void Once_json_lists_the_notified_mailboxes()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(60), time);
        state.Apply(new MailboxUpdate("INBOX", 5, 2, 6, 1, UpdateKind.Current));
        state.Verified(new ImapCounts("Other", 1, 1, 2, time.GetUtcNow()));
        var json = System.Text.Json.JsonDocument.Parse(CountsJson.Write("juliet@example.com", WatchTransport.Xmpp, state.Snapshot())).RootElement;
        Assert.Equal("live", json.GetProperty("status").GetString());
        var inbox = Assert.Single(json.GetProperty("mailboxes").EnumerateArray());
        Assert.Equal(("INBOX", 5, 2, 6), (inbox.GetProperty("mailbox").GetString(), inbox.GetProperty("messages").GetInt32(),
            inbox.GetProperty("unseen").GetInt32(), inbox.GetProperty("uidnext").GetInt32()));
        Assert.Equal("2026-11-21T12:00:00.000Z", inbox.GetProperty("updated").GetString());
    }

    [Fact]
    public void Plain_line_says_stale_and_why()
    {
        var time = new ManualTimeProvider();
        var state = new WatchState(TimeSpan.FromSeconds(10), time);
        state.Apply(new MailboxUpdate("INBOX", 5, 2, 6, 1, UpdateKind.Current));
        Assert.Contains("LIVE INBOX 2 unseen / 5", StatusView.PlainLine(state.Snapshot()), StringComparison.Ordinal);
        time.Advance(TimeSpan.FromSeconds(20));
        state.Evaluate();
        Assert.Contains("STALE (nothing heard for 20 s", StatusView.PlainLine(state.Snapshot()), StringComparison.Ordinal);
    }
}
