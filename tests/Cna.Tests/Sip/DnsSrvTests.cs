using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Sip.Dns;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Cna.Tests.Sip;

public sealed class DnsSrvTests
{
    /// <summary>An answer to <paramref name="query"/> with SRV records (tests/Shared LoopbackDnsServer builds it).</summary>
    internal static byte[] Answer(byte[] query, params (ushort Priority, ushort Weight, ushort Port, string Target)[] records) =>
        LoopbackDnsServer.Answer(query, records);

    [Fact]
    public void A_query_and_its_answer_round_trip_with_compressed_names()
    {
        var query = DnsSrvMessage.BuildQuery(0x1234, "_sip._udp.example.com");
        Assert.Equal(12 + 1 + 4 + 1 + 4 + 1 + 7 + 1 + 3 + 1 + 4, query.Length);
        var answer = Answer(query, (10, 60, 5060, "pna1.example.com"), (10, 20, 5062, "pna1.example.com"), (20, 0, 5060, "backup.example.com"));
        Assert.True(DnsSrvMessage.TryParseResponse(answer, 0x1234, out var records, out var error), error);
        Assert.Equal(3, records.Count);
        Assert.Equal(new SrvRecord(10, 60, 5060, "pna1.example.com", TimeSpan.FromHours(1)), records[0]);
        Assert.Equal("pna1.example.com", records[1].Target);
        Assert.Equal(5062, records[1].Port);
        Assert.Equal(10, DnsSrvMessage.Choose(records)!.Priority);
        Assert.False(DnsSrvMessage.TryParseResponse(answer, 0x4321, out _, out error));
        Assert.Contains("not the answer", error, StringComparison.Ordinal);
    }

    [Fact]
    public void Nxdomain_is_no_record_and_a_dot_target_means_not_available()
    {
        var query = DnsSrvMessage.BuildQuery(7, "_sip._udp.example.org");
        var nx = (byte[])query.Clone();
        nx[2] = 0x81;
        nx[3] = 0x83;
        Assert.True(DnsSrvMessage.TryParseResponse(nx, 7, out var records, out _));
        Assert.Empty(records);
        Assert.Null(DnsSrvMessage.Choose([new SrvRecord(0, 0, 0, ".", TimeSpan.Zero)]));
    }

    [Fact]
    public void Hostile_answers_are_errors_not_exceptions()
    {
        var query = DnsSrvMessage.BuildQuery(9, "_sip._udp.example.com");
        var good = Answer(query, (1, 1, 5060, "pna.example.com"));
        var selfPointer = (byte[])good.Clone();
        selfPointer[12] = 0xC0;
        selfPointer[13] = 12;
        Assert.False(DnsSrvMessage.TryParseResponse(selfPointer, 9, out _, out var error));
        Assert.Contains("compression", error, StringComparison.Ordinal);
        // Every truncation and every single-byte corruption: false or a parse, never a throw.
        for (var n = 0; n < good.Length; n++)
        {
            DnsSrvMessage.TryParseResponse(good.AsSpan(0, n), 9, out _, out _);
        }
        Prop.ForAll(Arb.From(Gen.Choose(0, good.Length - 1).SelectMany(i => Gen.Choose(0, 255).Select(b => (i, b)))), c =>
        {
            var bad = (byte[])good.Clone();
            bad[c.i] = (byte)c.b;
            DnsSrvMessage.TryParseResponse(bad, 9, out _, out _);
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public async Task A_loopback_dns_server_is_asked_udp_first_and_answers_are_cached()
    {
        await using var dns = new LoopbackDnsServer();
        dns.Srv["_sip._udp.example.com"] = [(1, 1, 5099, "127.0.0.1")];
        var resolver = new DnsSrvResolver(dns.EndPoint, TimeProvider.System);
        var found = await resolver.ResolveAsync("example.com", CancellationToken.None);
        Assert.Equal((new IPEndPoint(IPAddress.Loopback, 5099), "udp"), found);
        Assert.Equal(found, await resolver.ResolveAsync("example.com", CancellationToken.None));
        Assert.Equal(["_sip._udp.example.com"], dns.Asked); // UDP first, found, then cached
    }
}
