using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.EventModel.Tests;

/// <summary>FsCheck generators of valid model values.</summary>
internal static class Generators
{
    // Pieces that exercise escaping: JSON specials, URL specials, non-ASCII, surrogate pairs.
    private static readonly string[] LineChunks =
    [
        "a", "Z", "0", "9", " ", "\t", "\"", "\\", "ä", "€", "😀", "日本", "<", ">", "&", "'", "/", "%", ";", "?",
        "#", "@", ":", "+", "=", "~", ".", "-", "_", "*", "(", ")", "[", "]", "{", "}", ",", "!", "$", "%2F", "%25",
    ];

    private static readonly string[] TextChunks = [.. LineChunks, "\r\n", "\n", "\u0001"];

    public static Gen<string> Chunks(string[] chunks, int min, int max) =>
        Gen.Choose(min, max).SelectMany(n => Gen.ArrayOf(Gen.Elements(chunks), n)).Select(parts => string.Concat(parts));

    public static Gen<string> Line(int min = 1, int max = 12) => Chunks(LineChunks, min, max);

    public static Gen<string> Text => Chunks(TextChunks, 0, 20);

    public static Gen<T?> Opt<T>(Gen<T> gen) where T : struct =>
        Gen.Frequency((1, Gen.Constant<T?>(null)), (2, gen.Select(x => (T?)x)));

    public static Gen<T?> OptRef<T>(Gen<T> gen) where T : class =>
        Gen.Frequency((1, Gen.Constant<T?>(null)), (2, gen.Select(x => (T?)x)));

    public static Gen<uint> UInt32 => Gen.Frequency(
        (3, Gen.Choose(0, 1000).Select(i => (uint)i)),
        (1, Gen.Elements(0u, 1u, uint.MaxValue, uint.MaxValue - 1)),
        (2, Gen.Choose(0, int.MaxValue).Select(i => (uint)i * 2 + 1)));

    public static Gen<uint> NzNumber => UInt32.Select(u => u == 0 ? 1 : u);

    public static Gen<ulong> UInt64 => Gen.Two(UInt32).Select(p => ((ulong)p.Item1 << 32) | p.Item2);

    public static Gen<int> Port => Gen.Choose(0, 65535);

    /// <summary>Mailbox segments: any text without control characters (may contain '/' and '%').</summary>
    public static Gen<string> Segment => Line(1, 6).Where(s => !s.Contains('\t', StringComparison.Ordinal));

    /// <summary>Text for URL parts: no control characters (not even TAB), which URLs cannot carry.</summary>
    public static Gen<string> UrlText(int max) => Line(1, max).Where(s => !s.Contains('\t', StringComparison.Ordinal));

    public static Gen<MailboxPath> Path =>
        Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Segment, n))
            .Select(segments => MailboxPath.FromSegments(segments));

    public static Gen<AccountId> Account =>
        Gen.Zip(Gen.Elements("joe", "Jane.Doe", "a+b", "ünï", "x"), Gen.Elements("", "@example.com", "@Example.ORG", "@b.c"))
            .Select(p => AccountId.Parse(p.Item1 + p.Item2));

    public static Gen<string> Flag => Gen.OneOf(
        Gen.Elements("\\Seen", "\\Flagged", "\\Answered", "\\Deleted", "\\Draft", "\\Recent", "$Junk", "$Label1", "NonJunk", "$MDNSent"),
        Gen.ArrayOf(Gen.Elements("a", "B", "$", "!", "#", "&", "'", "+", ",", "-", ".", "/", ":", ";", "<", "=", ">", "?", "@", "[", "^", "_", "`", "|", "}", "~", "7"), 3)
            .Select(c => string.Concat(c)));

    public static Gen<string> Uidset =>
        Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Gen.OneOf(
                NzNumber.Select(u => u.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                Gen.Two(NzNumber).Select(p => $"{p.Item1}:{p.Item2}"),
                Gen.Constant("*"),
                NzNumber.Select(u => $"{u}:*")), n))
            .Select(items => string.Join(',', items));

    public static Gen<string> Id => Gen.Choose(1, 200).SelectMany(n =>
        Gen.ArrayOf(Gen.Choose('!', '~').Select(c => (char)c), n)).Select(c => new string(c));

    public static Gen<DateTimeOffset> Timestamp =>
        from seconds in Gen.Choose(0, int.MaxValue)
        from quarters in Gen.Choose(-14 * 4, 14 * 4)
        from ticks in Gen.Choose(0, 9_999_999)
        select new DateTimeOffset(new DateTime(2000, 1, 1).AddSeconds(seconds).AddTicks(ticks), TimeSpan.FromMinutes(quarters * 15));

    public static Gen<ImapUrl> Url =>
        from host in Gen.Elements("imap.example.com", "127.0.0.1", "[::1]", "[2001:db8::1]", "mail-1.example.org")
        from user in OptRef(UrlText(6))
        from auth in OptRef(Gen.OneOf(Gen.Elements("*", "PLAIN", "GSSAPI"), UrlText(4)))
        from port in Opt(Port)
        from mailbox in OptRef(UrlText(8))
        from uidValidity in Opt(NzNumber)
        from uid in Opt(NzNumber)
        from section in OptRef(Gen.OneOf(Gen.Elements("1", "1.2.MIME", "HEADER.FIELDS (From)"), UrlText(4)))
        from partialOffset in Opt(UInt32)
        from partialLength in Opt(NzNumber)
        from search in OptRef(Gen.OneOf(Gen.Elements("SUBJECT hello", "UNSEEN"), UrlText(4)))
        select mailbox is null
            ? new ImapUrl { Host = host, User = user, Auth = auth, Port = port }
            : new ImapUrl
            {
                Host = host, User = user, Auth = auth, Port = port, Mailbox = mailbox, UidValidity = uidValidity,
                Uid = uid,
                Section = uid is null ? null : section,
                PartialOffset = uid is null ? null : partialOffset,
                PartialLength = uid is null || partialOffset is null ? null : partialLength,
                Search = uid is null ? search : null,
            };

    public static Gen<VendorParameter[]> Vendor =>
        Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Gen.Elements(
                "1", "-2.5e3", "\"x\\u0041\\n\"", "[1,2]", "{\"a\":null}", "true", "null", "{\"k\" : [1, {\"z\":\"ä\"}]}", "[]", "{}"), n))
            .Select(values => values.Select((v, i) => new VendorParameter($"vnd.test.p{i}", v)).ToArray());

    private static Gen<MailEvent> With<T>(this Gen<MailEvent> gen, Gen<T> value, Func<MailEvent, T, MailEvent> apply) =>
        gen.SelectMany(e => value.Select(v => apply(e, v)));

    /// <summary>A valid event of any type, with any mix of optional parameters.</summary>
    public static Gen<MailEvent> Event =>
        (from type in Gen.Elements(MailEventTypes.All.ToArray())
         from account in Account
         from mailbox in Path
         from old in Path
         from flags in Gen.Choose(1, 4).SelectMany(n => Gen.ArrayOf(Flag, n))
         select new MailEvent
         {
             Type = type,
             Account = account,
             Mailbox = type.IsMailboxEvent() ? mailbox : MailboxPath.Root,
             OldMailbox = type == MailEventType.MailboxRename ? old : null,
             FlagNames = type is MailEventType.FlagsSet or MailEventType.FlagsClear ? flags : null,
         })
        .With(Opt(Gen.Zip(Gen.Two(UInt32), Gen.Two(UInt32))), (e, t) => e with { Totals = t is { } v ? new MailboxTotals(v.Item1.Item1, v.Item1.Item2, v.Item2.Item1, v.Item2.Item2) : null })
        .With(Gen.Elements(true, false), (e, v) => e with { Spam = v })
        .With(OptRef(Id), (e, v) => e with { Id = v })
        .With(Opt(Timestamp), (e, v) => e with { Timestamp = v })
        .With(OptRef(Line()), (e, v) => e with { Service = v })
        .With(OptRef(Gen.Elements("example.com", "b.c")), (e, v) => e with { ServerDomain = v })
        .With(OptRef(Line()), (e, v) => e with { ServerFqdn = v })
        .With(Opt(Port), (e, v) => e with { ServerPort = v })
        .With(OptRef(Gen.Elements("192.0.2.1", "::1", "2001:db8::7", "10.0.0.255")), (e, v) => e with { ClientIp = v })
        .With(Opt(Port), (e, v) => e with { ClientPort = v })
        .With(OptRef(Line()), (e, v) => e with { User = v })
        .With(OptRef(Line()), (e, v) => e with { Admin = v })
        .With(Opt(Gen.Choose(0, int.MaxValue)), (e, v) => e with { Pid = v })
        .With(OptRef(Line()), (e, v) => e with { Process = v })
        .With(OptRef(Url), (e, v) => e with { Uri = v?.ToString() })
        .With(OptRef(Url), (e, v) => e with { MailboxId = v?.ToString() })
        .With(OptRef(Url), (e, v) => e with { OldMailboxId = e.Type == MailEventType.MailboxRename ? v?.ToString() : null })
        .With(Opt(UInt32), (e, v) => e with { Uidnext = v })
        .With(Opt(UInt32), (e, v) => e with { UidValidity = v })
        .With(OptRef(Uidset), (e, v) => e with { Uidset = v })
        .With(Opt(UInt32), (e, v) => e with { Messages = v })
        .With(Opt(UInt64), (e, v) => e with { Modseq = v })
        .With(Opt(UInt32), (e, v) => e with { MaxMessages = v })
        .With(Opt(UInt64), (e, v) => e with { MessageSize = v })
        .With(Opt(UInt64), (e, v) => e with { DiskQuota = v })
        .With(Opt(UInt64), (e, v) => e with { DiskUsed = v })
        .With(OptRef(Gen.Choose(1, 3).SelectMany(n => Gen.ArrayOf(Flag, n))), (e, v) => e.FlagNames is null ? e with { FlagNames = v } : e)
        .With(OptRef(Gen.Choose(0, 3).SelectMany(n => Gen.ArrayOf(Line(), n))), (e, v) => e with { Tags = v })
        .With(OptRef(Text), (e, v) => e with { Envelope = v })
        .With(OptRef(Text), (e, v) => e with { BodyStructure = v })
        .With(OptRef(Text), (e, v) => e with { MessageContent = v })
        .With(OptRef(Line()), (e, v) => e with { From = v })
        .With(OptRef(Line()), (e, v) => e with { Subject = v })
        .With(OptRef(Vendor), (e, v) => e with { Vendor = v is { Length: > 0 } ? v : null });
}
