using System.Xml.Linq;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Xmpp.Tests;

public class ResultSetAndEscapingTests
{
    private static readonly XNamespace Rsm = ResultSetRequest.Namespace;

    [Theory]
    [InlineData("o'brien", @"o\27brien")]
    [InlineData("d'artagnan@musketeers", @"d\27artagnan\40musketeers")] // XEP-0106 §4.3 style
    [InlineData("space cadet", @"space\20cadet")]
    [InlineData("call me \"ishmael\"", @"call\20me\20\22ishmael\22")]
    [InlineData("at&t guy", @"at\26t\20guy")]
    [InlineData("/.fanboy", @"\2f.fanboy")]
    [InlineData("::foo::", @"\3a\3afoo\3a\3a")]
    [InlineData("<foo>", @"\3cfoo\3e")]
    [InlineData(@"c:\net", @"c\3a\net")]         // a backslash that starts no sequence stays
    [InlineData(@"c:\\net", @"c\3a\\net")]
    [InlineData(@"c:\cool stuff", @"c\3a\cool\20stuff")]
    [InlineData(@"c:\5commas", @"c\3a\5c5commas")]  // one that would read as \5c is escaped
    [InlineData("juliet", "juliet")]
    public void Escapes_as_xep0106_says_and_back(string name, string localpart)
    {
        Assert.Equal(localpart, JidEscaping.Escape(name));
        Assert.Equal(name, JidEscaping.Unescape(localpart));
        Assert.Equal(localpart, Jid.Create(localpart, "events.example.com").Local);
    }

    [Theory]
    // XEP-0106 §5.2-5.7: an email, SIP, IM address, IMPS and IRC user parts.
    [InlineData("here's_a_wild_&_/cr%zy/_address", @"here\27s_a_wild_\26_\2fcr%zy\2f_address")]
    [InlineData("here's_a_wild_&_/cr%zy/_address_for:<wv>(\"IMPS\")", @"here\27s_a_wild_\26_\2fcr%zy\2f_address_for\3a\3cwv\3e(\22IMPS\22)")]
    [InlineData(@"\3and\2is\5cool", @"\5c3and\2is\5c5cool")]
    [InlineData(@"somenick!user""&'/:<>\3address", @"somenick!user\22\26\27\2f\3a\3c\3e\5c3address")]
    // §4.3: partial and invalid sequences are modified neither way.
    [InlineData(@"\2plus\2is\4", @"\2plus\2is\4")]
    [InlineData(@"foo\bar", @"foo\bar")]
    [InlineData(@"foob\41r", @"foob\41r")]
    public void The_xep_examples_escape_and_unescape_as_written(string name, string localpart)
    {
        Assert.Equal(localpart, JidEscaping.Escape(name));
        Assert.Equal(name, JidEscaping.Unescape(localpart));
    }

    [Theory]
    [InlineData(@"a\2Fb", @"a\5c2Fb")]
    [InlineData(@"x\3Ay", @"x\5c3Ay")]
    [InlineData(@"\5C", @"\5c5C")]
    [InlineData(@"D\27Artagnan", @"D\5c27Artagnan")]
    public void Uppercase_look_alikes_are_no_sequences_but_their_backslash_is_escaped(string name, string escaped)
    {
        // §3.1: CASE IS SIGNIFICANT; §4.1 rule 3: only the specified sequences are unescaped.
        if (!name.Contains("\\27", StringComparison.Ordinal))
        {
            Assert.Equal(name, JidEscaping.Unescape(name));
        }
        // Escaping guards the backslash, so the localpart's case mapping cannot make a sequence of it.
        Assert.Equal(escaped, JidEscaping.Escape(name));
        Assert.Equal(name, JidEscaping.Unescape(escaped));
        Assert.Equal(name.ToLowerInvariant(), JidEscaping.Unescape(Jid.Create(escaped, "example.com").Local!));
    }

    [Fact]
    public void After_the_localpart_case_mapping_a_name_unescapes_to_its_lowercase_never_to_another_character()
    {
        var chars = Gen.Elements('a', 'Z', '0', ' ', '"', '&', '\'', '/', ':', '<', '>', '@', '\\', '2', '5', 'c', 'C', 'f', 'F', 'a', 'A', '3');
        var names = chars.ListOf().Select(l => new string([.. l])).Where(s => s.Length is > 0 and < 100 && s.Trim().Length == s.Length);
        Prop.ForAll(Arb.From(names), name =>
        {
            var local = Jid.Create(JidEscaping.Escape(name), "events.example.com").Local!;
            Assert.Equal(name.ToLowerInvariant(), JidEscaping.Unescape(local));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Fact]
    public void Any_name_escapes_to_a_valid_localpart_that_unescapes_back()
    {
        var chars = Gen.Elements('a', 'Z', '0', '.', '-', ' ', '"', '&', '\'', '/', ':', '<', '>', '@', '\\', '2', '5', 'c', 'f', 'F', 'C', 'é');
        var names = chars.ListOf().Select(l => new string([.. l])).Where(s => s.Length is > 0 and < 200 && s.Trim().Length == s.Length);
        Prop.ForAll(Arb.From(names), name =>
        {
            var local = JidEscaping.Escape(name);
            Assert.True(Jid.TryParse(local + "@events.example.com", out _), local);
            Assert.Equal(name, JidEscaping.Unescape(local));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    [Theory]
    [InlineData(" space cadet", "begin")]
    [InlineData("space cadet ", "end")]
    [InlineData(" ", "begin")]
    [InlineData("  juliet  ", "begin")]
    public void A_name_that_would_begin_or_end_with_an_escaped_space_is_refused(string name, string where)
    {
        // XEP-0106 §3.1: an escaped localpart must not begin or end with \20.
        Assert.False(JidEscaping.TryEscape(name, out var localpart, out var error));
        Assert.Null(localpart);
        Assert.Contains("must not " + where + @" with \20 (XEP-0106 §3.1)", error, StringComparison.Ordinal);
        var thrown = Assert.Throws<JidFormatException>(() => JidEscaping.Escape(name));
        Assert.Equal(error, thrown.Reason);
    }

    [Theory]
    [InlineData("space cadet", @"space\20cadet")] // XEP-0106 §5.1: a space inside stays escapable
    [InlineData(@"c:\cool stuff", @"c\3a\cool\20stuff")]
    [InlineData(@"\20juliet", @"\5c20juliet")] // a literal \20 is not a space: its backslash is escaped
    public void Spaces_inside_a_name_are_escaped(string name, string expected)
    {
        Assert.True(JidEscaping.TryEscape(name, out var localpart, out var error), error);
        Assert.Equal(expected, localpart);
    }

    [Fact]
    public void No_escaped_localpart_begins_or_ends_with_an_escaped_space()
    {
        var chars = Gen.Elements('a', ' ', '\\', '2', '0', '@', 'c', '5');
        var names = chars.ListOf().Select(l => new string([.. l]));
        Prop.ForAll(Arb.From(names), name =>
        {
            var refused = name.Length > 0 && (name[0] == ' ' || name[^1] == ' ');
            Assert.Equal(!refused, JidEscaping.TryEscape(name, out var localpart, out _));
            if (localpart is not null)
            {
                Assert.False(localpart.StartsWith(@"\20", StringComparison.Ordinal) || localpart.EndsWith(@"\20", StringComparison.Ordinal), localpart);
                Assert.Equal(name, JidEscaping.Unescape(localpart));
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(500));
    }

    private static ResultSetRequest? Read(string set)
    {
        var query = XElement.Parse($"<query xmlns='http://jabber.org/protocol/disco#items'>{set}</query>");
        Assert.True(ResultSetRequest.TryRead(query, out var request, out var error), error);
        return request;
    }

    [Fact]
    public void Reads_requests_and_refuses_malformed_ones()
    {
        Assert.Null(Read(""));
        Assert.Equal(new ResultSetRequest(10, null, null, null), Read("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max></set>"));
        Assert.Equal(new ResultSetRequest(10, "b", null, null), Read("<set xmlns='http://jabber.org/protocol/rsm'><max>10</max><after>b</after></set>"));
        Assert.Equal(new ResultSetRequest(5, null, "", null), Read("<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><before/></set>"));
        Assert.Equal(new ResultSetRequest(5, null, null, 40), Read("<set xmlns='http://jabber.org/protocol/rsm'><max>5</max><index>40</index></set>"));
        foreach (var bad in new[] { "<max>-1</max>", "<max>ten</max>", "<index>x</index>", "<after/>", "<after>a</after><before>b</before>" })
        {
            var query = XElement.Parse($"<query><set xmlns='http://jabber.org/protocol/rsm'>{bad}</set></query>");
            Assert.False(ResultSetRequest.TryRead(query, out _, out var error), bad);
            Assert.NotNull(error);
        }
    }

    [Fact]
    public void Cuts_pages_after_before_and_at_an_index_with_first_last_and_count()
    {
        var uids = Enumerable.Range(0, 25).Select(i => "u" + i.ToString("00", System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.True(ResultPage.TryCut(new ResultSetRequest(10, null, null, null), uids, 1000, out var first, out _));
        Assert.Equal(new ResultPage(0, 10, 25), first);
        var set = first.ToElement(uids);
        Assert.Equal("u00", set.Element(Rsm + "first")!.Value);
        Assert.Equal("0", (string?)set.Element(Rsm + "first")!.Attribute("index"));
        Assert.Equal("u09", set.Element(Rsm + "last")!.Value);
        Assert.Equal("25", set.Element(Rsm + "count")!.Value);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(10, "u19", null, null), uids, 1000, out var last, out _));
        Assert.Equal(new ResultPage(20, 5, 25), last);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(10, null, "", null), uids, 1000, out var tail, out _));
        Assert.Equal(new ResultPage(15, 10, 25), tail);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(10, null, "u05", null), uids, 1000, out var head, out _));
        Assert.Equal(new ResultPage(0, 5, 25), head);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(3, null, null, 22), uids, 1000, out var at, out _));
        Assert.Equal(new ResultPage(22, 3, 25), at);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(0, null, null, null), uids, 1000, out var countOnly, out _));
        Assert.Equal(new ResultPage(0, 0, 25), countOnly);
        Assert.Null(countOnly.ToElement(uids).Element(Rsm + "first"));
        Assert.True(ResultPage.TryCut(null, uids, 7, out var capped, out _));
        Assert.Equal(new ResultPage(0, 7, 25), capped);
        Assert.True(ResultPage.TryCut(new ResultSetRequest(5000, null, null, null), uids, 7, out capped, out _));
        Assert.Equal(7, capped.Length);
        Assert.False(ResultPage.TryCut(new ResultSetRequest(10, "nope", null, null), uids, 1000, out _, out var error));
        Assert.Equal(Stanzas.StanzaErrorCondition.ItemNotFound, error.Condition);
    }

    [Fact]
    public void Walking_with_after_visits_every_item_once_in_order()
    {
        Prop.ForAll(Arb.From(Gen.Choose(0, 60)), Arb.From(Gen.Choose(1, 15)), (n, max) =>
        {
            var uids = Enumerable.Range(0, n).Select(i => "x" + i.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
            var seen = new List<string>();
            string? after = null;
            while (true)
            {
                Assert.True(ResultPage.TryCut(new ResultSetRequest(max, after, null, null), uids, 1000, out var page, out _));
                Assert.Equal(n, page.Count);
                if (page.Length == 0)
                {
                    break;
                }
                seen.AddRange(uids.Skip(page.Start).Take(page.Length));
                after = uids[page.Start + page.Length - 1];
            }
            Assert.Equal(uids, seen);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(200));
    }
}
