using System.Buffers;
using System.Text;
using Aggregators.Sip;
using Aggregators.Sip.Parsing;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>Parse and write of a typical RFC 3842 message-summary NOTIFY.</summary>
[MemoryDiagnoser]
public class SipCodecBenchmarks
{
    private const string Body =
        "Messages-Waiting: yes\r\n" +
        "Message-Account: sip:alice@example.com\r\n" +
        "Voice-Message: 2/8 (0/2)\r\n" +
        "\r\n";

    private static readonly string Head =
        "NOTIFY sip:alice@192.0.2.7:5070;transport=udp SIP/2.0\r\n" +
        "Via: SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK776sgdkse;rport\r\n" +
        "Max-Forwards: 70\r\n" +
        "To: \"Alice\" <sip:alice@example.com>;tag=78923\r\n" +
        "From: <sip:alice@example.com>;tag=4442\r\n" +
        "Call-ID: 1@alice-phone.example.com\r\n" +
        "CSeq: 20 NOTIFY\r\n" +
        "Contact: <sip:pna@192.0.2.1:5060>\r\n" +
        "Subscription-State: active;expires=3599\r\n" +
        "Event: message-summary\r\n" +
        "Content-Type: application/simple-message-summary\r\n" +
        $"Content-Length: {Encoding.ASCII.GetByteCount(Body)}\r\n" +
        "\r\n";

    private readonly byte[] _wire = Encoding.ASCII.GetBytes(Head + Body);
    private readonly ArrayBufferWriter<byte> _output = new(1024);
    private SipMessage _message = null!;

    [GlobalSetup]
    public void Setup() => _message = SipMessageParser.ParseDatagram(_wire);

    /// <summary>Framing and header split only (typed values stay raw until read).</summary>
    [Benchmark]
    public SipMessage Parse() => SipMessageParser.ParseDatagram(_wire);

    /// <summary>Parse and read what a notifier's client looks at.</summary>
    [Benchmark]
    public int ParseAndReadTypedHeaders()
    {
        var m = SipMessageParser.ParseDatagram(_wire);
        return m.TopVia!.Branch!.Length + m.From.Tag!.Length + m.To.Tag!.Length + (int)m.CSeq.Sequence
               + m.Event!.EventType.Length + (int)m.SubscriptionState!.Expires!.Value;
    }

    [Benchmark]
    public int Write()
    {
        _output.ResetWrittenCount();
        SipMessageWriter.Write(_message, _output);
        return _output.WrittenCount;
    }
}
