using System.Xml.Linq;

namespace Aggregators.Xmpp.Client;

/// <summary>
/// What a server's &lt;stream:features/&gt; (RFC 6120 §4.3.2) offers the client, parsed
/// without I/O. Unknown features are ignored (RFC 6120 §4.3.2: the client uses what it knows).
/// </summary>
public sealed record StreamFeatures
{
    private static readonly XNamespace Tls = ClientNamespaces.Tls;
    private static readonly XNamespace Sasl = ClientNamespaces.Sasl;
    private static readonly XNamespace BindNs = ClientNamespaces.Bind;
    private static readonly XNamespace Session = ClientNamespaces.Session;

    /// <summary>RFC 6120 §5.4.1: &lt;starttls/&gt; offered.</summary>
    public bool StartTls { get; init; }

    /// <summary>RFC 6120 §5.4.1: &lt;required/&gt; inside &lt;starttls/&gt;.</summary>
    public bool StartTlsRequired { get; init; }

    /// <summary>RFC 6120 §6.4.1: the mechanisms offered, in the server's order.</summary>
    public IReadOnlyList<string> Mechanisms { get; init; } = [];

    /// <summary>RFC 6120 §7.4: resource binding offered.</summary>
    public bool Bind { get; init; }

    /// <summary>RFC 3921 §3: session offered and not marked &lt;optional/&gt; (draft-cridland-xmpp-session).</summary>
    public bool SessionRequired { get; init; }

    /// <summary>Reads the features element. Throws <see cref="XmppClientException"/> when it is not one.</summary>
    public static StreamFeatures Parse(XElement features)
    {
        ArgumentNullException.ThrowIfNull(features);
        if (features.Name != XName.Get("features", XmppNamespaces.Streams))
        {
            throw new XmppClientException(ClientFailure.ProtocolError,
                $"expected <stream:features/> (RFC 6120 §4.3.2), got <{features.Name.LocalName} xmlns='{features.Name.NamespaceName}'/>");
        }
        var starttls = features.Element(Tls + "starttls");
        var mechanisms = features.Element(Sasl + "mechanisms");
        var session = features.Element(Session + "session");
        return new StreamFeatures
        {
            StartTls = starttls is not null,
            StartTlsRequired = starttls?.Element(Tls + "required") is not null,
            Mechanisms = mechanisms is null
                ? []
                : [.. mechanisms.Elements(Sasl + "mechanism").Select(m => m.Value.Trim()).Where(m => m.Length > 0)],
            Bind = features.Element(BindNs + "bind") is not null,
            SessionRequired = session is not null && session.Element(Session + "optional") is null,
        };
    }
}
