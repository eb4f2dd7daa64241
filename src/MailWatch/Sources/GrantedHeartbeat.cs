using System.Globalization;
using System.Xml.Linq;
using Aggregators.EventModel.Bodies;

namespace Aggregators.MailWatch.Sources;

/// <summary>
/// Reads the heartbeat interval a PNA granted from its reply to subscribe-and-configure: the
/// <c>&lt;options/&gt;</c> beside the <c>&lt;subscription/&gt;</c> (XEP-0060 §6.3.7) carries the
/// subscription's options form with <c>pna#heartbeat</c> as clamped to Pna:Heartbeats:Min..Max
/// (docs/xmpp.md). Pure.
/// </summary>
internal static class GrantedHeartbeat
{
    private static readonly XNamespace Ps = PubsubProtocol.Pubsub;
    private static readonly XNamespace X = XmppPubsubNamespaces.DataForms;

    /// <summary>
    /// The granted interval in a subscribe reply's <c>&lt;pubsub/&gt;</c>; null when the notifier
    /// does not say (an older PNA or CNA, no options) or grants no heartbeat (<c>0</c>).
    /// </summary>
    public static TimeSpan? FromSubscribeReply(XElement? pubsub)
    {
        var form = pubsub?.Element(Ps + "options")?.Element(X + "x");
        if (form is null
            || form.Elements(X + "field").FirstOrDefault(f => (string?)f.Attribute("var") == "FORM_TYPE") is not { } type
            || (string?)type.Element(X + "value") != XmppPubsubNamespaces.SubscribeOptions)
        {
            return null;
        }
        var field = form.Elements(X + "field").FirstOrDefault(f => (string?)f.Attribute("var") == "pna#heartbeat");
        var values = field?.Elements(X + "value").ToList();
        // XEP-0004 §3.2: a text-single field has at most one value; seconds, 0 = none (docs/xmpp.md).
        return values is [{ } value]
            && long.TryParse(value.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            && seconds is > 0 and <= 86_400
                ? TimeSpan.FromSeconds(seconds)
                : null;
    }
}
