using System.Text;
using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>
/// The ingest codec's hot path: one typical MessageNew (~300 bytes, as the bridge sends it) and a
/// 1000-event NDJSON batch. Target: well over 500k events/s decode on one core.
/// Run: dotnet run -c Release --project bench/Benchmarks -- --filter '*JsonCodec*' --job short
/// (add --inProcess while the assembly name, Aggregators.Benchmarks, differs from the project
/// file name: BenchmarkDotNet's default toolchain looks for Aggregators.Benchmarks.csproj).
/// On a shared, loaded machine compare CPU time rather than the wall-clock means.
/// </summary>
[MemoryDiagnoser]
public class JsonCodecBenchmarks
{
    private const string MessageNewJson =
        """{"event":"MessageNew","account":"joe.average@example.com","mailbox":"INBOX","id":"bridge-7:1749203345:4412","totals":{"messages":1432,"unseen":17,"uidnext":88213,"uidvalidity":1700000000},"timestamp":"2026-03-01T12:34:56.789Z","uidset":"88212","messageSize":48213,"from":"Romeo Montague <romeo@example.net>","subject":"Dinner tonight?"}""";

    private byte[] _messageNew = [];
    private MailEvent _event = null!;
    private byte[] _ndjson = [];

    [GlobalSetup]
    public void Setup()
    {
        _messageNew = Encoding.UTF8.GetBytes(MessageNewJson);
        if (!MailEventJson.TryDecode(_messageNew, 0, out var e, out var error))
        {
            throw new InvalidOperationException(error!.ToString());
        }
        _event = e!;
        var sb = new StringBuilder();
        for (var i = 0; i < 1000; i++)
        {
            sb.Append(MessageNewJson.Replace("joe.average", "user" + i, StringComparison.Ordinal)).Append('\n');
        }
        _ndjson = Encoding.UTF8.GetBytes(sb.ToString());
    }

    [Benchmark]
    public MailEvent? DecodeMessageNew()
    {
        MailEventJson.TryDecode(_messageNew, 0, out var e, out _);
        return e;
    }

    [Benchmark]
    public byte[] EncodeMessageNew() => MailEventJson.Encode(_event);

    [Benchmark(OperationsPerInvoke = 1000)]
    public DecodedBatch DecodeNdJsonBatch1000() => MailEventJson.DecodeBatch(_ndjson, BatchFormat.NdJson, 1000);
}
