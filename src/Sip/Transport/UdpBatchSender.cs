using System.Net;
using System.Runtime.InteropServices;

namespace Aggregators.Sip.Transport;

/// <summary>
/// Linux only: datagrams queued by one thread and sent with one <c>sendmmsg</c> call per
/// <see cref="Capacity"/>. Each datagram is copied into its slot (at most <see cref="SlotSize"/>
/// bytes; the caller sends larger ones itself) with its destination in native sockaddr form. A
/// datagram the kernel refuses is dropped: UDP gives no delivery promise, and the client
/// transaction's timer E retransmits it (RFC 3261 §17.1.2.2).
/// </summary>
internal sealed unsafe class UdpBatchSender : IDisposable
{
    public const int Capacity = 64;
    public const int SlotSize = 2048;
    private const int NameSize = 128; // sizeof(struct sockaddr_storage)

    private readonly UdpBatchReceiver.MmsgHdr* _headers;
    private readonly UdpBatchReceiver.IoVec* _vectors;
    private readonly byte* _data;
    private readonly byte* _names;
    private int _count;
    private bool _disposed;

    public UdpBatchSender()
    {
        _headers = (UdpBatchReceiver.MmsgHdr*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(UdpBatchReceiver.MmsgHdr)));
        _vectors = (UdpBatchReceiver.IoVec*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(UdpBatchReceiver.IoVec)));
        _data = (byte*)NativeMemory.Alloc((nuint)Capacity * SlotSize);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * NameSize));
        for (var i = 0; i < Capacity; i++)
        {
            _vectors[i].Base = _data + (long)i * SlotSize;
            _headers[i].Header.Iov = &_vectors[i];
            _headers[i].Header.IovLen = 1;
            _headers[i].Header.Name = _names + (long)i * NameSize;
        }
    }

    public int Count => _count;

    /// <summary>Queues a copy; false when it does not fit a slot or the batch is full (flush, or send it directly).</summary>
    public bool TryAdd(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        if (_count == Capacity || datagram.Length > SlotSize || destination.Size > NameSize) return false;
        datagram.CopyTo(new Span<byte>(_vectors[_count].Base, SlotSize));
        _vectors[_count].Length = (nuint)datagram.Length;
        destination.Buffer.Span[..destination.Size].CopyTo(new Span<byte>(_headers[_count].Header.Name, NameSize));
        _headers[_count].Header.NameLen = (uint)destination.Size;
        _count++;
        return true;
    }

    /// <summary>Sends what is queued; returns how many datagrams the kernel refused (dropped).</summary>
    public int Flush(SafeHandle socket)
    {
        const int EINTR = 4, EAGAIN = 11;
        var sent = 0;
        var dropped = 0;
        while (sent < _count)
        {
            var n = SendMmsg(socket, _headers + sent, (uint)(_count - sent), 0);
            if (n > 0)
            {
                sent += n;
                continue;
            }
            var error = Marshal.GetLastPInvokeError();
            if (n < 0 && error is EINTR or EAGAIN) continue;
            // The first remaining datagram failed (sendmmsg reports its error only when nothing
            // was sent): drop it and go on with the rest.
            sent++;
            dropped++;
        }
        _count = 0;
        return dropped;
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        NativeMemory.Free(_headers);
        NativeMemory.Free(_vectors);
        NativeMemory.Free(_data);
        NativeMemory.Free(_names);
    }

    [DllImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendMmsg(SafeHandle socket, UdpBatchReceiver.MmsgHdr* headers, uint count, int flags);
}
