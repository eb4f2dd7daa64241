using System.Buffers;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Write side of an XMPP stream. Stanzas are serialised on the caller's thread (so a stanza
/// that cannot be written fails there) and queued in a bounded channel that one writer loop
/// drains to the socket: what is queued is copied into one batch buffer and written with one
/// socket write per batch (up to <see cref="BatchBytes"/>), flushing when the queue runs empty.
/// Reads never wait for writes, and a slow peer fills the queue: <see cref="WriteAsync"/> then
/// waits (back-pressure) and <see cref="TryWrite"/> returns false.
/// </summary>
public sealed class XmlStreamWriter : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly string _contentNamespace;
    private readonly TimeProvider _time;
    private readonly TimeSpan _writeTimeout;
    /// <summary>Most bytes the writer loop gathers into one socket write.</summary>
    public const int BatchBytes = 64 * 1024;

    private readonly Channel<Chunk> _queue;
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private long _lastWrite;

    /// <param name="capacity">Queued stanzas before writers wait.</param>
    /// <param name="writeTimeout">A single socket write taking longer than this fails the stream (a dead or stuck peer).</param>
    public XmlStreamWriter(Stream stream, string contentNamespace, int capacity = 1024, TimeSpan? writeTimeout = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(stream);
        _stream = stream;
        _contentNamespace = contentNamespace;
        _time = time ?? TimeProvider.System;
        _writeTimeout = writeTimeout ?? TimeSpan.FromSeconds(30);
        _queue = Channel.CreateBounded<Chunk>(new BoundedChannelOptions(capacity)
        {
            SingleReader = true,
            FullMode = BoundedChannelFullMode.Wait,
        });
        _lastWrite = _time.GetTimestamp();
        _loop = Task.Run(WriteLoopAsync);
    }

    /// <summary>Completes when the writer loop ends; faults with the write error if the socket failed.</summary>
    public Task Completion => _loop;

    /// <summary><see cref="TimeProvider.GetTimestamp"/> of the last completed socket write.</summary>
    public long LastWrite => Interlocked.Read(ref _lastWrite);

    /// <summary>Queues the stream header (RFC 6120 §4.7) a component sends (XEP-0114 §3).</summary>
    public ValueTask WriteHeaderAsync(string to, CancellationToken cancellationToken)
    {
        var header = "<?xml version='1.0'?><stream:stream xmlns:stream='" + XmppNamespaces.Streams
            + "' xmlns='" + StanzaSerializer.EscapeAttribute(_contentNamespace)
            + "' to='" + StanzaSerializer.EscapeAttribute(to) + "'>";
        return WriteRawAsync(Encoding.UTF8.GetBytes(header), cancellationToken);
    }

    /// <summary>Queues a top-level element, waiting while the queue is full.</summary>
    public ValueTask WriteAsync(XElement element, CancellationToken cancellationToken) =>
        WriteRawAsync(StanzaSerializer.ToBytes(element, _contentNamespace), cancellationToken);

    /// <summary>Queues a top-level element unless the queue is full or the writer is closed.</summary>
    public bool TryWrite(XElement element) => _queue.Writer.TryWrite(Chunk.Of(StanzaSerializer.ToBytes(element, _contentNamespace)));

    /// <summary>
    /// Queues a top-level element the caller serialised itself (UTF-8, in the stream's content
    /// namespace, unprefixed, well-formed: nothing is checked) unless the queue is full or the
    /// writer is closed. The bytes are copied into a pooled buffer: the span may be reused at once.
    /// </summary>
    public bool TryWriteSerialized(ReadOnlySpan<byte> utf8)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(utf8.Length);
        utf8.CopyTo(buffer);
        if (_queue.Writer.TryWrite(new Chunk(buffer, utf8.Length, Pooled: true)))
        {
            return true;
        }
        ArrayPool<byte>.Shared.Return(buffer);
        return false;
    }

    /// <summary>Queues a whitespace keepalive (RFC 6120 §4.6.1) unless the queue is full.</summary>
    public bool TryWriteWhitespacePing() => _queue.Writer.TryWrite(Chunk.Of(" "u8.ToArray()));

    /// <summary>
    /// Queues &lt;stream:error&gt; (if any) and &lt;/stream:stream&gt;, then waits, at most
    /// <paramref name="timeout"/>, for everything queued to be written. Further writes fail.
    /// </summary>
    public async Task CloseAsync(StreamError? error, TimeSpan timeout)
    {
        var tail = new System.Buffers.ArrayBufferWriter<byte>();
        if (error is not null)
        {
            StanzaSerializer.Write(error.ToElement(), _contentNamespace, tail);
        }
        tail.Write("</stream:stream>"u8);
        _queue.Writer.TryWrite(Chunk.Of(tail.WrittenSpan.ToArray()));
        _queue.Writer.TryComplete();
        using var delayCancel = new CancellationTokenSource();
        var finished = await Task.WhenAny(_loop, Task.Delay(timeout, _time, delayCancel.Token)).ConfigureAwait(false);
        await delayCancel.CancelAsync().ConfigureAwait(false);
        if (finished != _loop)
        {
            // The peer is not reading: give up on a polite close.
            await _stop.CancelAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask WriteRawAsync(byte[] bytes, CancellationToken cancellationToken)
    {
        try
        {
            await _queue.Writer.WriteAsync(Chunk.Of(bytes), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException ex)
        {
            throw new XmppStreamException("the stream is closed", ex);
        }
    }

    private async Task WriteLoopAsync()
    {
        using var timeout = new CancellationTokenSource();
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token, _stop.Token);
        var reader = _queue.Reader;
        var batch = new byte[BatchBytes];
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                // Gather what is queued into one socket write (a burst of notifications is one
                // send, not one per stanza); a chunk larger than the batch goes out on its own.
                var length = 0;
                while (reader.TryRead(out var chunk))
                {
                    if (length + chunk.Length > batch.Length && length > 0)
                    {
                        await SendAsync(batch.AsMemory(0, length), timeout, linked.Token).ConfigureAwait(false);
                        length = 0;
                    }
                    if (chunk.Length > batch.Length)
                    {
                        await SendAsync(chunk.Buffer.AsMemory(0, chunk.Length), timeout, linked.Token).ConfigureAwait(false);
                    }
                    else
                    {
                        chunk.Buffer.AsSpan(0, chunk.Length).CopyTo(batch.AsSpan(length));
                        length += chunk.Length;
                    }
                    chunk.Release();
                }
                if (length > 0)
                {
                    await SendAsync(batch.AsMemory(0, length), timeout, linked.Token).ConfigureAwait(false);
                }
                timeout.CancelAfter(_writeTimeout);
                await _stream.FlushAsync(linked.Token).ConfigureAwait(false);
                timeout.CancelAfter(Timeout.InfiniteTimeSpan);
            }
        }
        catch (OperationCanceledException ex) when (timeout.IsCancellationRequested)
        {
            _queue.Writer.TryComplete();
            throw new XmppStreamException($"a write did not complete within {_writeTimeout.TotalSeconds:0.#} s: the peer is not reading", ex);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or System.Net.Sockets.SocketException)
        {
            _queue.Writer.TryComplete();
            throw new XmppStreamException("connection lost while writing: " + ex.Message, ex);
        }
    }

    private async ValueTask SendAsync(ReadOnlyMemory<byte> bytes, CancellationTokenSource timeout, CancellationToken cancellationToken)
    {
        timeout.CancelAfter(_writeTimeout);
        await _stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
        timeout.CancelAfter(Timeout.InfiniteTimeSpan);
        Interlocked.Exchange(ref _lastWrite, _time.GetTimestamp());
    }

    /// <summary>One queued piece of the stream; <paramref name="Pooled"/> buffers go back to the shared pool once copied.</summary>
    private readonly record struct Chunk(byte[] Buffer, int Length, bool Pooled)
    {
        public static Chunk Of(byte[] bytes) => new(bytes, bytes.Length, Pooled: false);

        public void Release()
        {
            if (Pooled)
            {
                ArrayPool<byte>.Shared.Return(Buffer);
            }
        }
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        _queue.Writer.TryComplete();
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or XmppStreamException)
        {
            // Already reported through Completion.
        }
        _stop.Dispose();
    }
}
