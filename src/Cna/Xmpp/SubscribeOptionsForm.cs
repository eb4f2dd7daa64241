using System.Globalization;
using System.Xml.Linq;
using Aggregators.EventModel;

namespace Aggregators.Cna.Xmpp;

/// <summary>
/// A subscriber's options (XEP-0060 §6.3, XEP-0004 form of FORM_TYPE
/// <c>http://jabber.org/protocol/pubsub#subscribe_options</c>), with the fields and rules of the
/// PNA's service (docs/xmpp.md §4): <c>pubsub#subscription_depth</c> 1|all,
/// <c>pubsub#subscription_type</c> items, <c>pubsub#deliver</c> true, <c>pna#event_types</c>,
/// <c>pna#heartbeat</c> (seconds, 0 none). Unknown fields are ignored (XEP-0004 §3.2).
/// </summary>
public sealed record SubscribeOptionsForm(SubscriptionDepth Depth, EventTypeSet Events, TimeSpan? Heartbeat)
{
    public const string DepthField = "pubsub#subscription_depth";
    public const string TypeField = "pubsub#subscription_type";
    public const string DeliverField = "pubsub#deliver";
    public const string EventTypesField = "pna#event_types";
    public const string HeartbeatField = "pna#heartbeat";

    private static readonly XNamespace X = PubsubWire.DataForms;

    /// <summary>No options: depth 1 (XEP-0248 §6.1), every event type, no heartbeat.</summary>
    public static SubscribeOptionsForm Default { get; } = new(SubscriptionDepth.One, EventTypeSet.All, null);

    /// <summary>Reads a submitted form; false with the reason for a value that cannot be honoured.</summary>
    public static bool TryParse(XElement form, out SubscribeOptionsForm options, out string? error)
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
                case "FORM_TYPE" when single != PubsubWire.SubscribeOptionsForm:
                    error = $"FORM_TYPE must be {PubsubWire.SubscribeOptionsForm}";
                    return false;
                case DepthField:
                    if (single is not ("1" or "all"))
                    {
                        error = $"{DepthField} must be 1 or all (was '{single}')";
                        return false;
                    }
                    depth = single == "1" ? SubscriptionDepth.One : SubscriptionDepth.Subtree;
                    break;
                case TypeField when single != "items":
                    error = $"{TypeField} must be items (was '{single}')";
                    return false;
                case DeliverField when single is not ("1" or "true"):
                    error = $"{DeliverField} must be true; unsubscribe instead of pausing delivery";
                    return false;
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
        options = new SubscribeOptionsForm(depth, events, heartbeat);
        error = null;
        return true;
    }

    /// <summary>The options as a submitted form (for the upstream subscribe, XEP-0060 §6.3.7).</summary>
    public XElement ToSubmitForm()
    {
        var form = new XElement(X + "x", new XAttribute("type", "submit"),
            Field("FORM_TYPE", PubsubWire.SubscribeOptionsForm, "hidden"),
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
            MailEventTypes.All.Select(t => new XElement(X + "option", new XElement(X + "value", t.ToRfcName()))));
        if (!Events.IsAll)
        {
            eventTypes.Add(Events.Types().Select(t => new XElement(X + "value", t.ToRfcName())));
        }
        return new XElement(X + "x", new XAttribute("type", "form"),
            Field("FORM_TYPE", PubsubWire.SubscribeOptionsForm, "hidden"),
            Field(DeliverField, "1", "boolean"),
            new XElement(X + "field", new XAttribute("var", DepthField), new XAttribute("type", "list-single"),
                new XElement(X + "option", new XElement(X + "value", "1")),
                new XElement(X + "option", new XElement(X + "value", "all")),
                new XElement(X + "value", Depth == SubscriptionDepth.One ? "1" : "all")),
            Field(TypeField, "items", "list-single"),
            eventTypes,
            Field(HeartbeatField, HeartbeatSeconds, "text-single"));
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
