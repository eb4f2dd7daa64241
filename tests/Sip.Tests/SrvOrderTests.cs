using Aggregators.Sip.Dns;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>RFC 2782's order of SRV records, the order RFC 3263 §4.3 tries them in.</summary>
public sealed class SrvOrderTests
{
    private static SrvRecord Record(ushort priority, ushort weight, string target) => new(priority, weight, 5060, target, TimeSpan.FromMinutes(5));

    private static readonly Gen<SrvRecord[]> Records =
        Gen.ListOf(
                from priority in Gen.Choose(0, 3)
                from weight in Gen.Elements(0, 0, 1, 10, 60)
                from target in Gen.Elements("a.example.com", "b.example.com", "c.example.com", ".")
                select Record((ushort)priority, (ushort)weight, target))
            .Select(l => l.ToArray());

    [Fact]
    public void Every_usable_record_once_lowest_priority_first() =>
        Prop.ForAll(Arb.From(Records), records =>
        {
            var ordered = SrvRecordsOrdered(records);
            var usable = records.Where(r => r.Target != ".").ToList();
            return ordered.Count == usable.Count
                   && ordered.OrderBy(r => r.GetHashCode()).SequenceEqual(usable.OrderBy(r => r.GetHashCode()))
                   && ordered.Zip(ordered.Skip(1)).All(p => p.First.Priority <= p.Second.Priority);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));

    [Fact]
    public void A_weight_zero_record_comes_after_weighted_ones_nearly_always()
    {
        // Weight 0 is chosen first only when the draw is 0: 1 in 101 here.
        var zeroFirst = 0;
        for (var i = 0; i < 1000; i++)
        {
            if (DnsSrvMessage.Order([Record(0, 0, "zero.example.com"), Record(0, 100, "heavy.example.com")])[0].Weight == 0) zeroFirst++;
        }
        Assert.InRange(zeroFirst, 0, 60);
    }

    [Fact]
    public void Dot_means_no_service()
    {
        Assert.Empty(DnsSrvMessage.Order([Record(0, 0, ".")]));
    }

    private static IReadOnlyList<SrvRecord> SrvRecordsOrdered(SrvRecord[] records) => DnsSrvMessage.Order(records);
}
