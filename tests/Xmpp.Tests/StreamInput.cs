using System.Text;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Tests;

/// <summary>Fake peer input for the stream reader: bytes delivered in chunks of a chosen size, then EOF (or a stall).</summary>
internal sealed class ChunkedStream : Stream
{
    private readonly byte[] _data;
    private readonly int _chunk;
    private readonly bool _stallAtEnd;
    private int _position;

    public ChunkedStream(byte[] data, int chunk = int.MaxValue, bool stallAtEnd = false)
    {
        _data = data;
        _chunk = chunk;
        _stallAtEnd = stallAtEnd;
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_position >= _data.Length)
        {
            if (_stallAtEnd)
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            return 0;
        }
        var n = Math.Min(Math.Min(_chunk, buffer.Length), _data.Length - _position);
        _data.AsSpan(_position, n).CopyTo(buffer.Span);
        _position += n;
        await Task.Yield();
        return n;
    }

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => _data.Length;
    public override long Position { get => _position; set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}

internal static class StreamInput
{
    public const string ProsodyHeader =
        "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' " +
        "id='2f6c8a1e-6d5e-4f0b-9d34-0c2b8e9a1f11' from='events.example.com' xmlns='jabber:component:accept'>";

    public const string EjabberdHeader =
        "<?xml version='1.0'?><stream:stream id='17638217934815346689' from='events.example.com' " +
        "xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>";

    public static XmlStreamReader Reader(string text, int chunk = int.MaxValue, XmlStreamLimits? limits = null) =>
        Reader(Encoding.UTF8.GetBytes(text), chunk, limits);

    public static XmlStreamReader Reader(byte[] bytes, int chunk = int.MaxValue, XmlStreamLimits? limits = null) =>
        new(new ChunkedStream(bytes, chunk), XmppNamespaces.ComponentAccept, limits);

    /// <summary>Reads header and all events until the stream ends or fails; returns the events or the failure.</summary>
    public static async Task<(List<XmlStreamEvent> Events, XmppStreamException? Failure)> ReadAllAsync(XmlStreamReader reader)
    {
        var events = new List<XmlStreamEvent>();
        try
        {
            await reader.ReadHeaderAsync(CancellationToken.None);
            while (true)
            {
                var e = await reader.ReadAsync(CancellationToken.None);
                events.Add(e);
                if (e.Kind != XmlStreamEventKind.Element)
                {
                    return (events, null);
                }
            }
        }
        catch (XmppStreamException ex)
        {
            return (events, ex);
        }
    }
}
