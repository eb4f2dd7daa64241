using System.Buffers;
using Aggregators.Sip.Parsing;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>Random valid values survive write then parse unchanged.</summary>
public class RoundTripProperties
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    [Fact]
    public void Uri_round_trips() =>
        Prop.ForAll(Arb.From(SipGenerators.Uri), uri => SipUri.Parse(uri.ToString()).Equals(uri)).Check(Config);

    [Fact]
    public void Name_address_round_trips() =>
        Prop.ForAll(Arb.From(SipGenerators.NameAddress), na => SipNameAddress.Parse(na.ToString()).Equals(na)).Check(Config);

    [Fact]
    public void Via_round_trips() =>
        Prop.ForAll(Arb.From(SipGenerators.Via), via => SipVia.Parse(via.ToString()).Equals(via)).Check(Config);

    [Fact]
    public void Stream_decoder_reassembles_messages_split_anywhere()
    {
        var gen =
            from messages in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(SipGenerators.Message, n))
            from cuts in Gen.ArrayOf(Gen.Choose(1, 200), 6)
            select (messages, cuts);
        Prop.ForAll(Arb.From(gen), t =>
        {
            var wire = t.messages.SelectMany(m => SipMessageWriter.ToBytes(m).Concat("\r\n"u8.ToArray())).ToArray();
            var decoder = new Aggregators.Sip.Framing.SipStreamDecoder();
            var pending = new List<byte>();
            var got = new List<SipMessage>();
            var offset = 0;
            var i = 0;
            while (offset < wire.Length)
            {
                var n = Math.Min(t.cuts[i++ % t.cuts.Length], wire.Length - offset);
                pending.AddRange(wire.AsSpan(offset, n).ToArray());
                offset += n;
                var seq = new System.Buffers.ReadOnlySequence<byte>(pending.ToArray());
                while (decoder.TryDecode(ref seq, out var frame))
                    if (frame.Message is { } m) got.Add(m);
                pending = [.. seq.ToArray()];
            }
            Assert.Equal(t.messages.Length, got.Count);
            for (var k = 0; k < got.Count; k++)
            {
                Assert.Equal(t.messages[k].CSeq, got[k].CSeq);
                Assert.Equal(t.messages[k].Body.ToArray(), got[k].Body.ToArray());
            }
        }).Check(Config.WithMaxTest(100));
    }

    [Fact]
    public void Message_round_trips()
    {
        Prop.ForAll(Arb.From(SipGenerators.Message), m =>
        {
            var bytes = SipMessageWriter.ToBytes(m);
            var parsed = SipMessageParser.ParseDatagram(bytes);
            switch (m, parsed)
            {
                case (SipRequest a, SipRequest b):
                    Assert.Equal(a.Method, b.Method);
                    Assert.Equal(a.RequestUri, b.RequestUri);
                    break;
                case (SipResponse a, SipResponse b):
                    Assert.Equal(a.StatusCode, b.StatusCode);
                    Assert.Equal(a.ReasonPhrase, b.ReasonPhrase);
                    break;
                default:
                    Assert.Fail("message kind changed");
                    break;
            }
            Assert.Equal(m.Via, parsed.Via);
            Assert.Equal(m.From, parsed.From);
            Assert.Equal(m.To, parsed.To);
            Assert.Equal(m.CallId, parsed.CallId);
            Assert.Equal(m.CSeq, parsed.CSeq);
            Assert.Equal(m.MaxForwards, parsed.MaxForwards);
            Assert.Equal(m.Contact, parsed.Contact);
            Assert.Equal(m.Body.ToArray(), parsed.Body.ToArray());
            Assert.Equal(m.Headers.Select(h => (h.Name, h.Value)), parsed.Headers.Where(h => h.Name != SipHeaderNames.ContentLength).Select(h => (h.Name, h.Value)));
            // Writing the parsed message again gives the same bytes: the output is canonical.
            Assert.Equal(bytes, SipMessageWriter.ToBytes(parsed));
        }).Check(Config.WithMaxTest(200));
    }
}
