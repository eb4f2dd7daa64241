using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Xmpp.Tests;

public class XmlStreamWriterTests
{
    /// <summary>A peer that never reads: every write hangs until cancelled.</summary>
    private sealed class StuckStream : MemoryStream
    {
        public TaskCompletionSource WriteStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            WriteStarted.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
    }

    private static readonly XElement Ping = new(XName.Get("message", XmppNamespaces.ComponentAccept), new XAttribute("to", "a.example.com"));

    [Fact]
    public async Task A_peer_that_does_not_read_fills_the_queue_and_senders_feel_back_pressure()
    {
        var peer = new StuckStream();
        await using var writer = new XmlStreamWriter(peer, XmppNamespaces.ComponentAccept, capacity: 2, writeTimeout: TimeSpan.FromSeconds(30));
        Assert.True(writer.TryWrite(Ping));
        await peer.WriteStarted.Task.WaitAsync(TimeSpan.FromSeconds(10)); // the writer loop is now stuck on it
        var accepted = 0;
        while (writer.TryWrite(Ping) && accepted < 100)
        {
            accepted++;
        }
        Assert.Equal(2, accepted);
        using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(200));
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () => await writer.WriteAsync(Ping, cts.Token));
    }

    [Fact]
    public async Task A_stuck_write_fails_the_stream_after_the_write_timeout()
    {
        await using var writer = new XmlStreamWriter(new StuckStream(), XmppNamespaces.ComponentAccept, capacity: 2, writeTimeout: TimeSpan.FromMilliseconds(100));
        Assert.True(writer.TryWrite(Ping));
        var ex = await Assert.ThrowsAsync<XmppStreamException>(() => writer.Completion.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Contains("not reading", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Writes_header_stanzas_and_a_stream_error_then_the_closing_tag()
    {
        var sink = new MemoryStream();
        var writer = new XmlStreamWriter(sink, XmppNamespaces.ComponentAccept);
        await writer.WriteHeaderAsync("events.example.com", CancellationToken.None);
        await writer.WriteAsync(Ping, CancellationToken.None);
        await writer.CloseAsync(new StreamError(StreamErrorCondition.PolicyViolation), TimeSpan.FromSeconds(5));
        Assert.Equal(
            "<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xmlns='jabber:component:accept' to='events.example.com'>" +
            "<message to='a.example.com'/><stream:error><policy-violation xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>",
            Encoding.UTF8.GetString(sink.ToArray()));
        await Assert.ThrowsAsync<XmppStreamException>(async () => await writer.WriteAsync(Ping, CancellationToken.None));
    }
}
