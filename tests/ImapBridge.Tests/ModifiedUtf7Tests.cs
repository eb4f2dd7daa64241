using Aggregators.ImapBridge.Imap;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.ImapBridge.Tests;

public class ModifiedUtf7Tests
{
    [Theory]
    [InlineData("INBOX", "INBOX")]
    [InlineData("&", "&-")]
    [InlineData("Tom & Jerry", "Tom &- Jerry")]
    [InlineData("Entwürfe", "Entw&APw-rfe")]
    [InlineData("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-")]
    [InlineData("Gelöschte Elemente", "Gel&APY-schte Elemente")]
    [InlineData("😀", "&2D3eAA-")]
    [InlineData("", "")]
    public void Encodes_and_decodes_rfc3501_examples(string name, string encoded)
    {
        Assert.Equal(encoded, ModifiedUtf7.Encode(name));
        Assert.Equal(name, ModifiedUtf7.Decode(encoded));
    }

    [Theory]
    [InlineData("&Jjo!", "not a modified BASE64 character")]
    [InlineData("&U,BTFw", "not closed by '-'")]
    [InlineData("&AGE-", "printable US-ASCII 'a' encoded")]
    [InlineData("&AB-", "incomplete shifted sequence")]
    [InlineData("&AP1-", "leftover bits")]
    [InlineData("&APwA-", "leftover bits")]
    [InlineData("&2D0-", "unpaired high surrogate")]
    [InlineData("&3gA-", "unpaired low surrogate")]
    [InlineData("a\tb", "must be encoded")]
    [InlineData("Entwürfe", "must be encoded")]
    [InlineData("&U,BTF2XlZyyKng/-", "not a modified BASE64 character")]
    public void Decode_is_strict_with_clear_errors(string encoded, string expected)
    {
        var e = Assert.Throws<FormatException>(() => ModifiedUtf7.Decode(encoded));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_rejects_unpaired_surrogates() =>
        Assert.Throws<ArgumentException>(() => ModifiedUtf7.Encode("a\uD800b"));

    /// <summary>Valid mailbox names: any Unicode scalar values (no lone surrogates).</summary>
    internal static Gen<string> Names() =>
        Gen.OneOf(
                Gen.Choose(0x20, 0x7E),
                Gen.Choose(0x00, 0x1F),
                Gen.Choose(0x80, 0xD7FF),
                Gen.Choose(0xE000, 0xFFFF),
                Gen.Choose(0x10000, 0x10FFFF),
                Gen.Constant((int)'&'))
            .Select(char.ConvertFromUtf32)
            .ListOf()
            .Select(parts => string.Concat(parts));

    [Fact]
    public void Round_trip_property() =>
        Prop.ForAll(Arb.From(Names()), name =>
        {
            var encoded = ModifiedUtf7.Encode(name);
            return ModifiedUtf7.Decode(encoded) == name
                && encoded.All(c => c is >= ' ' and <= '~');
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));

    [Fact]
    public void Decoding_random_ascii_never_throws_anything_but_format_errors() =>
        Prop.ForAll(Arb.From(Gen.Elements("&-AZaz09+,/!x".ToCharArray()).ListOf().Select(c => new string(c.ToArray()))), s =>
        {
            if (ModifiedUtf7.TryDecode(s, out var decoded, out var error))
            {
                // Whatever decodes must encode back to the same canonical text, or be a non-canonical form.
                return error is null && ModifiedUtf7.Decode(ModifiedUtf7.Encode(decoded)) == decoded;
            }
            return error is not null;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
}
