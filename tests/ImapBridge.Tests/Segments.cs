using System.Buffers;

namespace Aggregators.ImapBridge.Tests;

/// <summary>Builds multi-segment sequences, as a pipe delivers data that arrived in pieces.</summary>
internal sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] data, int size)
    {
        var first = new Segments(data.AsMemory(0, Math.Min(size, data.Length)), 0);
        var last = first;
        for (var i = size; i < data.Length; i += size)
        {
            var next = new Segments(data.AsMemory(i, Math.Min(size, data.Length - i)), i);
            last.Next = next;
            last = next;
        }
        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
