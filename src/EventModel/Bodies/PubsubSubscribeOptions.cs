using System.Globalization;
using System.Xml.Linq;
namespace Aggregators.EventModel.Bodies;

/// <summary>
/// Subscription options (XEP-0060 §6.3) as a data form (XEP-0004) of FORM_TYPE
/// <c>http://jabber.org/protocol/pubsub#subscribe_options</c>:
/// <list type="bullet">
/// <item><c>pubsub#subscription_depth</c>: <c>1</c> (the node's own mailbox; the XEP-0248 default) or <c>all</c> (every mailbox below too).</item>
/// <item><c>pubsub#subscription_type</c>: <c>items</c> only.</item>
/// <item><c>pubsub#deliver</c>: true only.</item>
/// <item><c>pna#event_types</c>: RFC 5423 event type names to receive; absent or empty for all.</item>
/// <item><c>pna#heartbeat</c>: seconds between heartbeats when nothing else is sent; 0 or absent for none.</item>
/// </list>
/// Unknown fields are ignored (XEP-0004 §3.2 lets a form carry more than the receiver knows).
/// The one implementation of the form: the PNA's pubsub service reads submitted forms and answers
/// options retrieval with <see cref="ToForm"/>; the CNA's XMPP proxy reads its subscribers' forms
/// and, like MailWatch, submits <see cref="ToSubmitForm"/> upstream (docs/xmpp.md §4). Depth 1 is
/// the XEP-0248 §6.1 default.
/// </summary>
public sealed record PubsubSubscribeOptions(SubscriptionDepth Depth, EventTypeSet Events, TimeSpan? Heartbeat)
{
    public const string DepthField = "pubsub#subscription_depth";
    public const string TypeField = "pubsub#subscription_type";
    public const string DeliverField = "pubsub#deliver";
    public const string EventTypesField = "pna#event_types";
    public const string HeartbeatField = "pna#heartbeat";

    /// <summary>The FORM_TYPE of the form (XEP-0060 §16.4.3).</summary>
    public const string FormType = XmppPubsubNamespaces.SubscribeOptions;

    private static readonly XNamespace X = XmppPubsubNamespaces.DataForms;

    /// <summary>What a subscribe without options gets: depth 1 (XEP-0248 §6.1), every event type, no heartbeat.</summary>
    public static PubsubSubscribeOptions Default { get; } = new(SubscriptionDepth.One, EventTypeSet.All, null);

    /// <summary>Reads a submitted form; false with the reason for a value this service cannot honour.</summary>
    public static bool TryParse(XElement form, out PubsubSubscribeOptions options, out string? error)
    {
        ArgumentNullException.ThrowIfNull(form);
        options = Default;
        if (form.Name != X + "x" || (string?)form.Attribute("type") is not ("submit" or "form"))
        {
            error = "the options must be a data form (jabber:x:data) of type submit";
            return false;
        }
        var depth = Default.Depth;
        var events = Default.Events;
        TimeSpan? heartbeat = null;
        foreach (var field in form.Elements(X + "field"))
        {
            var values = field.Elements(X + "value").Select(v => v.Value.Trim()).ToList();
            var single = values.Count > 0 ? values[0] : "";
            switch ((string?)field.Attribute("var"))
            {
                case "FORM_TYPE":
                    if (single != XmppPubsubNamespaces.SubscribeOptions)
                    {
                        error = $"FORM_TYPE must be {XmppPubsubNamespaces.SubscribeOptions}";
                        return false;
                    }
                    break;
                case DepthField:
                    switch (single)
                    {
                        case "1": depth = SubscriptionDepth.One; break;
                        case "all": depth = SubscriptionDepth.Subtree; break;
                        default:
                            error = $"{DepthField} must be 1 or all (was '{single}')";
                            return false;
                    }
                    break;
                case TypeField:
                    if (single != "items")
                    {
                        error = $"{TypeField} must be items (was '{single}'); node notifications are not offered";
                        return false;
                    }
                    break;
                case DeliverField:
                    if (single is not ("1" or "true"))
                    {
                        error = $"{DeliverField} must be true; unsubscribe instead of pausing delivery";
                        return false;
                    }
                    break;
                case EventTypesField:
                    var set = EventTypeSet.None;
                    foreach (var name in values.Where(v => v.Length > 0))
                    {
                        if (!MailEventTypes.TryParse(name, out var type))
                        {
                            error = $"{EventTypesField}: '{name}' is not an RFC 5423 event type";
                            return false;
                        }
                        set = set.With(type);
                    }
                    events = set.IsEmpty ? EventTypeSet.All : set;
                    break;
                case HeartbeatField:
                    if (!uint.TryParse(single, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds) || seconds > 86_400)
                    {
                        error = $"{HeartbeatField} must be a number of seconds from 0 to 86400 (was '{single}')";
                        return false;
                    }
                    heartbeat = seconds == 0 ? null : TimeSpan.FromSeconds(seconds);
                    break;
            }
        }
        options = new PubsubSubscribeOptions(depth, events, heartbeat);
        error = null;
        return true;
    }

    /// <summary>
    /// The options as a submitted form (for a subscribe with options, XEP-0060 §6.3.7): FORM_TYPE,
    /// the depth, the event types unless all, and the heartbeat.
    /// </summary>
    public XElement ToSubmitForm()
    {
        var form = new XElement(X + "x", new XAttribute("type", "submit"),
            Field("FORM_TYPE", FormType, "hidden"),
            Field(DepthField, Depth == SubscriptionDepth.One ? "1" : "all"));
        if (!Events.IsAll)
        {
            form.Add(new XElement(X + "field", new XAttribute("var", EventTypesField),
                Events.Types().Select(t => new XElement(X + "value", t.ToRfcName()))));
        }
        form.Add(Field(HeartbeatField, HeartbeatSeconds));
        return form;
    }

    /// <summary>The options as a form (type='form') for options retrieval (XEP-0060 §6.3.2).</summary>
    public XElement ToForm()
    {
        var eventTypes = new XElement(X + "field", new XAttribute("var", EventTypesField), new XAttribute("type", "list-multi"),
            new XAttribute("label", "RFC 5423 event types to receive (none selected: all)"));
        foreach (var type in MailEventTypes.All)
        {
            eventTypes.Add(new XElement(X + "option", new XElement(X + "value", type.ToRfcName())));
        }
        if (!Events.IsAll)
        {
            foreach (var type in Events.Types())
            {
                eventTypes.Add(new XElement(X + "value", type.ToRfcName()));
            }
        }
        return new XElement(X + "x", new XAttribute("type", "form"),
            new XElement(X + "field", new XAttribute("var", "FORM_TYPE"), new XAttribute("type", "hidden"),
                new XElement(X + "value", XmppPubsubNamespaces.SubscribeOptions)),
            new XElement(X + "field", new XAttribute("var", DeliverField), new XAttribute("type", "boolean"),
                new XAttribute("label", "Deliver notifications"), new XElement(X + "value", "1")),
            new XElement(X + "field", new XAttribute("var", DepthField), new XAttribute("type", "list-single"),
                new XAttribute("label", "Mailboxes: this one (1) or this one and all below (all)"),
                new XElement(X + "option", new XElement(X + "value", "1")),
                new XElement(X + "option", new XElement(X + "value", "all")),
                new XElement(X + "value", Depth == SubscriptionDepth.One ? "1" : "all")),
            new XElement(X + "field", new XAttribute("var", TypeField), new XAttribute("type", "list-single"),
                new XElement(X + "option", new XElement(X + "value", "items")),
                new XElement(X + "value", "items")),
            eventTypes,
            new XElement(X + "field", new XAttribute("var", HeartbeatField), new XAttribute("type", "text-single"),
                new XAttribute("label", "Seconds between heartbeats when nothing else is sent (0: none)"),
                new XElement(X + "value", HeartbeatSeconds)));
    }

    private string HeartbeatSeconds => ((long)(Heartbeat?.TotalSeconds ?? 0)).ToString(CultureInfo.InvariantCulture);

    private static XElement Field(string name, string value, string? type = null)
    {
        var f = new XElement(X + "field", new XAttribute("var", name));
        if (type is not null)
        {
            f.Add(new XAttribute("type", type));
        }
        f.Add(new XElement(X + "value", value));
        return f;
    }
}
