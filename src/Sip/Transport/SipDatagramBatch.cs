using System.Net;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Aggregators.Sip.Transport;

/// <summary>
/// Datagrams one sender queues and sends together: on a <see cref="SipUdpTransport"/> on 64-bit
/// Linux with one <c>sendmmsg</c> per <see cref="Capacity"/> datagrams (one system call instead of
/// one per datagram; a fan-out of one event to many dialogs is the case), elsewhere one
/// <see cref="ISipDatagramTransport.Send"/> each at <see cref="Flush"/>. A queued datagram is a
/// copy: the caller's buffer is free again at once. Not thread-safe: one owner (e.g. the PNA's
/// dispatcher) queues and flushes. The buffers are pinned managed arrays (the pinned object heap),
/// so there is nothing to dispose and nothing to use after free.
/// <para>
/// A datagram the kernel refuses is dropped and counted, not reported to its sender: UDP makes no
/// delivery promise, and a client transaction's timer E retransmits it (RFC 3261 §17.1.2.2); a
/// retransmission that fails too ends the transaction with a transport error as usual.
/// </para>
/// </summary>
public sealed unsafe class SipDatagramBatch
{
    /// <summary>Datagrams held at most; the next one flushes the batch first.</summary>
    public const int Capacity = 64;

    /// <summary>Largest datagram held; a larger one flushes the batch and is sent on its own.</summary>
    public const int SlotSize = 2048;

    private const int NameSize = 128; // sizeof(struct sockaddr_storage)

    private readonly SipUdpTransport? _native;
    private readonly UdpBatchReceiver.MmsgHdr[] _headerArray = GC.AllocateArray<UdpBatchReceiver.MmsgHdr>(Capacity, pinned: true);
    private readonly UdpBatchReceiver.IoVec[] _vectorArray = GC.AllocateArray<UdpBatchReceiver.IoVec>(Capacity, pinned: true);
    private readonly byte[] _dataArray = GC.AllocateUninitializedArray<byte>(Capacity * SlotSize, pinned: true);
    private readonly byte[] _nameArray = GC.AllocateArray<byte>(Capacity * NameSize, pinned: true);
    private readonly UdpBatchReceiver.MmsgHdr* _headers;
    private readonly UdpBatchReceiver.IoVec* _vectors;
    private readonly SocketAddress?[] _destinations = new SocketAddress?[Capacity];
    private int _count;
    private long _dropped;

    public SipDatagramBatch(ISipDatagramTransport transport)
    {
        ArgumentNullException.ThrowIfNull(transport);
        Transport = transport;
        _native = transport is SipUdpTransport udp && IsNativeSupported ? udp : null;
        // Pinned arrays never move: pointers into them stay valid for the batch's lifetime.
        _headers = (UdpBatchReceiver.MmsgHdr*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_headerArray));
        _vectors = (UdpBatchReceiver.IoVec*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_vectorArray));
        var data = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_dataArray));
        var names = (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetArrayDataReference(_nameArray));
        for (var i = 0; i < Capacity; i++)
        {
            _vectors[i].Base = data + (long)i * SlotSize;
            _headers[i].Header.Iov = &_vectors[i];
            _headers[i].Header.IovLen = 1;
            _headers[i].Header.Name = names + (long)i * NameSize;
        }
    }

    /// <summary>Where <c>sendmmsg</c> and the 64-bit struct layout below are known to match.</summary>
    public static bool IsNativeSupported => OperatingSystem.IsLinux() && IntPtr.Size == 8;

    /// <summary>The transport the datagrams leave by.</summary>
    public ISipDatagramTransport Transport { get; }

    /// <summary>Datagrams queued and not yet flushed.</summary>
    public int Count => _count;

    /// <summary>Datagrams the kernel refused since creation (dropped; see the class remarks).</summary>
    public long Dropped => _dropped;

    /// <summary>
    /// Queues a copy of <paramref name="datagram"/> for <paramref name="destination"/> (flushing
    /// first when full). A datagram too large to hold is sent at once, which may throw as
    /// <see cref="ISipDatagramTransport.Send"/> does.
    /// </summary>
    public void Send(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        ArgumentNullException.ThrowIfNull(destination);
        if (_count == Capacity) Flush();
        if (datagram.Length > SlotSize || destination.Size > NameSize)
        {
            Flush();
            SendNow(datagram, destination);
            return;
        }
        datagram.CopyTo(new Span<byte>(_vectors[_count].Base, SlotSize));
        _vectors[_count].Length = (nuint)datagram.Length;
        destination.Buffer.Span[..destination.Size].CopyTo(new Span<byte>(_headers[_count].Header.Name, NameSize));
        _headers[_count].Header.NameLen = (uint)destination.Size;
        _destinations[_count] = destination;
        _count++;
    }

    /// <summary>Sends what is queued; returns how many datagrams were refused (dropped).</summary>
    public int Flush()
    {
        if (_count == 0) return 0;
        var dropped = _native is { } udp ? FlushNative(udp) : FlushEach();
        Array.Clear(_destinations, 0, _count);
        _count = 0;
        _dropped += dropped;
        return dropped;
    }

    private int FlushEach()
    {
        var dropped = 0;
        for (var i = 0; i < _count; i++)
        {
            try
            {
                var datagram = new ReadOnlySpan<byte>(_vectors[i].Base, (int)_vectors[i].Length);
                SendNow(datagram, _destinations[i]!);
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                dropped++;
            }
        }
        return dropped;
    }

    /// <summary>One datagram out at once; on a UDP transport never through <see cref="SipUdpTransport.Send"/>, which may queue into a batch itself.</summary>
    private void SendNow(ReadOnlySpan<byte> datagram, SocketAddress destination)
    {
        if (Transport is SipUdpTransport udp) udp.SendNow(datagram, destination);
        else Transport.Send(datagram, destination);
    }

    private int FlushNative(SipUdpTransport udp)
    {
        const int EINTR = 4, EAGAIN = 11;
        var sent = 0;
        var dropped = 0;
        SafeHandle socket;
        try
        {
            socket = udp.SocketHandle;
        }
        catch (ObjectDisposedException)
        {
            return _count; // closed while stopping: the datagrams go nowhere
        }
        while (sent < _count)
        {
            int n;
            try
            {
                n = SendMmsg(socket, _headers + sent, (uint)(_count - sent), 0);
            }
            catch (ObjectDisposedException)
            {
                return dropped + _count - sent;
            }
            if (n > 0)
            {
                sent += n;
                continue;
            }
            var error = Marshal.GetLastPInvokeError();
            if (n < 0 && error is EINTR or EAGAIN) continue;
            // sendmmsg reports an error only when it sent nothing: the first remaining datagram
            // failed; drop it and go on with the rest.
            sent++;
            dropped++;
        }
        return dropped;
    }

    [DllImport("libc", EntryPoint = "sendmmsg", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SendMmsg(SafeHandle socket, UdpBatchReceiver.MmsgHdr* headers, uint count, int flags);
}
