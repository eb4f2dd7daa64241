using System.Buffers;
using System.Globalization;
using System.Text;
using Aggregators.ImapBridge.Imap;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.ImapBridge.Tests;

/// <summary>Random responses written the way a server would, then parsed back; random bytes never crash the parser.</summary>
public class ResponsePropertyTests
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<uint?> OptionalNumber(int max) =>
        Gen.OneOf(Gen.Constant<uint?>(null), Gen.Choose(1, max).Select(i => (uint?)i));

    private static Gen<string> Mailboxes() =>
        ModifiedUtf7Tests.Names().Where(n => n.Length > 0 && !string.Equals(n, "INBOX", StringComparison.OrdinalIgnoreCase));

    /// <summary>A mailbox as a server writes it: modified UTF-7, then atom, quoted or literal.</summary>
    private static string Wire(string mailbox, int style)
    {
        var encoded = ModifiedUtf7.Encode(mailbox);
        return style switch
        {
            0 when encoded.All(c => c is > ' ' and < '\x7F' and not ('(' or ')' or '{' or '%' or '*' or '"' or '\\')) => encoded,
            1 => "\"" + encoded.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"",
            _ => $"{{{Encoding.UTF8.GetByteCount(encoded)}}}\r\n{encoded}",
        };
    }

    [Fact]
    public void Status_responses_round_trip() =>
        Prop.ForAll(
            Arb.From(Mailboxes().SelectMany(m => Gen.Choose(0, 2).Select(style => (m, style)))),
            Arb.From(OptionalNumber(int.MaxValue).SelectMany(messages => OptionalNumber(1000).SelectMany(unseen =>
                OptionalNumber(int.MaxValue).Select(uidnext => new ImapStatusItems { Messages = messages, Unseen = unseen, UidNext = uidnext })))),
            (mailbox, items) =>
            {
                var parts = new List<string>();
                if (items.Messages is { } m) parts.Add($"MESSAGES {m}");
                if (items.Unseen is { } u) parts.Add($"UNSEEN {u}");
                if (items.UidNext is { } n) parts.Add($"UIDNEXT {n}");
                var line = $"* STATUS {Wire(mailbox.m, mailbox.style)} ({string.Join(' ', parts)})\r\n";
                var parsed = Assert.IsType<ImapStatusResponse>(ParseHelper.Parse(line));
                return parsed.Mailbox == mailbox.m && parsed.Items == items;
            }).Check(Config);

    [Fact]
    public void Fetch_responses_round_trip()
    {
        var flags = Gen.Elements("\\Seen", "\\Answered", "\\Flagged", "\\Deleted", "\\Draft", "$Forwarded", "$Junk", "NonJunk", "custom_1")
            .ListOf().Select(f => f.Distinct().ToArray());
        var fetches = Gen.Choose(1, int.MaxValue).SelectMany(seq => Gen.Choose(1, int.MaxValue).SelectMany(uid =>
            flags.SelectMany(f => Gen.Choose(0, int.MaxValue).Select(size => (seq: (uint)seq, uid: (uint)uid, f, size)))));
        Prop.ForAll(Arb.From(fetches), x =>
        {
            var line = string.Create(CultureInfo.InvariantCulture,
                $"* {x.seq} FETCH (UID {x.uid} FLAGS ({string.Join(' ', x.f)}) RFC822.SIZE {x.size})\r\n");
            var parsed = Assert.IsType<ImapFetchResponse>(ParseHelper.Parse(line));
            return parsed.SequenceNumber == x.seq && parsed.Uid == x.uid && parsed.Rfc822Size == x.size
                && parsed.Flags!.SequenceEqual(x.f, StringComparer.OrdinalIgnoreCase);
        }).Check(Config);
    }

    [Fact]
    public void List_responses_round_trip()
    {
        var attributes = Gen.Elements("\\HasChildren", "\\HasNoChildren", "\\Noselect", "\\Subscribed", "\\Sent", "\\NonExistent")
            .ListOf().Select(a => a.Distinct().ToArray());
        var delimiters = Gen.Elements<char?>('/', '.', '\\', '"', null);
        var lists = Mailboxes().SelectMany(m => Gen.Choose(0, 2).SelectMany(style => attributes.SelectMany(a => delimiters.Select(d => (m, style, a, d)))));
        Prop.ForAll(Arb.From(lists), x =>
        {
            var delimiter = x.d switch
            {
                null => "NIL",
                '\\' or '"' => $"\"\\{x.d}\"",
                _ => $"\"{x.d}\"",
            };
            var line = $"* LIST ({string.Join(' ', x.a)}) {delimiter} {Wire(x.m, x.style)}\r\n";
            var parsed = Assert.IsType<ImapListResponse>(ParseHelper.Parse(line));
            return parsed.Mailbox == x.m && parsed.Delimiter == x.d && parsed.Attributes.SequenceEqual(x.a);
        }).Check(Config);
    }

    /// <summary>Arbitrary bytes: the framer and parser either succeed or throw ImapProtocolException, nothing else.</summary>
    [Fact]
    public void Random_bytes_never_throw_anything_but_protocol_errors()
    {
        var tokens = Gen.Elements("* ", "A1 ", "OK ", "FETCH ", "(", ")", "{3}\r\n", "~{2}\r\n", "\"", "\\", "NIL", " ", "\r\n", "\n", "\0",
            "12", "4294967296", "[", "]", "LIST ", "STATUS ", "\\Seen", "é", "&Jjo-", "+ ", "BODY[", "<1>");
        var inputs = tokens.ListOf().Select(t => Encoding.UTF8.GetBytes(string.Concat(t)));
        var limits = new ImapLimits { MaxLineLength = 200, MaxLiteralSize = 100, MaxNesting = 5 };
        Prop.ForAll(Arb.From(inputs), bytes =>
        {
            var sequence = new ReadOnlySequence<byte>(bytes);
            try
            {
                while (ImapResponseFramer.TryFindEnd(sequence, limits, out var end))
                {
                    ImapResponseParser.Parse(sequence.Slice(0, end), limits);
                    sequence = sequence.Slice(end);
                }
            }
            catch (ImapProtocolException)
            {
                // the one expected failure
            }
            return true;
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(3000));
    }

    [Fact]
    public void Rfc5465_and_rfc5819_examples()
    {
        var s = Assert.IsType<ImapStatusResponse>(ParseHelper.Parse("* STATUS Lists/Lemonade (UIDVALIDITY 4 UIDNEXT 9999 MESSAGES 500)\r\n"));
        Assert.Equal("Lists/Lemonade", s.Mailbox);
        Assert.Equal(4u, s.Items.UidValidity);
        Assert.Equal(9999u, s.Items.UidNext);
        Assert.Equal(500u, s.Items.Messages);
        Assert.Equal("OldMailbox", Assert.IsType<ImapListResponse>(ParseHelper.Parse("* LIST () \"/\" \"NewMailbox\" (\"OLDNAME\" (\"OldMailbox\"))\r\n")).OldName);
        Assert.Equal("NOTIFICATIONOVERFLOW", Assert.IsType<ImapUntaggedStatusResponse>(ParseHelper.Parse("* OK [NOTIFICATIONOVERFLOW] ...A0000 Lots of events.\r\n")).Code!.Name);
        Assert.Equal(29u, Assert.IsType<ImapStatusResponse>(ParseHelper.Parse("* STATUS \"foo\" (MESSAGES 30 UNSEEN 29)\r\n")).Items.Unseen);
        Assert.True(Assert.IsType<ImapListResponse>(ParseHelper.Parse("* LIST (\\NoSelect) \".\" \"bar\"\r\n")).HasAttribute("\\Noselect"));
    }
}
