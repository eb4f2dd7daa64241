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
