using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Tests;

public class XmlStreamReaderTests
{
    private const string Message =
        "<message from='romeo@example.net/orchard' to='events.example.com' xml:lang='en' id='m1'><body>a &amp; b &lt;c&gt; &#x263A;</body></message>";

    [Theory]
    [InlineData(StreamInput.ProsodyHeader, "2f6c8a1e-6d5e-4f0b-9d34-0c2b8e9a1f11")]
    [InlineData(StreamInput.EjabberdHeader, "17638217934815346689")]
    public async Task Reads_server_headers_whatever_their_attribute_order(string header, string id)
    {
        using var reader = StreamInput.Reader(header);
        var h = await reader.ReadHeaderAsync(CancellationToken.None);
        Assert.Equal(id, h.Id);
        Assert.Equal("events.example.com", h.From);
        Assert.Equal(XmppNamespaces.ComponentAccept, h.ContentNamespace);
    }

    [Theory]
    [InlineData(int.MaxValue)]
    [InlineData(1)]
    [InlineData(7)]
    public async Task Yields_stanzas_skips_keepalives_and_sees_the_closing_tag(int chunk)
    {
        var text = StreamInput.ProsodyHeader + " " + Message + " \n " + "<iq type='result' id='x' from='a.example.com' to='events.example.com'/>" + " </stream:stream>";
        using var reader = StreamInput.Reader(text, chunk);
        var (events, failure) = await StreamInput.ReadAllAsync(reader);
        Assert.Null(failure);
        Assert.Equal(3, events.Count);
        var message = events[0].Element!;
        Assert.Equal(XName.Get("message", XmppNamespaces.ComponentAccept), message.Name);
        Assert.Equal("a & b <c> \u263A", message.Element(XName.Get("body", XmppNamespaces.ComponentAccept))!.Value);
        Assert.Equal("en", (string?)message.Attribute(XNamespace.Xml + "lang"));
        Assert.Equal("iq", events[1].Element!.Name.LocalName);
        Assert.Equal(XmlStreamEventKind.StreamClosed, events[2].Kind);
    }

    [Fact]
    public async Task Reports_a_stream_error_from_the_peer()
    {
        var text = StreamInput.ProsodyHeader +
            "<stream:error><conflict xmlns='urn:ietf:params:xml:ns:xmpp-streams'/><text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>Component already connected</text></stream:error></stream:stream>";
        using var reader = StreamInput.Reader(text);
        var (events, failure) = await StreamInput.ReadAllAsync(reader);
        Assert.Null(failure);
        var e = Assert.Single(events);
        Assert.Equal(XmlStreamEventKind.StreamError, e.Kind);
        Assert.Equal(StreamErrorCondition.Conflict, e.Error!.Condition);
        Assert.Equal("Component already connected", e.Error.Text);
    }

    [Fact]
    public async Task Whitespace_inside_a_stanza_is_kept()
    {
        using var reader = StreamInput.Reader(StreamInput.ProsodyHeader + "<message to='a.example.com'><body> </body></message>");
        await reader.ReadHeaderAsync(CancellationToken.None);
        var e = await reader.ReadAsync(CancellationToken.None);
        Assert.Equal(" ", e.Element!.Value);
    }

    public static TheoryData<string, string, StreamErrorCondition> HostileInputs => new()
    {
        {
            "billion laughs",
            "<?xml version='1.0'?><!DOCTYPE lolz [<!ENTITY lol 'lol'><!ENTITY lol2 '&lol;&lol;&lol;&lol;'>]><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='1'>",
            StreamErrorCondition.RestrictedXml
        },
        {
            "external entity",
            "<!DOCTYPE x SYSTEM 'file:///etc/passwd'><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='1'>",
            StreamErrorCondition.RestrictedXml
        },
        { "comment", StreamInput.ProsodyHeader + "<message to='a.example.com'><!-- hi --></message>", StreamErrorCondition.RestrictedXml },
        { "comment between stanzas", StreamInput.ProsodyHeader + "<!-- hi -->", StreamErrorCondition.RestrictedXml },
        { "processing instruction", StreamInput.ProsodyHeader + "<message><?php echo 1; ?></message>", StreamErrorCondition.RestrictedXml },
        { "undeclared entity", StreamInput.ProsodyHeader + "<message><body>&lol;</body></message>", StreamErrorCondition.RestrictedXml },
        { "entity in attribute", StreamInput.ProsodyHeader + "<message to='&xxe;'/>", StreamErrorCondition.RestrictedXml },
        { "deep nesting", StreamInput.ProsodyHeader + "<message>" + string.Concat(Enumerable.Repeat("<a>", 200)), StreamErrorCondition.PolicyViolation },
        { "huge attribute", StreamInput.ProsodyHeader + "<message to='" + new string('a', 20_000) + "'/>", StreamErrorCondition.PolicyViolation },
        { "many attributes", StreamInput.ProsodyHeader + "<message " + string.Concat(Enumerable.Range(0, 100).Select(i => $"a{i}='x' ")) + "/>", StreamErrorCondition.PolicyViolation },
        { "huge stanza", StreamInput.ProsodyHeader + "<message>" + string.Concat(Enumerable.Repeat("<b>x</b>", 40_000)) + "</message>", StreamErrorCondition.PolicyViolation },
        { "huge text", StreamInput.ProsodyHeader + "<message><body>" + new string('x', 200_000) + "</body></message>", StreamErrorCondition.PolicyViolation },
        { "huge header", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='" + new string('1', 9000) + "'>", StreamErrorCondition.PolicyViolation },
        { "mismatched tags", StreamInput.ProsodyHeader + "<message></iq>", StreamErrorCondition.NotWellFormed },
        { "unquoted attribute", StreamInput.ProsodyHeader + "<message to=x/>", StreamErrorCondition.NotWellFormed },
        { "control character", StreamInput.ProsodyHeader + "<message><body>\u0001</body></message>", StreamErrorCondition.NotWellFormed },
        { "control character reference", StreamInput.ProsodyHeader + "<message><body>&#0;</body></message>", StreamErrorCondition.NotWellFormed },
        { "text between stanzas", StreamInput.ProsodyHeader + "hello", StreamErrorCondition.BadFormat },
        { "closing tag of another element", StreamInput.ProsodyHeader + "<message/></stream:streams>", StreamErrorCondition.NotWellFormed },
        { "end tag before the header", "</stream:stream>", StreamErrorCondition.NotWellFormed },
        { "text before the header", "hello<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='1'>", StreamErrorCondition.NotWellFormed },
        { "undeclared prefix in a stanza", StreamInput.ProsodyHeader + "<x:message/>", StreamErrorCondition.NotWellFormed },
        { "wrong stream namespace", "<stream:stream xmlns:stream='urn:other' xmlns='jabber:component:accept' id='1'>", StreamErrorCondition.InvalidNamespace },
        { "wrong content namespace", "<stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:client' id='1'>", StreamErrorCondition.InvalidNamespace },
        { "wrong stream prefix", "<s:stream xmlns:s='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' id='1'>", StreamErrorCondition.BadNamespacePrefix },
    };

    [Theory]
    [MemberData(nameof(HostileInputs))]
    public async Task Hostile_input_is_refused_with_the_right_stream_error(string name, string input, StreamErrorCondition expected)
    {
        foreach (var chunk in input.Length < 20_000 ? new[] { int.MaxValue, 1, 13 } : new[] { int.MaxValue, 4093 })
        {
            using var reader = StreamInput.Reader(input + "<message/>", chunk);
            var (events, failure) = await StreamInput.ReadAllAsync(reader).WaitAsync(TimeSpan.FromSeconds(10));
            Assert.True(failure is not null, $"{name}: accepted ({events.Count} events)");
            Assert.True(failure!.Error is not null, $"{name}: no stream error: {failure.Message}");
            Assert.False(failure.SentByPeer);
            Assert.True(expected == failure.Error!.Condition, $"{name} (chunk {chunk}): expected {expected}, got {failure.Error}");
        }
    }

    public static TheoryData<string, byte[]> InvalidUtf8 => new()
    {
        { "overlong slash", [0xC0, 0xAF] },
        { "0xFF", [0xFF] },
        { "surrogate", [0xED, 0xA0, 0x80] },
        { "truncated sequence", [0xE2, 0x82, (byte)'<'] },
        { "above U+10FFFF", [0xF4, 0x90, 0x80, 0x80] },
    };

    [Theory]
    [MemberData(nameof(InvalidUtf8))]
    public async Task Invalid_UTF8_is_unsupported_encoding(string name, byte[] bad)
    {
        var bytes = Encoding.UTF8.GetBytes(StreamInput.ProsodyHeader + "<message><body>").Concat(bad).Concat(Encoding.UTF8.GetBytes("</body></message>")).ToArray();
        using var reader = StreamInput.Reader(bytes, 3);
        var (_, failure) = await StreamInput.ReadAllAsync(reader).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(failure?.Error?.Condition == StreamErrorCondition.UnsupportedEncoding, $"{name}: {failure?.Message}");
    }

    [Fact]
    public async Task A_stanza_cut_in_half_is_a_lost_connection_not_a_crash()
    {
        using var reader = StreamInput.Reader(StreamInput.ProsodyHeader + "<message to='a.example.com'><bo");
        var (events, failure) = await StreamInput.ReadAllAsync(reader).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Empty(events);
        Assert.NotNull(failure);
        Assert.Null(failure!.Error);
        Assert.Contains("middle of a stanza", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_connection_closed_between_stanzas_is_reported()
    {
        using var reader = StreamInput.Reader(StreamInput.ProsodyHeader + "<message to='a.example.com'/> ");
        var (events, failure) = await StreamInput.ReadAllAsync(reader).WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Single(events);
        Assert.Null(failure!.Error);
    }

    [Fact]
    public async Task A_stanza_exactly_at_the_limit_passes_one_byte_more_fails()
    {
        const string stanza = "<message to='a.example.com'><body>0123456789</body></message>";
        var limits = new XmlStreamLimits { MaxStanzaBytes = stanza.Length };
        using (var ok = StreamInput.Reader(StreamInput.ProsodyHeader + stanza + "</stream:stream>", 5, limits))
        {
            var (events, failure) = await StreamInput.ReadAllAsync(ok);
            Assert.Null(failure);
            Assert.Equal(2, events.Count);
        }
        using var tooBig = StreamInput.Reader(StreamInput.ProsodyHeader + stanza.Replace("9", "9x", StringComparison.Ordinal) + "</stream:stream>", 5, limits);
        var (_, f) = await StreamInput.ReadAllAsync(tooBig);
        Assert.Equal(StreamErrorCondition.PolicyViolation, f!.Error!.Condition);
    }

    [Fact]
    public async Task Keepalives_do_not_count_towards_the_next_stanza()
    {
        const string stanza = "<message to='a.example.com'/>";
        var limits = new XmlStreamLimits { MaxStanzaBytes = stanza.Length };
        var text = StreamInput.ProsodyHeader + stanza + new string(' ', 1000) + stanza + "</stream:stream>";
        using var reader = StreamInput.Reader(text, 1, limits);
        var (events, failure) = await StreamInput.ReadAllAsync(reader);
        Assert.Null(failure);
        Assert.Equal(3, events.Count);
    }

    [Fact]
    public async Task CDATA_is_text_and_its_brackets_do_not_confuse_the_framer()
    {
        using var reader = StreamInput.Reader(StreamInput.ProsodyHeader + "<message><body><![CDATA[<a>]] > ]]></body></message></stream:stream>", 2);
        var (events, failure) = await StreamInput.ReadAllAsync(reader);
        Assert.Null(failure);
        Assert.Equal("<a>]] > ", events[0].Element!.Value);
        Assert.Equal(XmlStreamEventKind.StreamClosed, events[1].Kind);
    }

    [Fact]
    public async Task Attribute_values_with_gt_and_slash_do_not_confuse_the_framer()
    {
        using var reader = StreamInput.Reader(StreamInput.ProsodyHeader + "<message a='/>' b=\"x/\"><body>1</body></message></stream:stream>", 1);
        var (events, failure) = await StreamInput.ReadAllAsync(reader);
        Assert.Null(failure);
        Assert.Equal("/>", (string?)events[0].Element!.Attribute("a"));
        Assert.Equal(XmlStreamEventKind.StreamClosed, events[1].Kind);
    }
}
