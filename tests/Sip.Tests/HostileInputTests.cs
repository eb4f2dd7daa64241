using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Aggregators.Sip.Framing;
using Aggregators.Sip.Parsing;
using FsCheck;
using FsCheck.Fluent;

namespace Aggregators.Sip.Tests;

/// <summary>Malformed and hostile input: always a SipParseException, never a crash or anything else.</summary>
public class HostileInputTests
{
    private static readonly byte[] Valid = Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi, Rfc3261ExampleTests.MwiBody);

    private static SipParseException Rejects(byte[] bytes, SipParserLimits? limits = null) =>
        Assert.Throws<SipParseException>(() => SipMessageParser.ParseDatagram(bytes, limits));

    private static byte[] WithHeader(string header) =>
        Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi.Replace("Max-Forwards: 70\n", header + "\n", StringComparison.Ordinal), Rfc3261ExampleTests.MwiBody);

    [Fact]
    public void Oversized_line_is_rejected_with_its_line_number()
    {
        var e = Rejects(WithHeader("X-Long: " + new string('a', 9000)));
        Assert.Equal(3, e.Line);
        Assert.Contains("longer than", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Header_flood_is_rejected()
    {
        var flood = string.Join("\n", Enumerable.Range(0, 200).Select(i => $"X-H{i}: v"));
        Assert.Contains("more than 128 headers", Rejects(WithHeader(flood)).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Datagram_over_64_KiB_is_rejected() =>
        Assert.Contains("larger than", Rejects(new byte[70_000]).Reason, StringComparison.Ordinal);

    [Fact]
    public void NUL_byte_in_a_header_is_rejected()
    {
        var bytes = WithHeader("Subject: a\0b");
        var e = Rejects(bytes);
        Assert.Equal(3, e.Line);
        Assert.Contains("NUL", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Invalid_UTF8_in_a_display_name_is_rejected()
    {
        var bytes = Valid.ToArray();
        var text = Encoding.Latin1.GetString(bytes).Replace("To: <sip:", "To: \"\u00C3\u0028\" <sip:", StringComparison.Ordinal);
        var e = Rejects(Encoding.Latin1.GetBytes(text));
        Assert.Equal(SipHeaderNames.To, e.HeaderName);
        Assert.Contains("UTF-8", e.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Content-Length: 99999", "exceeds")]
    [InlineData("Content-Length: -1", "number")]
    [InlineData("Content-Length: 1x", "number")]
    [InlineData("Content-Length: 99999999999999999999", "number")]
    public void Bad_Content_Length_is_rejected(string header, string why)
    {
        var bytes = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(Valid).Replace("Content-Length: 95", header, StringComparison.Ordinal));
        var e = Rejects(bytes);
        Assert.Contains(why, e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Shorter_Content_Length_truncates_the_datagram_body()
    {
        var bytes = Encoding.Latin1.GetBytes(Encoding.Latin1.GetString(Valid).Replace("Content-Length: 95", "Content-Length: 10", StringComparison.Ordinal));
        Assert.Equal("Messages-W", Encoding.ASCII.GetString(SipMessageParser.ParseDatagram(bytes).Body.Span));
    }

    [Theory]
    [InlineData("")]
    [InlineData("\r\n\r\n")]
    [InlineData("NOTIFY sip:a@b SIP/2.0\r\n")]
    [InlineData("NOTIFY sip:a@b SIP/2.0\n\n")]
    [InlineData("GET / HTTP/1.1\r\nHost: x\r\n\r\n")]
    [InlineData("SIP/2.0 99 Low\r\n\r\n")]
    [InlineData(" NOTIFY sip:a@b SIP/2.0\r\n\r\n")]
    public void Garbage_is_rejected(string text) => Rejects(Encoding.ASCII.GetBytes(text));

    [Fact]
    public void Random_bytes_never_throw_anything_else() =>
        Prop.ForAll(Arb.From(Gen.ArrayOf(Gen.Choose(0, 255).Select(b => (byte)b))), bytes => NeverThrowsOtherwise(bytes))
            .Check(Config.QuickThrowOnFailure.WithMaxTest(500));

    [Fact]
    public void Mutated_valid_messages_never_throw_anything_else()
    {
        var mutations =
            from count in Gen.Choose(1, 8)
            from edits in Gen.ArrayOf(Gen.Zip(Gen.Choose(0, Valid.Length - 1), Gen.Elements((byte)0, (byte)'\r', (byte)'\n', (byte)' ', (byte)':', (byte)';', (byte)'"', (byte)'<', (byte)'\\', (byte)',', (byte)0xC3, (byte)'%')), count)
            select edits;
        Prop.ForAll(Arb.From(mutations), edits =>
        {
            var bytes = Valid.ToArray();
            foreach (var (at, b) in edits) bytes[at] = b;
            NeverThrowsOtherwise(bytes);
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(1000));
    }

    private static void NeverThrowsOtherwise(byte[] bytes)
    {
        try
        {
            var m = SipMessageParser.ParseDatagram(bytes);
            TryRead(() => m.Contact);
            TryRead(() => m.Event);
            TryRead(() => m.SubscriptionState);
            TryRead(() => m.Expires);
            TryRead(() => m.AllowEvents);
            _ = SipMessageWriter.ToBytes(m);
        }
        catch (SipParseException)
        {
        }
        var decoder = new SipStreamDecoder();
        var seq = new ReadOnlySequence<byte>(bytes);
        try
        {
            while (decoder.TryDecode(ref seq, out _))
            {
            }
        }
        catch (SipParseException)
        {
        }
    }

    private static void TryRead(Func<object?> read)
    {
        try
        {
            _ = read();
        }
        catch (SipParseException)
        {
        }
    }
}

/// <summary>Stream framing over a pipe (RFC 3261 §18.3, RFC 5626 §3.5.1).</summary>
public class StreamFramingTests
{
    private static readonly byte[] Notify = Rfc3261ExampleTests.Message(Rfc3261ExampleTests.NotifyMwi, Rfc3261ExampleTests.MwiBody);

    private static async Task<List<SipFrame>> ReadAll(Pipe pipe, int max = 10)
    {
        var framer = new SipStreamFramer(pipe.Reader);
        var frames = new List<SipFrame>();
        for (var i = 0; i < max; i++)
        {
            var f = await framer.ReadAsync();
            frames.Add(f);
            if (f.Kind == SipFrameKind.EndOfStream) break;
        }
        return frames;
    }

    [Fact]
    public async Task Messages_split_at_every_byte_boundary_are_reassembled()
    {
        var pipe = new Pipe();
        var reading = ReadAll(pipe);
        var all = Notify.Concat("\r\n\r\n"u8.ToArray()).Concat(Notify).ToArray();
        foreach (var b in all)
        {
            await pipe.Writer.WriteAsync(new[] { b });
        }
        await pipe.Writer.CompleteAsync();
        var frames = await reading;
        Assert.Equal([SipFrameKind.Message, SipFrameKind.KeepAlivePing, SipFrameKind.Message, SipFrameKind.EndOfStream], frames.Select(f => f.Kind));
        Assert.Equal(95, frames[2].Message!.Body.Length);
    }

    [Fact]
    public async Task Single_CRLF_between_messages_is_ignored()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Notify.Concat("\r\n"u8.ToArray()).Concat(Notify).ToArray());
        await pipe.Writer.CompleteAsync();
        Assert.Equal([SipFrameKind.Message, SipFrameKind.Message, SipFrameKind.EndOfStream], (await ReadAll(pipe)).Select(f => f.Kind));
    }

    [Fact]
    public async Task Missing_Content_Length_is_an_error_on_streams()
    {
        var pipe = new Pipe();
        var text = Encoding.ASCII.GetString(Notify).Replace("Content-Length: 95\r\n", "", StringComparison.Ordinal);
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(text));
        var e = await Assert.ThrowsAsync<SipParseException>(() => new SipStreamFramer(pipe.Reader).ReadAsync().AsTask());
        Assert.Contains("mandatory", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Truncated_frame_is_an_error_when_the_stream_ends()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Notify.AsMemory(0, Notify.Length - 5));
        await pipe.Writer.CompleteAsync();
        var e = await Assert.ThrowsAsync<SipParseException>(() => new SipStreamFramer(pipe.Reader).ReadAsync().AsTask());
        Assert.Contains("ended inside", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Endless_header_section_is_an_error()
    {
        var pipe = new Pipe();
        var framer = new SipStreamFramer(pipe.Reader);
        var reading = framer.ReadAsync().AsTask();
        for (var i = 0; i < 40 && !reading.IsCompleted; i++)
            await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes("X-Flood: " + new string('a', 1000) + "\r\n"));
        var e = await Assert.ThrowsAsync<SipParseException>(() => reading);
        Assert.Contains("no end of header section", e.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Oversize_Content_Length_is_an_error()
    {
        var pipe = new Pipe();
        await pipe.Writer.WriteAsync(Encoding.ASCII.GetBytes(Encoding.ASCII.GetString(Notify).Replace("Content-Length: 95", "Content-Length: 1000000", StringComparison.Ordinal)));
        var e = await Assert.ThrowsAsync<SipParseException>(() => new SipStreamFramer(pipe.Reader).ReadAsync().AsTask());
        Assert.Contains("larger than", e.Reason, StringComparison.Ordinal);
    }
}
