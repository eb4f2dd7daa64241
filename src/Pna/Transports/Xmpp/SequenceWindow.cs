namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Keeps an XMPP subscription's <c>seq</c> going up across PNA restarts without a store write per
/// notification. The dispatcher numbers notifications from 1 in each process; the wire number is
/// <see cref="Base"/> + that. Before a wire number above <see cref="Reserved"/> is sent, a block
/// of <see cref="BlockSize"/> more is reserved in the subscription's stored state; a restarted PNA
/// starts its <see cref="Base"/> at the stored reservation, above anything sent before (numbers
/// may jump ahead, never back).
/// </summary>
internal sealed class SequenceWindow
{
    /// <summary>Wire sequence numbers reserved per store write.</summary>
    public const long BlockSize = 1000;

    private SequenceWindow(long reserved)
    {
        Base = reserved;
        Reserved = reserved;
    }

    /// <summary>Added to the dispatcher's per-process sequence number.</summary>
    public long Base { get; }

    /// <summary>The highest wire number the stored state allows.</summary>
    public long Reserved { get; private set; }

    /// <summary>For a subscription whose stored state reserved up to <paramref name="storedReservation"/> (0: none).</summary>
    public static SequenceWindow Resume(long storedReservation) => new(Math.Max(0, storedReservation));

    /// <summary>
    /// The wire number of the dispatcher's <paramref name="sequence"/>, and the reservation to store
    /// first when it passes the current one (null when none is needed).
    /// </summary>
    public long Next(long sequence, out long? reserve)
    {
        var wire = Base + sequence;
        reserve = wire > Reserved ? wire + BlockSize - 1 : null;
        return wire;
    }

    /// <summary>The reservation was stored.</summary>
    public void Commit(long reserved) => Reserved = Math.Max(Reserved, reserved);
}
