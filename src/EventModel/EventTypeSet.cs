using System.Text;

namespace Aggregators.EventModel;

/// <summary>
/// A set of <see cref="MailEventType"/>s as a bitmask, so a subscription's event filter is one AND
/// on the matching hot path.
/// </summary>
public readonly record struct EventTypeSet(uint Bits)
{
    private const uint AllBits = (1u << MailEventTypes.Count) - 1;

    public static EventTypeSet None => default;
    public static EventTypeSet All => new(AllBits);

    /// <summary>What a message-waiting indicator needs: counts change on these.</summary>
    public static EventTypeSet MessageCounts => Of(
        MailEventType.MessageAppend, MailEventType.MessageNew, MailEventType.MessageExpunge,
        MailEventType.MessageExpire, MailEventType.MessageRead, MailEventType.FlagsSet,
        MailEventType.FlagsClear, MailEventType.MessageTrash);

    public static EventTypeSet Of(params ReadOnlySpan<MailEventType> types)
    {
        uint bits = 0;
        foreach (var t in types)
        {
            bits |= 1u << (int)t;
        }
        return new EventTypeSet(bits);
    }

    public bool Contains(MailEventType type) => (Bits & (1u << (int)type)) != 0;
    public bool IsEmpty => Bits == 0;
    public bool IsAll => (Bits & AllBits) == AllBits;
    public EventTypeSet With(MailEventType type) => new(Bits | (1u << (int)type));
    public EventTypeSet Union(EventTypeSet other) => new(Bits | other.Bits);
    public EventTypeSet Intersect(EventTypeSet other) => new(Bits & other.Bits);

    public IEnumerable<MailEventType> Types()
    {
        for (var i = 0; i < MailEventTypes.Count; i++)
        {
            if ((Bits & (1u << i)) != 0)
            {
                yield return (MailEventType)i;
            }
        }
    }

    public override string ToString()
    {
        if (IsAll)
        {
            return "*";
        }
        var sb = new StringBuilder();
        foreach (var t in Types())
        {
            if (sb.Length > 0)
            {
                sb.Append(',');
            }
            sb.Append(t.ToRfcName());
        }
        return sb.ToString();
    }
}
