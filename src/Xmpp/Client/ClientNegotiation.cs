using System.Net.Security;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Client;

/// <summary>
/// Stream negotiation of a client (RFC 6120 §4.3): TCP, stream header, STARTTLS (§5), SASL (§6)
/// and a stream restart after each, resource binding (§7), then session (RFC 3921 §3) when the
/// server still requires it. Sequential request/response, so bytes are written straight to the
/// stream; the session's queued writer starts only afterwards.
/// </summary>
internal sealed class ClientNegotiation
{
    private static readonly XNamespace TlsNs = ClientNamespaces.Tls;
    private static readonly XNamespace SaslNs = ClientNamespaces.Sasl;
    private static readonly XNamespace ClientNs = ClientNamespaces.Client;

    private readonly XmppClientOptions _options;
    private readonly TimeProvider _time;
    private readonly Jid _jid;
    private readonly string _host;
    private Stream _stream;
    private XmlStreamReader? _reader;

    private ClientNegotiation(XmppClientOptions options, TimeProvider time, Jid jid, Stream stream)
    {
        _options = options;
        _time = time;
        _jid = jid;
        _host = options.Host ?? jid.Domain;
        _stream = stream;
    }

    public static async Task<Negotiated> RunAsync(XmppClientOptions options, TimeProvider time, CancellationToken cancellationToken)
    {
        var jid = Jid.Parse(options.Jid);
        if (jid.Local is null || !jid.IsBare)
        {
            throw new ArgumentException($"'{options.Jid}' is not a bare account JID (local@domain)", nameof(options));
        }
        var host = options.Host ?? jid.Domain;
        using var timeout = new CancellationTokenSource(options.ConnectTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, cancellationToken);
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        ClientNegotiation? negotiation = null;
        try
        {
            try
            {
                await socket.ConnectAsync(host, options.Port, linked.Token).ConfigureAwait(false);
            }
            catch (SocketException ex)
            {
                throw new XmppClientException(ClientFailure.ConnectionFailed, $"cannot connect to {host}:{options.Port}: {ex.SocketErrorCode}", ex);
            }
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            negotiation = new ClientNegotiation(options, time, jid, new NetworkStream(socket, ownsSocket: false));
            // The XML parser cannot be cancelled: a timeout closes the socket, which ends the read.
            using var abort = linked.Token.Register(() => socket.Dispose());
            var (bound, encrypted, mechanism) = await negotiation.NegotiateAsync(linked.Token).ConfigureAwait(false);
            return new Negotiated(socket, negotiation._stream, negotiation._reader!, bound, encrypted, mechanism);
        }
        catch (Exception ex)
        {
            negotiation?._reader?.Dispose();
            socket.Dispose();
            if (cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("XMPP connection cancelled", ex, cancellationToken);
            }
            if (timeout.IsCancellationRequested)
            {
                throw new XmppClientException(ClientFailure.Timeout,
                    $"no session with {host}:{options.Port} within {options.ConnectTimeout.TotalSeconds:0.#} s", ex);
            }
            throw ex switch
            {
                XmppClientException => ex,
                XmppStreamException { Error: { } error, SentByPeer: true } => new XmppClientException(ClientFailure.ProtocolError,
                    "stream error from the server: " + error, ex, streamError: error),
                XmppStreamException { Error: { } error } => new XmppClientException(ClientFailure.ProtocolError,
                    "refused the server's stream: " + error, ex, streamError: error),
                IOException or XmppStreamException or ObjectDisposedException or SocketException =>
                    new XmppClientException(ClientFailure.ConnectionFailed, "connection failed during negotiation: " + ex.Message, ex),
                _ => ex,
            };
        }
    }

    private async Task<(Jid Bound, bool Encrypted, string Mechanism)> NegotiateAsync(CancellationToken cancellationToken)
    {
        var encrypted = false;
        string? mechanism = null;
        while (true)
        {
            var features = await OpenStreamAsync(cancellationToken).ConfigureAwait(false);
            if (!encrypted)
            {
                if (features.StartTls && _options.Tls != ClientTlsMode.Never)
                {
                    await StartTlsAsync(cancellationToken).ConfigureAwait(false);
                    encrypted = true;
                    continue; // RFC 6120 §5.4.3.3: restart the stream over TLS
                }
                if (_options.Tls == ClientTlsMode.Required)
                {
                    throw new XmppClientException(ClientFailure.TlsFailed, $"TLS is required but {_host} does not offer STARTTLS");
                }
                if (features.StartTlsRequired)
                {
                    throw new XmppClientException(ClientFailure.TlsFailed, $"{_host} requires STARTTLS but TLS is turned off (Tls = Never)");
                }
            }
            if (mechanism is null)
            {
                mechanism = await AuthenticateAsync(features, encrypted, cancellationToken).ConfigureAwait(false);
                continue; // RFC 6120 §6.4.6: restart the stream after SASL success
            }
            if (!features.Bind)
            {
                throw new XmppClientException(ClientFailure.BindFailed, "the server offers no resource binding after authentication (RFC 6120 §7.4)");
            }
            var bound = await BindAsync(cancellationToken).ConfigureAwait(false);
            if (features.SessionRequired)
            {
                await RequestAsync(new XElement(XName.Get("session", ClientNamespaces.Session)), "session", cancellationToken).ConfigureAwait(false);
            }
            return (bound, encrypted, mechanism);
        }
    }

    /// <summary>Sends our header, reads the server's and its features (RFC 6120 §4.2, §4.3.2).</summary>
    private async Task<StreamFeatures> OpenStreamAsync(CancellationToken cancellationToken)
    {
        _reader?.Dispose();
        _reader = new XmlStreamReader(_stream, ClientNamespaces.Client, _options.Limits, _time);
        // RFC 6120 §4.7.1: 'from' only once the stream is encrypted or authenticated would leak less; sent always, as it is our own JID.
        var header = "<?xml version='1.0'?><stream:stream xmlns='" + ClientNamespaces.Client + "' xmlns:stream='" + XmppNamespaces.Streams
            + "' to='" + StanzaSerializer.EscapeAttribute(_jid.Domain) + "' from='" + StanzaSerializer.EscapeAttribute(_jid.ToString())
            + "' version='1.0' xml:lang='en'>";
        await WriteRawAsync(Encoding.UTF8.GetBytes(header), cancellationToken).ConfigureAwait(false);
        var received = await _reader.ReadHeaderAsync(cancellationToken).ConfigureAwait(false);
        // RFC 6120 §4.7.5: a server without version='1.0' speaks pre-RFC XMPP without features.
        if (received.Version is null || !received.Version.StartsWith("1.", StringComparison.Ordinal))
        {
            var next = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            if (next.Kind == XmlStreamEventKind.StreamError)
            {
                throw new XmppStreamException(next.Error!, sentByPeer: true);
            }
            throw new XmppClientException(ClientFailure.ProtocolError, $"the server's stream has version '{received.Version}', not 1.x (RFC 6120 §4.7.5)");
        }
        return StreamFeatures.Parse(await ReadElementAsync("<stream:features/>", cancellationToken).ConfigureAwait(false));
    }

    private async Task StartTlsAsync(CancellationToken cancellationToken)
    {
        await WriteAsync(new XElement(TlsNs + "starttls"), cancellationToken).ConfigureAwait(false);
        var answer = await ReadElementAsync("<proceed/>", cancellationToken).ConfigureAwait(false);
        if (answer.Name == TlsNs + "failure")
        {
            // RFC 6120 §5.4.2.2: the server closes the stream after <failure/>.
            throw new XmppClientException(ClientFailure.TlsFailed, $"{_host} refused STARTTLS (<failure/>)");
        }
        if (answer.Name != TlsNs + "proceed")
        {
            throw new XmppClientException(ClientFailure.ProtocolError, $"expected <proceed/> after <starttls/>, got <{answer.Name.LocalName}/>");
        }
        var tls = new SslStream(_stream, leaveInnerStreamOpen: false, _options.CertificateValidation);
        try
        {
            await tls.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = _jid.Domain }, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is System.Security.Authentication.AuthenticationException or IOException)
        {
            await tls.DisposeAsync().ConfigureAwait(false);
            throw new XmppClientException(ClientFailure.TlsFailed, $"TLS handshake with {_host} failed: {ex.Message}", ex);
        }
        _stream = tls;
    }

    private async Task<string> AuthenticateAsync(StreamFeatures features, bool encrypted, CancellationToken cancellationToken)
    {
        var local = _jid.Local!;
        SaslMechanism? mechanism = null;
        foreach (var name in _options.Mechanisms)
        {
            if (!features.Mechanisms.Contains(name, StringComparer.Ordinal))
            {
                continue;
            }
            if (name == SaslPlain.MechanismName && !encrypted && !_options.AllowPlainWithoutTls)
            {
                continue; // RFC 6120 §13.8: no clear-text password over an unencrypted stream
            }
            mechanism = name switch
            {
                ScramSha1.MechanismName => new ScramSha1(local, _options.Password),
                SaslPlain.MechanismName => new SaslPlain(local, _options.Password),
                _ => null,
            };
            if (mechanism is not null)
            {
                break;
            }
        }
        if (mechanism is null)
        {
            throw new XmppClientException(ClientFailure.NoMechanism,
                $"no usable SASL mechanism: the server offers [{string.Join(", ", features.Mechanisms)}], we accept [{string.Join(", ", _options.Mechanisms)}]"
                + (encrypted || _options.AllowPlainWithoutTls ? "" : " (PLAIN only over TLS)"));
        }
        // RFC 6120 §6.4.2: the initial response, base64; "=" stands for an empty one.
        var initial = mechanism.InitialResponse();
        await WriteAsync(new XElement(SaslNs + "auth", new XAttribute("mechanism", mechanism.Name),
            initial.Length == 0 ? "=" : Convert.ToBase64String(initial)), cancellationToken).ConfigureAwait(false);
        while (true)
        {
            var answer = await ReadElementAsync("a SASL answer", cancellationToken).ConfigureAwait(false);
            if (answer.Name == SaslNs + "challenge")
            {
                byte[] response;
                try
                {
                    response = mechanism.Respond(DecodeSasl(answer));
                }
                catch (SaslException ex)
                {
                    // RFC 6120 §6.4.4: abort the exchange.
                    await WriteAsync(new XElement(SaslNs + "abort"), cancellationToken).ConfigureAwait(false);
                    throw new XmppClientException(ClientFailure.AuthenticationFailed, ex.Message, ex);
                }
                await WriteAsync(new XElement(SaslNs + "response", response.Length == 0 ? "" : Convert.ToBase64String(response)), cancellationToken)
                    .ConfigureAwait(false);
                continue;
            }
            if (answer.Name == SaslNs + "success")
            {
                try
                {
                    mechanism.Complete(DecodeSasl(answer));
                }
                catch (SaslException ex)
                {
                    throw new XmppClientException(ClientFailure.AuthenticationFailed, ex.Message, ex);
                }
                return mechanism.Name;
            }
            if (answer.Name == SaslNs + "failure")
            {
                // RFC 6120 §6.5: the condition, and maybe a text.
                var condition = answer.Elements().FirstOrDefault(e => e.Name.Namespace == SaslNs && e.Name.LocalName != "text")?.Name.LocalName ?? "unknown";
                var text = answer.Element(SaslNs + "text")?.Value;
                throw new XmppClientException(ClientFailure.AuthenticationFailed,
                    $"{_jid} could not authenticate with {mechanism.Name}: {condition}{(text is null ? "" : " (" + text + ")")}", null, condition);
            }
            throw new XmppClientException(ClientFailure.ProtocolError, $"unexpected <{answer.Name.LocalName}/> during SASL");
        }
    }

    private static byte[] DecodeSasl(XElement element)
    {
        var text = element.Value.Trim();
        if (text.Length == 0 || text == "=")
        {
            return [];
        }
        try
        {
            return Convert.FromBase64String(text);
        }
        catch (FormatException ex)
        {
            // RFC 6120 §6.4.2: incorrect-encoding.
            throw new XmppClientException(ClientFailure.ProtocolError, $"<{element.Name.LocalName}/> data is not base64", ex);
        }
    }

    private async Task<Jid> BindAsync(CancellationToken cancellationToken)
    {
        var bind = new XElement(XName.Get("bind", ClientNamespaces.Bind));
        if (_options.Resource is { } resource)
        {
            bind.Add(new XElement(XName.Get("resource", ClientNamespaces.Bind), resource));
        }
        var result = await RequestAsync(bind, "bind", cancellationToken).ConfigureAwait(false);
        var jidText = result.Payload?.Element(XName.Get("jid", ClientNamespaces.Bind))?.Value;
        if (!Jid.TryParse(jidText, out var bound) || bound.IsBare || bound.Bare != _jid)
        {
            throw new XmppClientException(ClientFailure.BindFailed, $"the server bound '{jidText}', not a full JID of {_jid} (RFC 6120 §7.6.1)");
        }
        return bound;
    }

    /// <summary>One iq set during negotiation; nothing else may arrive meanwhile (RFC 6120 §7.1).</summary>
    private async Task<Iq> RequestAsync(XElement payload, string what, CancellationToken cancellationToken)
    {
        var id = what + "1";
        await WriteAsync(new Iq(IqType.Set, id, null, null, payload, ClientNs).Element, cancellationToken).ConfigureAwait(false);
        var element = await ReadElementAsync($"the {what} result", cancellationToken).ConfigureAwait(false);
        Iq answer;
        try
        {
            answer = Stanza.FromElement(element) as Iq ?? throw new StanzaFormatException(element, "not an iq");
        }
        catch (StanzaFormatException ex)
        {
            throw new XmppClientException(ClientFailure.ProtocolError, $"expected the {what} result, got {element.Name.LocalName}: {ex.Message}", ex);
        }
        if (answer.Id != id || answer.IsRequest)
        {
            throw new XmppClientException(ClientFailure.ProtocolError, $"expected the response to iq '{id}' ({what}), got iq '{answer.Id}' type {answer.TypeName}");
        }
        if (answer.Type == IqType.Error)
        {
            throw new XmppClientException(ClientFailure.BindFailed, $"{what} refused: {answer.Error?.ToString() ?? "no <error/>"}", null, answer.Error?.ConditionName);
        }
        return answer;
    }

    private async Task<XElement> ReadElementAsync(string expected, CancellationToken cancellationToken)
    {
        var e = await _reader!.ReadAsync(cancellationToken).ConfigureAwait(false);
        return e.Kind switch
        {
            XmlStreamEventKind.Element => e.Element!,
            XmlStreamEventKind.StreamError => throw new XmppStreamException(e.Error!, sentByPeer: true),
            _ => throw new XmppClientException(ClientFailure.ProtocolError, $"the server closed the stream while we waited for {expected}"),
        };
    }

    private Task WriteAsync(XElement element, CancellationToken cancellationToken) =>
        WriteRawAsync(StanzaSerializer.ToBytes(element, ClientNamespaces.Client), cancellationToken);

    private async Task WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        await _stream.FlushAsync(cancellationToken).ConfigureAwait(false);
    }
}
