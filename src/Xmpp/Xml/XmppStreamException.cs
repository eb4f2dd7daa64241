namespace Aggregators.Xmpp.Xml;

/// <summary>
/// The stream failed. <see cref="Error"/> says whether a stream error is involved and
/// <see cref="SentByPeer"/> which side raised it: a local detection (hostile or broken input)
/// is sent to the peer before the connection closes; a received one ends the stream.
/// Without an <see cref="Error"/> the connection was lost (closed by the peer, reset, timed out).
/// </summary>
public class XmppStreamException : Exception
{
    public XmppStreamException(StreamError error, bool sentByPeer, Exception? inner = null)
        : base((sentByPeer ? "stream error from peer: " : "stream error: ") + error, inner)
    {
        Error = error;
        SentByPeer = sentByPeer;
    }

    public XmppStreamException(string message, Exception? inner = null) : base(message, inner)
    {
    }

    public XmppStreamException() : this("XMPP stream failed")
    {
    }

    public XmppStreamException(string message) : this(message, null)
    {
    }

    /// <summary>The stream error, or null when the connection was simply lost.</summary>
    public StreamError? Error { get; }

    /// <summary>True when the peer sent <see cref="Error"/>; false when we detected it.</summary>
    public bool SentByPeer { get; }

    /// <summary>Raised for input we refuse: the condition is sent to the peer.</summary>
    public static XmppStreamException Local(StreamErrorCondition condition, string text, Exception? inner = null) =>
        new(new StreamError(condition, text), sentByPeer: false, inner);
}
