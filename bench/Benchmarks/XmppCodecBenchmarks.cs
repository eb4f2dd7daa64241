using System.Buffers;
using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using BenchmarkDotNet.Attributes;

namespace Aggregators.Benchmarks;

/// <summary>
/// The XMPP codec on a typical pubsub event notification (~450 bytes on the wire): serialising
/// the stanza, and reading it back from a stream (framer + XmlReader + XElement build + typed
/// view). Run: dotnet run -c Release --project bench/Benchmarks -- --filter '*XmppCodec*' --job short
/// </summary>
[MemoryDiagnoser]
public class XmppCodecBenchmarks
{
    private const int MessagesPerStream = 1000;

    private const string Header =
        "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' " +
        "id='2f6c8a1e-6d5e-4f0b-9d34-0c2b8e9a1f11' from='events.example.com' xmlns='jabber:component:accept'>";

    private XElement _event = null!;
    private ArrayBufferWriter<byte> _output = null!;
    private byte[] _stream = null!;

    public int EventBytes { get; private set; }

    [GlobalSetup]
    public void Setup()
    {
        XNamespace pubsubEvent = "http://jabber.org/protocol/pubsub#event";
        XNamespace mail = "urn:example:mail-events:0";
        var message = new Message(MessageType.Headline, Jid.Parse("juliet@example.com/balcony"), Jid.Parse("events.example.com"), "evt-000123");
        message.Element.Add(new XElement(pubsubEvent + "event",
            new XElement(pubsubEvent + "items", new XAttribute("node", "mail_events/INBOX"),
                new XElement(pubsubEvent + "item", new XAttribute("id", "5f1c2d3e-0001"),
                    new XElement(mail + "mail-event",
                        new XAttribute("type", "MessageNew"), new XAttribute("mailbox", "INBOX"),
                        new XAttribute("uidvalidity", "1700000000"), new XAttribute("uid", "4242"),
                        new XAttribute("messages", "17"), new XAttribute("unseen", "3"), new XAttribute("uidnext", "4243"),
                        new XElement(mail + "from", "romeo@example.net"),
                        new XElement(mail + "subject", "Dinner & the balcony <tonight>"))))));
        _event = message.Element;
        _output = new ArrayBufferWriter<byte>(1024);
        var one = StanzaSerializer.ToBytes(_event, XmppNamespaces.ComponentAccept);
        EventBytes = one.Length;
        var all = new MemoryStream();
        all.Write(Encoding.UTF8.GetBytes(Header));
        for (var i = 0; i < MessagesPerStream; i++)
        {
            all.Write(one);
        }
        all.Write("</stream:stream>"u8);
        _stream = all.ToArray();
    }

    [Benchmark(Description = "write pubsub event message")]
    public int Write()
    {
        _output.ResetWrittenCount();
        StanzaSerializer.Write(_event, XmppNamespaces.ComponentAccept, _output);
        return _output.WrittenCount;
    }

    [Benchmark(Description = "read pubsub event message", OperationsPerInvoke = MessagesPerStream)]
    public async Task<int> Read()
    {
        using var reader = new XmlStreamReader(new MemoryStream(_stream, writable: false), XmppNamespaces.ComponentAccept);
        await reader.ReadHeaderAsync(CancellationToken.None);
        var count = 0;
        while (true)
        {
            var e = await reader.ReadAsync(CancellationToken.None);
            if (e.Kind != XmlStreamEventKind.Element)
            {
                return count;
            }
            count += Stanza.FromElement(e.Element!) is Message ? 1 : 0;
        }
    }
}
