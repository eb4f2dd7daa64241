using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>RFC 6120 §4.9.3: the defined conditions of a stream error.</summary>
public enum StreamErrorCondition
{
    BadFormat,
    BadNamespacePrefix,
    Conflict,
    ConnectionTimeout,
    HostGone,
    HostUnknown,
    ImproperAddressing,
    InternalServerError,
    InvalidFrom,
    InvalidNamespace,
    InvalidXml,
    NotAuthorized,
    NotWellFormed,
    PolicyViolation,
    RemoteConnectionFailed,
    Reset,
    ResourceConstraint,
    RestrictedXml,
    SeeOtherHost,
    SystemShutdown,
    UndefinedCondition,
    UnsupportedEncoding,
    UnsupportedFeature,
    UnsupportedStanzaType,
    UnsupportedVersion,
}

/// <summary>
/// A stream error (RFC 6120 §4.9): a defined condition, optional human-readable text and an
/// optional application-specific condition element. Fatal: the stream closes after it.
/// </summary>
public sealed record StreamError(StreamErrorCondition Condition, string? Text = null, XElement? ApplicationCondition = null)
{
    private static readonly XNamespace StreamNs = XmppNamespaces.Streams;
    private static readonly XNamespace ErrorNs = XmppNamespaces.StreamErrors;

    /// <summary>The condition's element name on the wire ("not-authorized", ...).</summary>
    public string ConditionName => ConditionNames.ToWire(Condition);

    /// <summary>Builds <c>&lt;stream:error&gt;</c> (RFC 6120 §4.9.2).</summary>
    public XElement ToElement()
    {
        var e = new XElement(StreamNs + "error", new XElement(ErrorNs + ConditionName));
        if (Text is not null)
        {
            e.Add(new XElement(ErrorNs + "text", new XAttribute(XNamespace.Xml + "lang", "en"), Text));
        }
        if (ApplicationCondition is not null)
        {
            e.Add(new XElement(ApplicationCondition));
        }
        return e;
    }

    /// <summary>
    /// Reads a received <c>&lt;stream:error&gt;</c>. An unknown or missing condition is read as
    /// undefined-condition (RFC 6120 §4.9.3.21), never as a failure.
    /// </summary>
    public static StreamError Parse(XElement error)
    {
        ArgumentNullException.ThrowIfNull(error);
        var condition = StreamErrorCondition.UndefinedCondition;
        string? text = null;
        XElement? app = null;
        foreach (var child in error.Elements())
        {
            if (child.Name.Namespace == ErrorNs)
            {
                if (child.Name.LocalName == "text")
                {
                    text = child.Value;
                }
                else if (ConditionNames.TryFromWire<StreamErrorCondition>(child.Name.LocalName, out var c))
                {
                    condition = c;
                }
            }
            else
            {
                app ??= child;
            }
        }
        return new StreamError(condition, text, app);
    }

    public override string ToString() => Text is null ? ConditionName : $"{ConditionName}: {Text}";
}
