using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Component;

/// <summary>Why a component connection attempt failed (XEP-0114 §3).</summary>
public enum ComponentFailure
{
    /// <summary>TCP connect failed or the connection was lost.</summary>
    ConnectionFailed,

    /// <summary>Nothing answered within <see cref="ComponentOptions.ConnectTimeout"/>.</summary>
    Timeout,

    /// <summary>The server rejected the handshake: wrong secret (not-authorized).</summary>
    NotAuthorized,

    /// <summary>The server has no component configured for the domain (host-unknown).</summary>
    HostUnknown,

    /// <summary>Another connection is registered for the domain (conflict, "Component already connected").</summary>
    Conflict,

    /// <summary>The server broke the protocol or sent another stream error.</summary>
    ProtocolError,
}

/// <summary>A component connection could not be established; <see cref="Failure"/> says why.</summary>
public sealed class ComponentException : Exception
{
    public ComponentException(ComponentFailure failure, string message, StreamError? streamError = null, Exception? inner = null)
        : base(message, inner)
    {
        Failure = failure;
        StreamError = streamError;
    }

    public ComponentException() : this(ComponentFailure.ConnectionFailed, "component connection failed") { }

    public ComponentException(string message) : this(ComponentFailure.ConnectionFailed, message) { }

    public ComponentException(string message, Exception inner) : this(ComponentFailure.ConnectionFailed, message, null, inner) { }

    public ComponentFailure Failure { get; }

    /// <summary>The server's stream error, when it sent one.</summary>
    public StreamError? StreamError { get; }

    /// <summary>Wrong secret or unknown domain: retrying will not help until the configuration changes.</summary>
    public bool IsConfigurationError => Failure is ComponentFailure.NotAuthorized or ComponentFailure.HostUnknown;
}

/// <summary>A stanza was not sent because no connection is up.</summary>
public sealed class ComponentNotConnectedException : InvalidOperationException
{
    public ComponentNotConnectedException() : base("the XMPP component is not connected") { }

    public ComponentNotConnectedException(string message) : base(message) { }

    public ComponentNotConnectedException(string message, Exception inner) : base(message, inner) { }
}
