using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Component;

/// <summary>Where and as what an external component (XEP-0114) connects.</summary>
public sealed record ComponentOptions
{
    /// <summary>The server's host name or address.</summary>
    public required string Host { get; init; }

    /// <summary>The server's component port (Prosody's component_ports, ejabberd's ejabberd_service).</summary>
    public required int Port { get; init; }

    /// <summary>The component's domain (to= of the stream header), e.g. events.example.com.</summary>
    public required string Domain { get; init; }

    /// <summary>The shared secret configured on the server for <see cref="Domain"/>.</summary>
    public required string Secret { get; init; }

    /// <summary>Limit for TCP connect plus stream header plus handshake.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>A whitespace keepalive is sent after this long without writing (RFC 6120 §4.6.1).</summary>
    public TimeSpan KeepaliveInterval { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// The connection is declared dead when nothing at all (stanza or keepalive) has been received
    /// for this long; <see cref="Timeout.InfiniteTimeSpan"/> disables the check. TCP keepalive
    /// also runs on the socket.
    /// </summary>
    public TimeSpan ReceiveTimeout { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>A single socket write blocked longer than this fails the connection.</summary>
    public TimeSpan WriteTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Outgoing stanzas queued before senders wait (back-pressure).</summary>
    public int SendQueueCapacity { get; init; } = 4096;

    /// <summary>Limits on what the server may send.</summary>
    public XmlStreamLimits Limits { get; init; } = XmlStreamLimits.Default;

    /// <summary>First reconnect delay; doubles per failed attempt, with jitter.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Upper bound of the reconnect delay.</summary>
    public TimeSpan MaxReconnectDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// Whether a rejected secret (not-authorized) or unknown domain (host-unknown) is retried
    /// like a network failure. Off by default: they are configuration errors, and the component
    /// stops with <see cref="ComponentState.Stopped"/> saying so.
    /// </summary>
    public bool RetryConfigurationErrors { get; init; }
}
