using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Aggregators.Sip.Transport;

/// <summary>
/// Linux only: receives up to <see cref="Capacity"/> datagrams with one <c>recvmmsg</c> call
/// (<c>MSG_WAITFORONE</c>: blocks for the first, then takes what is already queued). Each slot has
/// its own 64 KiB buffer (the largest UDP payload) and its own <see cref="SocketAddress"/>, whose
/// buffer holds the native sockaddr the kernel writes. The buffers live in native memory, freed
/// by <see cref="Dispose"/>; the caller owns the thread that calls <see cref="Receive"/>.
/// </summary>
internal sealed unsafe class UdpBatchReceiver : IDisposable
{
    public const int Capacity = 32;
    private const int SlotSize = 65536;
    private const int MsgWaitForOne = 0x10000; // MSG_WAITFORONE
    private const int MsgTrunc = 0x20; // MSG_TRUNC in msg_flags: the datagram was longer than the slot

    private readonly MmsgHdr* _headers;
    private readonly IoVec* _vectors;
    private readonly byte* _data;
    private readonly byte* _names;
    private readonly int _nameSize;
    private readonly SocketAddress[] _sources = new SocketAddress[Capacity];
    private bool _disposed;

    /// <summary>True where <c>recvmmsg</c> and the 64-bit struct layout below are known to match.</summary>
    public static bool IsSupported => OperatingSystem.IsLinux() && IntPtr.Size == 8;

    public UdpBatchReceiver(AddressFamily family)
    {
        _nameSize = SocketAddress.GetMaximumAddressSize(family);
        _headers = (MmsgHdr*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(MmsgHdr)));
        _vectors = (IoVec*)NativeMemory.AllocZeroed((nuint)(Capacity * sizeof(IoVec)));
        _data = (byte*)NativeMemory.Alloc((nuint)Capacity * SlotSize);
        _names = (byte*)NativeMemory.AllocZeroed((nuint)(Capacity * _nameSize));
        for (var i = 0; i < Capacity; i++)
        {
            _sources[i] = new SocketAddress(family);
            _vectors[i].Base = _data + (long)i * SlotSize;
            _vectors[i].Length = SlotSize;
            _headers[i].Header.Iov = &_vectors[i];
            _headers[i].Header.IovLen = 1;
        }
    }

    /// <summary>
    /// Blocks until at least one datagram is queued and returns how many were taken (0 when the
    /// socket was shut down), or -1 with the errno in <paramref name="error"/>.
    /// </summary>
    public int Receive(SafeHandle socket, out int error)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        for (var i = 0; i < Capacity; i++)
        {
            _headers[i].Header.Name = _names + (long)i * _nameSize;
            _headers[i].Header.NameLen = (uint)_nameSize;
            _headers[i].Header.Flags = 0;
            _headers[i].Length = 0;
        }
        var count = RecvMmsg(socket, _headers, Capacity, MsgWaitForOne, null);
        error = count < 0 ? Marshal.GetLastPInvokeError() : 0;
        return count;
    }

    /// <summary>Slot <paramref name="index"/>'s datagram; false when the kernel cut it short (larger than 64 KiB).</summary>
    public bool TryGetDatagram(int index, out Span<byte> datagram, out SocketAddress source)
    {
        ref var header = ref _headers[index];
        source = _sources[index];
        var nameLength = (int)Math.Min(header.Header.NameLen, (uint)_nameSize);
        new ReadOnlySpan<byte>(header.Header.Name, nameLength).CopyTo(source.Buffer.Span);
        source.Size = nameLength;
        datagram = new Span<byte>(_vectors[index].Base, (int)Math.Min(header.Length, (uint)SlotSize));
        return (header.Header.Flags & MsgTrunc) == 0;
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

    [DllImport("libc", EntryPoint = "recvmmsg", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int RecvMmsg(SafeHandle socket, MmsgHdr* headers, uint count, int flags, void* timeout);

    // struct iovec, struct msghdr and struct mmsghdr on 64-bit Linux (x86-64 and arm64 alike).
    [StructLayout(LayoutKind.Sequential)]
    internal struct IoVec
    {
        public byte* Base;
        public nuint Length;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MsgHdr
    {
        public byte* Name;
        public uint NameLen;
        public IoVec* Iov;
        public nuint IovLen;
        public void* Control;
        public nuint ControlLen;
        public int Flags;
    }

    [StructLayout(LayoutKind.Sequential)]
    internal struct MmsgHdr
    {
        public MsgHdr Header;
        public uint Length;
    }
}
