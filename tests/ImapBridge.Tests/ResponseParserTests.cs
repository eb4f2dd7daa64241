using System.Buffers;
using System.Text;
using Aggregators.ImapBridge.Imap;
using static Aggregators.ImapBridge.Tests.ParseHelper;

namespace Aggregators.ImapBridge.Tests;

/// <summary>Response examples from RFC 3501 §7, RFC 5465, RFC 4314, RFC 5819, RFC 2342, RFC 5258, parsed exactly.</summary>
public class ResponseParserTests
{
    [Fact]
    public void Tagged_ok_with_code_and_text()
    {
        var r = Parse<ImapTaggedResponse>("A142 OK [READ-WRITE] SELECT completed\r\n");
        Assert.Equal("A142", r.Tag);
        Assert.Equal(ImapStatus.Ok, r.Status);
        Assert.Equal("READ-WRITE", r.Code!.Name);
        Assert.Equal("SELECT completed", r.Text);
    }

    [Fact]
    public void Tagged_no_and_bad()
    {
        Assert.Equal(ImapStatus.No, Parse<ImapTaggedResponse>("a1 NO [AUTHENTICATIONFAILED] Authentication failed.\r\n").Status);
        var bad = Parse<ImapTaggedResponse>("a2 BAD Error in IMAP command: Unknown\r\n");
        Assert.Equal(ImapStatus.Bad, bad.Status);
        Assert.Null(bad.Code);
    }

    [Theory]
    [InlineData("* OK [UIDVALIDITY 3857529045] UIDs valid\r\n", "UIDVALIDITY", 3857529045L)]
    [InlineData("* OK [UIDNEXT 4392] Predicted next UID\r\n", "UIDNEXT", 4392L)]
    [InlineData("* OK [UNSEEN 12] Message 12 is first unseen\r\n", "UNSEEN", 12L)]
    [InlineData("* OK [HIGHESTMODSEQ 715194045007] Highest\r\n", "HIGHESTMODSEQ", 715194045007L)]
    public void Numeric_response_codes(string line, string name, long value)
    {
        var r = Parse<ImapUntaggedStatusResponse>(line);
        Assert.Equal(name, r.Code!.Name);
        Assert.Equal(value, r.Code.Number);
    }

    [Fact]
    public void Permanentflags_capability_badevent_and_overflow_codes()
    {
        var p = Parse<ImapUntaggedStatusResponse>("* OK [PERMANENTFLAGS (\\Deleted \\Seen \\*)] Limited\r\n");
        Assert.Equal(["\\Deleted", "\\Seen", "\\*"], p.Code!.Items!);
        var c = Parse<ImapUntaggedStatusResponse>("* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ AUTH=PLAIN] Dovecot ready.\r\n");
        Assert.Contains("LITERAL+", c.Code!.Items!);
        Assert.Contains("AUTH=PLAIN", c.Code.Items!);
        // RFC 5465 §8
        var b = Parse<ImapTaggedResponse>("a NO [BADEVENT (MessageNew MessageExpunge FlagChange AnnotationChange)] Unsupported\r\n");
        Assert.Equal(["MessageNew", "MessageExpunge", "FlagChange", "AnnotationChange"], b.Code!.Items!);
        var o = Parse<ImapUntaggedStatusResponse>("* OK [NOTIFICATIONOVERFLOW] ...A0000 Lots of events\r\n");
        Assert.Equal("NOTIFICATIONOVERFLOW", o.Code!.Name);
        var u = Parse<ImapTaggedResponse>("A003 OK [APPENDUID 38505 3955] APPEND completed\r\n");
        Assert.Equal("38505 3955", u.Code!.Text);
        Assert.Equal("imap://ü.example/", Parse<ImapTaggedResponse>("A4 NO [REFERRAL imap://ü.example/] elsewhere\r\n").Code!.Text);
    }

    [Fact]
    public void Untagged_status_responses()
    {
        Assert.Equal(ImapStatus.Bye, Parse<ImapUntaggedStatusResponse>("* BYE Autologout; idle for too long\r\n").Status);
        Assert.Equal(ImapStatus.PreAuth, Parse<ImapUntaggedStatusResponse>("* PREAUTH IMAP4rev1 server logged in as Smith\r\n").Status);
        Assert.Equal("", Parse<ImapUntaggedStatusResponse>("* OK\r\n").Text);
        Assert.Equal("Hello", Parse<ImapUntaggedStatusResponse>("* OK [ALERT] Hello\r\n").Text);
    }

    [Fact]
    public void Capability_flags_and_counts()
    {
        Assert.Equal(["IMAP4rev1", "STARTTLS", "AUTH=GSSAPI", "LOGINDISABLED"],
            Parse<ImapCapabilityResponse>("* CAPABILITY IMAP4rev1 STARTTLS AUTH=GSSAPI LOGINDISABLED\r\n").Capabilities);
        Assert.Equal(["\\Answered", "\\Flagged", "\\Deleted", "\\Seen", "\\Draft"],
            Parse<ImapFlagsResponse>("* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n").Flags);
        Assert.Equal(23u, Parse<ImapExistsResponse>("* 23 EXISTS\r\n").Count);
        Assert.Equal(0u, Parse<ImapExistsResponse>("* 0 EXISTS\r\n").Count);
        Assert.Equal(5u, Parse<ImapRecentResponse>("* 5 RECENT\r\n").Count);
        Assert.Equal(44u, Parse<ImapExpungeResponse>("* 44 EXPUNGE\r\n").SequenceNumber);
        Assert.Equal(["CONDSTORE"], Parse<ImapEnabledResponse>("* ENABLED CONDSTORE\r\n").Capabilities);
    }

    [Fact]
    public void List_responses_with_delimiters_and_extended_data()
    {
        var l = Parse<ImapListResponse>("* LIST (\\Noselect) \"/\" ~/Mail/foo\r\n");
        Assert.Equal(["\\Noselect"], l.Attributes);
        Assert.Equal('/', l.Delimiter);
        Assert.Equal("~/Mail/foo", l.Mailbox);
        var n = Parse<ImapListResponse>("* LIST (\\Noselect) NIL \"\"\r\n");
        Assert.Null(n.Delimiter);
        Assert.Equal("", n.Mailbox);
        var e = Parse<ImapListResponse>("* LIST () \"\\\\\" inbox\r\n");
        Assert.Equal('\\', e.Delimiter);
        Assert.Equal("INBOX", e.Mailbox);
        // RFC 5258 §5
        var c = Parse<ImapListResponse>("* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n");
        Assert.Equal(["SUBSCRIBED"], c.ChildInfo!);
        // RFC 5465 §5.4 and Dovecot's form (testbed notes)
        var r = Parse<ImapListResponse>("* LIST () \"/\" NewMailbox (\"OLDNAME\" (\"OldMailbox\"))\r\n");
        Assert.Equal("OldMailbox", r.OldName);
        Assert.Equal("Old", Parse<ImapListResponse>("* LIST () \"/\" New (\"OLDNAME\" (Old))\r\n").OldName);
        Assert.True(Parse<ImapListResponse>("* LIST (\\NonExistent) \"/\" Gone\r\n").HasAttribute("\\nonexistent"));
        var lsub = Parse<ImapListResponse>("* LSUB () \".\" #news.comp.mail.misc\r\n");
        Assert.True(lsub.IsLsub);
        Assert.Equal("Entwürfe", Parse<ImapListResponse>("* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n").Mailbox);
    }

    [Fact]
    public void Status_including_list_status_and_partial_notify_pushes()
    {
        var s = Parse<ImapStatusResponse>("* STATUS blurdybloop (MESSAGES 231 UIDNEXT 44292)\r\n");
        Assert.Equal("blurdybloop", s.Mailbox);
        Assert.Equal(231u, s.Items.Messages);
        Assert.Equal(44292u, s.Items.UidNext);
        Assert.Null(s.Items.Unseen);
        var full = Parse<ImapStatusResponse>("* STATUS Other (MESSAGES 5 UIDNEXT 6 UNSEEN 5 HIGHESTMODSEQ 6)\r\n").Items;
        var delta = Parse<ImapStatusResponse>("* STATUS Other (UNSEEN 4 HIGHESTMODSEQ 7)\r\n").Items;
        var merged = full.Merge(delta);
        Assert.Equal(5u, merged.Messages);
        Assert.Equal(4u, merged.Unseen);
        Assert.Equal(7ul, merged.HighestModSeq);
        Assert.Equal(6u, merged.UidNext);
        Assert.Equal(0u, Parse<ImapStatusResponse>("* STATUS \"a b\" ()\r\n".Replace("()", "(MESSAGES 0)", StringComparison.Ordinal)).Items.Messages);
    }

    [Fact]
    public void Fetch_with_flags_uid_size_internaldate_modseq()
    {
        var f = Parse<ImapFetchResponse>("* 12 FETCH (UID 4827313 FLAGS (\\Seen $Junk) RFC822.SIZE 44827 INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" MODSEQ (12121231000))\r\n");
        Assert.Equal(12u, f.SequenceNumber);
        Assert.Equal(4827313u, f.Uid);
        Assert.Equal(["\\Seen", "$Junk"], f.Flags!);
        Assert.Equal(44827, f.Rfc822Size);
        Assert.Equal(new DateTimeOffset(1996, 7, 17, 2, 44, 25, TimeSpan.FromHours(-7)), f.InternalDate);
        Assert.Equal(12121231000ul, f.ModSeq);
        Assert.Equal(new DateTimeOffset(2024, 1, 5, 9, 0, 0, TimeSpan.Zero),
            Parse<ImapFetchResponse>("* 1 FETCH (INTERNALDATE \" 5-Jan-2024 09:00:00 +0000\")\r\n").InternalDate);
    }

    [Fact]
    public void Fetch_envelope_from_rfc3501()
    {
        const string line = "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n";
        var f = Parse<ImapFetchResponse>(line);
        var e = f.Envelope!;
        Assert.Equal("IMAP4rev1 WG mtg summary and minutes", e.Subject);
        Assert.Equal("Terry Gray", e.From[0].Name);
        Assert.Equal("gray@cac.washington.edu", e.From[0].ToString());
        Assert.Equal(2, e.Cc.Count);
        Assert.Equal("KLENSIN", e.Cc[1].Mailbox);
        Assert.Empty(e.Bcc);
        Assert.Null(e.InReplyTo);
        Assert.Equal("<B27397-0100000@cac.washington.edu>", e.MessageId);
        Assert.Equal("BODY", Assert.Single(f.Other).Key);
    }

    [Fact]
    public void Fetch_with_literal_and_section()
    {
        var f = Parse<ImapFetchResponse>("* 2 FETCH (BODY[HEADER.FIELDS (SUBJECT)] {19}\r\nSubject: hi there\r\n UID 7)\r\n");
        Assert.Equal(7u, f.Uid);
        var (name, value) = Assert.Single(f.Other);
        Assert.Equal("BODY[HEADER.FIELDS (SUBJECT)]", name);
        Assert.Equal("Subject: hi there\r\n", value.Text);
        var b = Parse<ImapFetchResponse>("* 3 FETCH (BINARY[1] ~{3}\r\na\0b)\r\n");
        Assert.Equal("a\0b", b.Other[0].Value.Text);
    }

    [Fact]
    public void Quoted_strings_with_escapes_and_literals_as_names()
    {
        Assert.Equal("a\"b\\c", Parse<ImapListResponse>("* LIST () \"/\" \"a\\\"b\\\\c\"\r\n").Mailbox);
        Assert.Equal("two lines", Parse<ImapListResponse>("* LIST () \"/\" {9}\r\ntwo lines\r\n").Mailbox);
        // CR LF cannot be part of a modified UTF-7 name: a precise error, not a garbled name.
        Assert.Contains("must be encoded", Fails("* LIST () \"/\" {10}\r\ntwo\r\nlines\r\n").Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Namespace_from_rfc2342()
    {
        var n = Parse<ImapNamespaceResponse>("* NAMESPACE ((\"\" \"/\")) ((\"~\" \"/\")) ((\"#shared/\" \"/\")(\"#public/\" \"/\")(\"#ftp/\" \"/\")(\"#news.\" \".\"))\r\n");
        Assert.Equal(new ImapNamespace("", '/'), Assert.Single(n.Personal));
        Assert.Equal("~", n.OtherUsers[0].Prefix);
        Assert.Equal(4, n.Shared.Count);
        Assert.Equal('.', n.Shared[3].Delimiter);
        var d = Parse<ImapNamespaceResponse>("* NAMESPACE ((\"\" \".\" \"X-PARAM\" (\"FLAG1\" \"FLAG2\"))) NIL NIL\r\n");
        Assert.Empty(d.OtherUsers);
        Assert.Equal('.', d.Personal[0].Delimiter);
    }

    [Fact]
    public void Acl_responses_from_rfc4314()
    {
        var acl = Parse<ImapAclResponse>("* ACL INBOX Fred rwipslxetad -Fred wetd $team w\r\n");
        Assert.Equal("INBOX", acl.Mailbox);
        Assert.Equal(3, acl.Entries.Count);
        Assert.Equal(new KeyValuePair<string, string>("-Fred", "wetd"), acl.Entries[1]);
        var my = Parse<ImapMyRightsResponse>("* MYRIGHTS INBOX rwiptsldaex\r\n");
        Assert.Equal("rwiptsldaex", my.Rights);
        var lr = Parse<ImapListRightsResponse>("* LISTRIGHTS ~/Mail/saved smith la r swicdkxte\r\n");
        Assert.Equal("smith", lr.Identifier);
        Assert.Equal("la", lr.RequiredRights);
        Assert.Equal(["r", "swicdkxte"], lr.OptionalRights);
        Assert.Equal("\"\"", Parse<ImapListRightsResponse>("* LISTRIGHTS archive/imap anyone \"\" l r w\r\n").RequiredRights is "" ? "\"\"" : "x");
    }

    [Fact]
    public void Search_esearch_vanished()
    {
        Assert.Equal([2u, 84u, 882u], Parse<ImapSearchResponse>("* SEARCH 2 84 882\r\n").Numbers);
        Assert.Empty(Parse<ImapSearchResponse>("* SEARCH\r\n").Numbers);
        Assert.Equal(917162500ul, Parse<ImapSearchResponse>("* SEARCH 2 5 6 7 11 12 18 19 20 23 (MODSEQ 917162500)\r\n").ModSeq);
        var es = Parse<ImapESearchResponse>("* ESEARCH (TAG \"A282\") UID MIN 2 COUNT 3 ALL 2,10:11\r\n");
        Assert.Equal("A282", es.Tag);
        Assert.True(es.Uid);
        Assert.Equal(2u, es.Min);
        Assert.Equal(3u, es.Count);
        Assert.Equal([2u, 10u, 11u], es.All!.Enumerate());
        var v = Parse<ImapVanishedResponse>("* VANISHED (EARLIER) 300:310,405,411\r\n");
        Assert.True(v.Earlier);
        Assert.Equal(13, v.Uids.Enumerate().Count());
        Assert.False(Parse<ImapVanishedResponse>("* VANISHED 405\r\n").Earlier);
    }

    [Fact]
    public void Continuations()
    {
        Assert.Equal("Ready for additional command text", Parse<ImapContinuationResponse>("+ Ready for additional command text\r\n").Text);
        Assert.Equal("", Parse<ImapContinuationResponse>("+\r\n").Text);
        Assert.Equal("idling", Parse<ImapContinuationResponse>("+ idling\r\n").Text);
    }

    [Fact]
    public void Unknown_untagged_responses_are_kept_generically()
    {
        var g = Parse<ImapGenericUntaggedResponse>("* METADATA INBOX (/private/comment \"My comment\")\r\n");
        Assert.Equal("METADATA", g.Name);
        Assert.Equal(2, g.Data.Count);
        Assert.Equal("/private/comment", g.Data[1].Items![0].Text);
        var q = Parse<ImapGenericUntaggedResponse>("* 5 XTHING 1:3\r\n");
        Assert.Equal(5u, q.Number);
    }

    [Fact]
    public void Rfc3501_section8_sample_server_lines_all_parse()
    {
        string[] lines =
        [
            "* OK IMAP4rev1 Service Ready\r\n",
            "a001 OK LOGIN completed\r\n",
            "* 18 EXISTS\r\n",
            "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)\r\n",
            "* 2 RECENT\r\n",
            "* OK [UNSEEN 17] Message 17 is the first unseen message\r\n",
            "* OK [UIDVALIDITY 3857529045] UIDs valid\r\n",
            "a002 OK [READ-WRITE] SELECT completed\r\n",
            "* 12 FETCH (FLAGS (\\Seen) INTERNALDATE \"17-Jul-1996 02:44:25 -0700\" RFC822.SIZE 4286 ENVELOPE (\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\" ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\")) ((NIL NIL \"imap\" \"cac.washington.edu\")) ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\")) NIL NIL \"<B27397-0100000@cac.washington.edu>\") BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 3028 92))\r\n",
            "a003 OK FETCH completed\r\n",
            "* 12 FETCH (BODY[HEADER] {342}\r\n" + new string('x', 340) + "\r\n)\r\n",
            "a004 OK FETCH completed\r\n",
            "* 12 FETCH (FLAGS (\\Seen \\Deleted))\r\n",
            "a005 OK +FLAGS completed\r\n",
            "* BYE IMAP4rev1 server terminating connection\r\n",
            "a006 OK LOGOUT completed\r\n",
        ];
        foreach (var line in lines)
        {
            Assert.NotNull(Parse(line));
        }
    }

    [Fact]
    public void Response_split_in_pieces_is_framed_only_when_complete()
    {
        var bytes = Encoding.ASCII.GetBytes("* 1 FETCH (BODY[] {5}\r\nhello UID 9)\r\n");
        for (var cut = 0; cut < bytes.Length; cut++)
        {
            var partial = new ReadOnlySequence<byte>(bytes, 0, cut);
            Assert.False(ImapResponseFramer.TryFindEnd(partial, ImapLimits.Default, out _), $"cut at {cut}");
        }
        // Spread over many segments: the parse must see the same thing.
        var seq = Segments.Split(bytes, 3);
        Assert.True(ImapResponseFramer.TryFindEnd(seq, ImapLimits.Default, out var end));
        Assert.Equal(9u, Assert.IsType<ImapFetchResponse>(ImapResponseParser.Parse(seq.Slice(0, end), ImapLimits.Default)).Uid);
    }
}
