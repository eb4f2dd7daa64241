using System.Xml.Linq;

namespace Aggregators.Xmpp.Stanzas;

/// <summary>RFC 6120 §8.3.2: the error type says what the sender should do next.</summary>
public enum StanzaErrorType
{
    Auth,
    Cancel,
    Continue,
    Modify,
    Wait,
}

/// <summary>RFC 6120 §8.3.3: the defined conditions of a stanza error.</summary>
public enum StanzaErrorCondition
{
    BadRequest,
    Conflict,
    FeatureNotImplemented,
    Forbidden,
    Gone,
    InternalServerError,
    ItemNotFound,
    JidMalformed,
    NotAcceptable,
    NotAllowed,
    NotAuthorized,
    PolicyViolation,
    RecipientUnavailable,
    Redirect,
    RegistrationRequired,
    RemoteServerNotFound,
    RemoteServerTimeout,
    ResourceConstraint,
    ServiceUnavailable,
    SubscriptionRequired,
    UndefinedCondition,
    UnexpectedRequest,
}

/// <summary>
/// A stanza error (RFC 6120 §8.3): type, defined condition, optional text, optional
/// application-specific condition (e.g. XEP-0060's <c>&lt;unsupported xmlns='http://jabber.org/protocol/pubsub#errors' feature='...'/&gt;</c>),
/// optional <c>by</c> and, for gone/redirect, the alternate address.
/// </summary>
public sealed record StanzaError(
    StanzaErrorType Type,
    StanzaErrorCondition Condition,
    string? Text = null,
    XElement? ApplicationCondition = null,
    string? By = null,
    string? AlternateAddress = null)
{
    private static readonly XNamespace Ns = XmppNamespaces.StanzaErrors;

    /// <summary>An error with the type RFC 6120 §8.3.3 gives for <paramref name="condition"/>.</summary>
    public static StanzaError Of(StanzaErrorCondition condition, string? text = null, XElement? applicationCondition = null) =>
        new(DefaultType(condition), condition, text, applicationCondition);

    /// <summary>The type each condition's definition in RFC 6120 §8.3.3 uses.</summary>
    public static StanzaErrorType DefaultType(StanzaErrorCondition condition) => condition switch
    {
        StanzaErrorCondition.BadRequest or StanzaErrorCondition.JidMalformed or StanzaErrorCondition.NotAcceptable
            or StanzaErrorCondition.PolicyViolation or StanzaErrorCondition.Redirect => StanzaErrorType.Modify,
        StanzaErrorCondition.Forbidden or StanzaErrorCondition.NotAuthorized or StanzaErrorCondition.RegistrationRequired
            or StanzaErrorCondition.SubscriptionRequired => StanzaErrorType.Auth,
        StanzaErrorCondition.RecipientUnavailable or StanzaErrorCondition.RemoteServerTimeout
            or StanzaErrorCondition.ResourceConstraint or StanzaErrorCondition.UnexpectedRequest => StanzaErrorType.Wait,
        _ => StanzaErrorType.Cancel,
    };

    /// <summary>The condition's element name ("item-not-found", ...).</summary>
    public string ConditionName => ConditionNames.ToWire(Condition);

    /// <summary>Builds the &lt;error/&gt; child, in the stanza's namespace <paramref name="stanzaNamespace"/>.</summary>
    public XElement ToElement(XNamespace stanzaNamespace)
    {
        ArgumentNullException.ThrowIfNull(stanzaNamespace);
        var error = new XElement(stanzaNamespace + "error", new XAttribute("type", ConditionNames.ToWire(Type)));
        if (By is not null)
        {
            error.Add(new XAttribute("by", By));
        }
        var condition = new XElement(Ns + ConditionName);
        if (AlternateAddress is not null && Condition is StanzaErrorCondition.Gone or StanzaErrorCondition.Redirect)
        {
            condition.Value = AlternateAddress; // RFC 6120 §8.3.3.5/§8.3.3.14
        }
        error.Add(condition);
        if (Text is not null)
        {
            error.Add(new XElement(Ns + "text", new XAttribute(XNamespace.Xml + "lang", "en"), Text));
        }
        if (ApplicationCondition is not null)
        {
            error.Add(new XElement(ApplicationCondition));
        }
        return error;
    }

    /// <summary>
    /// Reads an &lt;error/&gt; element. An unknown type or a missing or unknown condition is read
    /// as cancel / undefined-condition (RFC 6120 §8.3.2: the receiver must still understand it).
    /// </summary>
    public static StanzaError Parse(XElement error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var type = ConditionNames.TryFromWire<StanzaErrorType>((string?)error.Attribute("type") ?? "", out var t) ? t : StanzaErrorType.Cancel;
        var condition = StanzaErrorCondition.UndefinedCondition;
        string? text = null, alternate = null;
        XElement? app = null;
        foreach (var child in error.Elements())
        {
            if (child.Name.Namespace == Ns)
            {
                if (child.Name.LocalName == "text")
                {
                    text = child.Value;
                }
                else if (ConditionNames.TryFromWire<StanzaErrorCondition>(child.Name.LocalName, out var c))
                {
                    condition = c;
                    alternate = child.Value.Length > 0 ? child.Value : null;
                }
            }
            else
            {
                app ??= child;
            }
        }
        return new StanzaError(type, condition, text, app, (string?)error.Attribute("by"), alternate);
    }

    public override string ToString() =>
        $"{ConditionNames.ToWire(Type)}/{ConditionName}" + (ApplicationCondition is null ? "" : $" ({ApplicationCondition.Name.LocalName})") + (Text is null ? "" : ": " + Text);
}
