using System.Buffers;
using System.Text;
using Aggregators.ImapBridge.Imap;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>
/// Framing + parsing of the two responses an IMAP watcher sees most: a FETCH with new FLAGS
/// (pushed by IDLE/NOTIFY) and a FETCH with an ENVELOPE (new-mail details).
/// Run: dotnet run -c Release --project bench/Benchmarks -- --filter *ImapParser* --job short
/// </summary>
[MemoryDiagnoser]
public class ImapParserBenchmarks
{
    private static readonly byte[] s_fetchFlags = Encoding.ASCII.GetBytes(
        "* 12345 FETCH (UID 98765 FLAGS (\\Seen \\Answered $Forwarded) MODSEQ (4711))\r\n");

    private static readonly byte[] s_fetchEnvelope = Encoding.ASCII.GetBytes(
        "* 12 FETCH (UID 4827 FLAGS (\\Seen) RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" " +
        "\"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) " +
        "((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) " +
        "((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")" +
        "(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\"))\r\n");

    private readonly ImapLimits _limits = ImapLimits.Default;

    [Benchmark]
    public ImapResponse FetchFlags() => FrameAndParse(s_fetchFlags);

    [Benchmark]
    public ImapResponse FetchEnvelope() => FrameAndParse(s_fetchEnvelope);

    private ImapResponse FrameAndParse(byte[] data)
    {
        var sequence = new ReadOnlySequence<byte>(data);
        if (!ImapResponseFramer.TryFindEnd(sequence, _limits, out var end))
        {
            throw new InvalidOperationException("incomplete");
        }
        return ImapResponseParser.Parse(sequence.Slice(0, end), _limits);
    }
}
