namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Read side of the connection as the XML parser sees it: every chunk read from the socket is
/// first run through the <see cref="StanzaFramer"/> (limits, UTF-8, restricted XML), and the
/// time of the last received byte is kept for dead-connection detection.
/// </summary>
internal sealed class FramedReadStream : Stream
{
    private readonly Stream _inner;
    private readonly TimeProvider _time;

    public FramedReadStream(Stream inner, StanzaFramer framer, TimeProvider time)
    {
        _inner = inner;
        Framer = framer;
        _time = time;
        LastReceived = time.GetTimestamp();
    }

    public StanzaFramer Framer { get; }

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last chunk received.</summary>
    public long LastReceived { get; private set; }

    /// <summary>True once the peer closed its side.</summary>
    public bool EndOfStream { get; private set; }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        // One byte short of the caller's buffer: StreamReader keeps reading while a read fills
        // its whole buffer, which would wait for more bytes than the peer has sent.
        if (buffer.Length > 1)
        {
            buffer = buffer[..^1];
        }
        var n = await _inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
        if (n == 0)
        {
            EndOfStream = true;
            return 0;
        }
        LastReceived = _time.GetTimestamp();
        Framer.Scan(buffer.Span[..n]);
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) =>
        throw new NotSupportedException("the XMPP stream is read asynchronously only");

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
