using System.Buffers;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Write side of an XMPP stream. Stanzas are serialised on the caller's thread (so a stanza
/// that cannot be written fails there) and queued in a bounded channel that one writer loop
/// drains to the socket, flushing when the queue runs empty. Reads never wait for writes, and
/// a slow peer fills the queue: <see cref="WriteAsync"/> then waits (back-pressure) and
/// <see cref="TryWrite"/> returns false.
/// </summary>
public sealed class XmlStreamWriter : IAsyncDisposable
{
    private readonly Stream _stream;
    private readonly string _contentNamespace;
    private readonly TimeProvider _time;
    private readonly TimeSpan _writeTimeout;
    private readonly Channel<byte[]> _queue;
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
        _queue = Channel.CreateBounded<byte[]>(new BoundedChannelOptions(capacity)
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
    public bool TryWrite(XElement element) => _queue.Writer.TryWrite(StanzaSerializer.ToBytes(element, _contentNamespace));

    /// <summary>Queues a whitespace keepalive (RFC 6120 §4.6.1) unless the queue is full.</summary>
    public bool TryWriteWhitespacePing() => _queue.Writer.TryWrite(" "u8.ToArray());

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
        _queue.Writer.TryWrite(tail.WrittenSpan.ToArray());
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
            await _queue.Writer.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
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
        try
        {
            while (await reader.WaitToReadAsync(_stop.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out var bytes))
                {
                    timeout.CancelAfter(_writeTimeout);
                    await _stream.WriteAsync(bytes, linked.Token).ConfigureAwait(false);
                    if (reader.Count == 0)
                    {
                        await _stream.FlushAsync(linked.Token).ConfigureAwait(false);
                    }
                    timeout.CancelAfter(Timeout.InfiniteTimeSpan);
                    Interlocked.Exchange(ref _lastWrite, _time.GetTimestamp());
                }
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
