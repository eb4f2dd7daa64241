using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Stanzas;
using Aggregators.Xmpp.Xml;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Xmpp.Tests;

public class StanzaSerializerTests
{
    private static readonly XNamespace Accept = XmppNamespaces.ComponentAccept;

    [Fact]
    public void Escapes_text_and_attributes()
    {
        var e = new XElement(Accept + "message", new XAttribute("id", "a'b\"c<d>&e\tf\ng\rh"),
            new XElement(Accept + "body", "x < y && z > 'q' \"r\"\r\n"));
        Assert.Equal(
            "<message id='a&apos;b&quot;c&lt;d&gt;&amp;e&#x9;f&#xA;g&#xD;h'><body>x &lt; y &amp;&amp; z &gt; 'q' \"r\"&#xD;\n</body></message>",
            StanzaSerializer.ToXml(e, XmppNamespaces.ComponentAccept));
    }

    [Fact]
    public void Namespaces_are_declared_where_they_change_and_xml_lang_keeps_its_prefix()
    {
        XNamespace pubsub = "http://jabber.org/protocol/pubsub#event";
        XNamespace other = "urn:example:attr";
        var e = new XElement(Accept + "message", new XAttribute(XNamespace.Xml + "lang", "en"),
            new XElement(pubsub + "event", new XElement(pubsub + "items", new XAttribute("node", "mail_events/INBOX"),
                new XElement("bare", new XAttribute(other + "flag", "1")))));
        Assert.Equal(
            "<message xml:lang='en'><event xmlns='http://jabber.org/protocol/pubsub#event'><items node='mail_events/INBOX'>" +
            "<bare xmlns='' xmlns:a0='urn:example:attr' a0:flag='1'/></items></event></message>",
            StanzaSerializer.ToXml(e, XmppNamespaces.ComponentAccept));
    }

    [Theory]
    [InlineData(0x0000)]
    [InlineData(0x0008)]
    [InlineData(0xFFFE)]
    [InlineData(0xD800)] // lone high surrogate
    [InlineData(0xDC00)] // lone low surrogate
    public void Characters_XML_cannot_carry_are_refused(int code)
    {
        var text = "a" + (char)code + "b";
        var e = new XElement(Accept + "message", new XElement(Accept + "body", text));
        Assert.Throws<ArgumentException>(() => StanzaSerializer.ToBytes(e, XmppNamespaces.ComponentAccept));
    }

    [Fact]
    public void Comments_and_processing_instructions_are_refused()
    {
        Assert.Throws<ArgumentException>(() => StanzaSerializer.ToBytes(new XElement(Accept + "message", new XComment("x")), XmppNamespaces.ComponentAccept));
        Assert.Throws<ArgumentException>(() => StanzaSerializer.ToBytes(new XElement(Accept + "message", new XProcessingInstruction("a", "b")), XmppNamespaces.ComponentAccept));
    }

    [Fact]
    public void Astral_characters_are_written_as_UTF8()
    {
        var bytes = StanzaSerializer.ToBytes(new XElement(Accept + "body", "😀"), XmppNamespaces.ComponentAccept);
        Assert.Equal("<body>😀</body>", Encoding.UTF8.GetString(bytes));
        Assert.Equal(4, bytes.Length - "<body></body>".Length);
    }

    // --- round trip: random stanza -> write -> read (through the stream reader) -> equal

    private static readonly string[] TextTokens =
        ["a", "Z", "0", " ", "<", ">", "&", "'", "\"", "\t", "\n", "\r", "é", "☺", "😀", "]]>", "&amp;", "\u00A0", "\uE000", "-->"];

    private static Gen<string> TextGen =>
        Gen.ListOf(Gen.Elements(TextTokens)).Where(l => l.Count > 0).Select(l => string.Concat(l.Take(40)));

    private static Gen<XNamespace> NamespaceGen =>
        Gen.Elements<XNamespace>(Accept, "http://jabber.org/protocol/pubsub#event", "urn:example:x", "");

    private static Gen<XElement> ElementGen(int depth) =>
        from ns in NamespaceGen
        from name in Gen.Elements("body", "event", "items", "item", "x", "subject")
        from attrs in Gen.ListOf(Gen.Elements("node", "id", "jid", "type", "count")).Select(l => l.Distinct().Take(4).ToList())
        from values in Gen.ListOf(TextGen)
        from text in Gen.OneOf(Gen.Constant<string?>(null), TextGen.Select(t => (string?)t))
        from children in depth == 0 ? Gen.Constant(new List<XElement>()) : Gen.ListOf(ElementGen(depth - 1)).Select(l => l.Take(3).ToList())
        select Build(ns + name, attrs, values.ToList(), text, children);

    private static XElement Build(XName name, List<string> attrs, List<string> values, string? text, List<XElement> children)
    {
        var e = new XElement(name);
        for (var i = 0; i < attrs.Count; i++)
        {
            e.SetAttributeValue(attrs[i], i < values.Count ? values[i] : "v");
        }
        if (text is not null)
        {
            e.Add(new XText(text));
        }
        foreach (var c in children)
        {
            e.Add(c);
        }
        return e;
    }

    private static Gen<XElement> StanzaGen =>
        from kind in Gen.Elements("message", "presence", "iq")
        from to in JidTests.JidGen
        from sender in JidTests.JidGen
        from id in TextGen
        from lang in Gen.Elements<string?>(null, "en", "de")
        from payload in Gen.ListOf(ElementGen(2)).Select(l => l.Take(3).ToList())
        select BuildStanza(kind, to, sender, id, lang, payload);

    private static XElement BuildStanza(string kind, Jid to, Jid from, string id, string? lang, List<XElement> payload)
    {
        var e = new XElement(Accept + kind, new XAttribute("to", to.ToString()), new XAttribute("from", from.ToString()), new XAttribute("id", id));
        if (lang is not null)
        {
            e.Add(new XAttribute(XNamespace.Xml + "lang", lang));
        }
        foreach (var p in payload)
        {
            e.Add(p);
        }
        return e;
    }

    [Fact]
    public void Random_stanzas_survive_write_then_read()
    {
        Prop.ForAll(Arb.From(Gen.ListOf(StanzaGen).Select(l => l.Take(5).ToList())), stanzas =>
        {
            var wire = new MemoryStream();
            wire.Write(Encoding.UTF8.GetBytes(StreamInput.ProsodyHeader));
            foreach (var s in stanzas)
            {
                wire.Write(StanzaSerializer.ToBytes(s, XmppNamespaces.ComponentAccept));
                wire.WriteByte((byte)' ');
            }
            wire.Write("</stream:stream>"u8);
            using var reader = StreamInput.Reader(wire.ToArray(), 97);
            var (events, failure) = StreamInput.ReadAllAsync(reader).GetAwaiter().GetResult();
            if (failure is not null)
            {
                throw failure;
            }
            var read = events.Where(e => e.Kind == XmlStreamEventKind.Element).Select(e => e.Element!).ToList();
            for (var i = 0; i < stanzas.Count; i++)
            {
                if (!XNode.DeepEquals(stanzas[i], read[i]))
                {
                    throw new InvalidOperationException($"differs:\n{stanzas[i]}\n{read[i]}");
                }
                // and the typed view reads the same addresses
                var typed = Stanza.FromElement(new XElement(read[i].Name, read[i].Attributes().Where(a => a.Name.LocalName != "type"),
                    read[i].Name.LocalName == "iq" ? new XAttribute("type", "result") : null));
                if (typed.To!.ToString() != (string?)stanzas[i].Attribute("to"))
                {
                    throw new InvalidOperationException("to differs");
                }
            }
            return read.Count == stanzas.Count;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(100));
    }
}
