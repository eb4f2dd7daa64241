using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Client;

/// <summary>Why a client session could not be established or a request failed.</summary>
public enum ClientFailure
{
    /// <summary>TCP connection refused, reset or lost during negotiation.</summary>
    ConnectionFailed,

    /// <summary>Connect or negotiation took longer than <see cref="XmppClientOptions.ConnectTimeout"/>.</summary>
    Timeout,

    /// <summary>TLS required but not offered, refused (&lt;failure/&gt;) or the handshake failed.</summary>
    TlsFailed,

    /// <summary>SASL failed (<see cref="XmppClientException.Condition"/> has the RFC 6120 §6.5 condition).</summary>
    AuthenticationFailed,

    /// <summary>No mechanism both sides support (or PLAIN refused without TLS).</summary>
    NoMechanism,

    /// <summary>Resource binding or session establishment refused.</summary>
    BindFailed,

    /// <summary>The server broke RFC 6120 or sent a stream error.</summary>
    ProtocolError,
}

public sealed class XmppClientException : Exception
{
    public XmppClientException(ClientFailure failure, string message, Exception? inner = null, string? condition = null, StreamError? streamError = null)
        : base(message, inner)
    {
        Failure = failure;
        Condition = condition;
        StreamError = streamError;
    }

    public XmppClientException() : this(ClientFailure.ProtocolError, "XMPP client failure") { }

    public XmppClientException(string message) : this(ClientFailure.ProtocolError, message) { }

    public XmppClientException(string message, Exception inner) : this(ClientFailure.ProtocolError, message, inner) { }

    public ClientFailure Failure { get; }

    /// <summary>The SASL failure condition (RFC 6120 §6.5), e.g. <c>not-authorized</c>.</summary>
    public string? Condition { get; }

    public StreamError? StreamError { get; }
}

/// <summary>An iq request was answered with type='error' (RFC 6120 §8.3).</summary>
public sealed class XmppIqErrorException : Exception
{
    public XmppIqErrorException(Iq response)
        : base($"iq error from {response?.From?.ToString() ?? "the server"}: {response?.Error?.ToString() ?? "no <error/> child"}")
    {
        Response = response!;
        Error = response?.Error;
    }

    public XmppIqErrorException() : base("iq error") { Response = null!; }

    public XmppIqErrorException(string message) : base(message) { Response = null!; }

    public XmppIqErrorException(string message, Exception inner) : base(message, inner) { Response = null!; }

    public Iq Response { get; }

    public StanzaError? Error { get; }
}
