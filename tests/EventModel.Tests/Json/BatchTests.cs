using System.Text;
using Aggregators.EventModel.Json;

namespace Aggregators.EventModel.Tests.Json;

public class BatchTests
{
    private static string Good(int n) =>
        $$$"""{"event":"MessageNew","account":"u{{{n}}}@example.com","mailbox":"INBOX","totals":{"messages":{{{n}}},"unseen":1,"uidnext":{{{n + 1}}},"uidvalidity":7}}""";

    private static DecodedBatch Decode(string body, BatchFormat format, int max = 1000) =>
        MailEventJson.DecodeBatch(Encoding.UTF8.GetBytes(body), format, max);

    [Fact]
    public void NdJson_with_bad_lines_keeps_the_good_ones()
    {
        var body = string.Join("\n",
            Good(0),
            """{"event":"MessageNew","account":"x@y","mailbox":"INBOX","totals":{"messages":1,"unseen":-1,"uidnext":2,"uidvalidity":3}}""",
            "{not json",
            "",
            "   ",
            Good(3)) + "\r\n" + Good(4) + "\r\n\r\n";
        var batch = Decode(body, BatchFormat.NdJson);
        Assert.Null(batch.FramingError);
        Assert.Equal([0, 3, 4], batch.Events.Select(e => e.Index));
        Assert.Equal("u4@example.com", batch.Events[2].Event.Account.Value);
        Assert.Equal(2, batch.Errors.Count);
        Assert.Equal((1, "totals.unseen"), (batch.Errors[0].Index, batch.Errors[0].Field));
        Assert.Equal(2, batch.Errors[1].Index);
        Assert.Null(batch.Errors[1].Field);
        Assert.Contains("not valid JSON", batch.Errors[1].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NdJson_line_holding_an_array_is_one_error()
    {
        var batch = Decode("[" + Good(0) + "]\n" + Good(1), BatchFormat.NdJson);
        Assert.Equal([1], batch.Events.Select(e => e.Index));
        Assert.Contains("must be a JSON object", Assert.Single(batch.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Empty_bodies_decode_to_nothing_or_say_why()
    {
        var nd = Decode("\n\r\n  \n", BatchFormat.NdJson);
        Assert.Empty(nd.Events);
        Assert.Empty(nd.Errors);
        Assert.Null(nd.FramingError);
        var empty = Decode("[ ]", BatchFormat.JsonArray);
        Assert.Empty(empty.Events);
        Assert.Null(empty.FramingError);
        Assert.Contains("empty", Decode("", BatchFormat.JsonArray).FramingError!.Message, StringComparison.Ordinal);
        Assert.Contains("must be a JSON array", Decode(Good(0), BatchFormat.JsonArray).FramingError!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Array_elements_are_independent()
    {
        var body = "[" + string.Join(",\n",
            Good(0),
            """{"event":"MessageNew","account":"x@y","mailbox":"INBOX","vnd.deep":{"a":{"b":[1,2,{"c":"d"}]}},"bogus":{"x":[1,2]},"more":"stuff"}""",
            "17",
            """{"event":"Login","account":"x@y","mailbox":"INBOX"}""",
            """[{"event":"MessageNew"}]""",
            Good(5)) + "]";
        var batch = Decode(body, BatchFormat.JsonArray);
        Assert.Null(batch.FramingError);
        Assert.Equal([0, 5], batch.Events.Select(e => e.Index));
        Assert.Equal([1, 2, 3, 4], batch.Errors.Select(e => e.Index));
        Assert.Equal("bogus", batch.Errors[0].Field);
        Assert.Contains("not a number", batch.Errors[1].Message, StringComparison.Ordinal);
        Assert.Equal("mailbox", batch.Errors[2].Field);
        Assert.Contains("not an array", batch.Errors[3].Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Error_inside_nested_value_does_not_lose_the_following_events()
    {
        // The error is found inside "totals"; the reader must still land after this element.
        var body = "[" + """{"event":"MessageNew","totals":{"messages":1.5,"unseen":{"x":[1]},"uidnext":2},"account":"a","mailbox":"INBOX"}""" + "," + Good(1) + "]";
        var batch = Decode(body, BatchFormat.JsonArray);
        Assert.Equal("totals.messages", Assert.Single(batch.Errors).Field);
        Assert.Equal([1], batch.Events.Select(e => e.Index));
    }

    [Fact]
    public void Broken_array_keeps_what_came_before_and_says_where_it_stopped()
    {
        var body = "[" + Good(0) + "," + """{"event":"MessageNew","account":"x@y","mailbox":"INBOX"}""" + "," + Good(2) + "," + """{"event":"MessageNew", oops}""" + "," + Good(4) + "]";
        var batch = Decode(body, BatchFormat.JsonArray);
        Assert.Equal([0, 1, 2], batch.Events.Select(e => e.Index));
        Assert.Empty(batch.Errors);
        var framing = Assert.IsType<EventError>(batch.FramingError);
        Assert.Equal(3, framing.Index);
        Assert.Contains("broken at event 3", framing.Message, StringComparison.Ordinal);
        Assert.Contains("nothing after it was read", framing.Message, StringComparison.Ordinal);
        Assert.Matches(@"after byte \d+", framing.Message);
    }

    [Fact]
    public void Truncated_array_reports_framing_after_the_last_complete_event()
    {
        var full = "[" + Good(0) + "," + Good(1) + "," + Good(2) + "]";
        var cut = full[..(full.Length - 30)];
        var batch = Decode(cut, BatchFormat.JsonArray);
        Assert.Equal([0, 1], batch.Events.Select(e => e.Index));
        Assert.Equal(2, batch.FramingError!.Index);
        Assert.Contains("truncated", batch.FramingError.Message + "\n" + cut, StringComparison.Ordinal);
    }

    [Fact]
    public void Garbage_after_the_array_is_a_framing_error_but_events_are_kept()
    {
        var batch = Decode("[" + Good(0) + "] []", BatchFormat.JsonArray);
        Assert.Single(batch.Events);
        Assert.Equal(1, batch.FramingError!.Index);
    }

    [Fact]
    public void Deep_nesting_in_an_element_is_reported_for_that_element_only()
    {
        var deep = """{"event":"MessageNew","account":"x@y","mailbox":"INBOX","vnd.d":""" + new string('[', 30) + new string(']', 30) + "}";
        var batch = Decode("[" + deep + "," + Good(1) + "]", BatchFormat.JsonArray);
        Assert.Equal("vnd.d", Assert.Single(batch.Errors).Field);
        Assert.Equal([1], batch.Events.Select(e => e.Index));
        // Beyond the reader's own limit the framing is lost: reported, not thrown.
        var deeper = Decode("[" + Good(0) + ",{\"vnd.d\":" + new string('[', 1000) + "]", BatchFormat.JsonArray);
        Assert.Single(deeper.Events);
        Assert.Contains("deeper than 64", deeper.FramingError!.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(BatchFormat.NdJson)]
    [InlineData(BatchFormat.JsonArray)]
    public void More_than_max_events_is_one_framing_error(BatchFormat format)
    {
        var events = Enumerable.Range(0, 5).Select(Good);
        var body = format == BatchFormat.NdJson ? string.Join("\n", events) : "[" + string.Join(",", events) + "]";
        var batch = Decode(body, format, max: 3);
        Assert.Equal([0, 1, 2], batch.Events.Select(e => e.Index));
        Assert.Empty(batch.Errors);
        Assert.Equal(3, batch.FramingError!.Index);
        Assert.Contains("more than 3 events", batch.FramingError.Message, StringComparison.Ordinal);
        // Exactly max events is fine.
        Assert.Null(Decode(body, format, max: 5).FramingError);
    }

    [Fact]
    public void Array_and_ndjson_of_1000_events_decode()
    {
        var events = Enumerable.Range(0, 1000).Select(Good).ToArray();
        var nd = Decode(string.Join("\n", events), BatchFormat.NdJson);
        var array = Decode("[" + string.Join(",", events) + "]", BatchFormat.JsonArray);
        Assert.Equal(1000, nd.Events.Count);
        Assert.Equal(1000, array.Events.Count);
        for (var i = 0; i < 1000; i++)
        {
            MailEventAssert.Equal(nd.Events[i].Event, array.Events[i].Event);
        }
    }

    [Theory]
    [InlineData(BatchFormat.NdJson)]
    [InlineData(BatchFormat.JsonArray)]
    public void A_leading_byte_order_mark_is_tolerated(BatchFormat format)
    {
        var body = format == BatchFormat.NdJson ? Good(0) + "\n" + Good(1) : "[" + Good(0) + "," + Good(1) + "]";
        var batch = MailEventJson.DecodeBatch([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(body)], format, 10);
        Assert.Equal(2, batch.Events.Count);
        Assert.Null(batch.FramingError);
        Assert.True(MailEventJson.TryDecode([0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes(Good(0))], 0, out _, out _));
    }

    [Fact]
    public void Max_events_must_be_positive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => MailEventJson.DecodeBatch([], BatchFormat.NdJson, 0));
}
