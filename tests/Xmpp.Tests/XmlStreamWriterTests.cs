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

    /// <summary>Records each socket write separately.</summary>
    private sealed class WriteRecorder : MemoryStream
    {
        public List<int> Writes { get; } = [];

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await Release.Task.WaitAsync(cancellationToken);
            lock (Writes)
            {
                Writes.Add(buffer.Length);
            }
            await base.WriteAsync(buffer, cancellationToken);
        }
    }

    [Fact]
    public async Task Queued_stanzas_go_out_in_one_socket_write_and_serialized_ones_are_copied()
    {
        var peer = new WriteRecorder();
        var writer = new XmlStreamWriter(peer, XmppNamespaces.ComponentAccept, capacity: 1000);
        var reused = new byte[64];
        for (var i = 0; i < 100; i++)
        {
            var stanza = Encoding.UTF8.GetBytes($"<message to='a.example.com' id='{i}'/>");
            stanza.CopyTo(reused, 0);
            Assert.True(writer.TryWriteSerialized(reused.AsSpan(0, stanza.Length)));
            Array.Clear(reused); // the writer copied it: the caller's buffer is free again
        }
        Assert.True(writer.TryWrite(Ping));
        peer.Release.SetResult();
        await writer.CloseAsync(null, TimeSpan.FromSeconds(10));
        var text = Encoding.UTF8.GetString(peer.ToArray());
        Assert.StartsWith("<message to='a.example.com' id='0'/><message to='a.example.com' id='1'/>", text, StringComparison.Ordinal);
        Assert.EndsWith("<message to='a.example.com' id='99'/><message to='a.example.com'/></stream:stream>", text, StringComparison.Ordinal);
        // The first stanza may have been taken alone before the rest was queued; then one batch.
        Assert.InRange(peer.Writes.Count, 1, 3);
    }

    [Fact]
    public async Task A_burst_larger_than_a_batch_is_split_at_stanza_boundaries()
    {
        var peer = new WriteRecorder();
        var writer = new XmlStreamWriter(peer, XmppNamespaces.ComponentAccept, capacity: 10_000);
        var stanza = Encoding.UTF8.GetBytes("<message to='a.example.com'>" + new string('x', 1000) + "</message>");
        const int Count = 200; // ~205 KB: more than three batches
        for (var i = 0; i < Count; i++)
        {
            Assert.True(writer.TryWriteSerialized(stanza));
        }
        peer.Release.SetResult();
        await writer.CloseAsync(null, TimeSpan.FromSeconds(10));
        Assert.All(peer.Writes, w => Assert.True(w <= XmlStreamWriter.BatchBytes));
        Assert.All(peer.Writes.Take(peer.Writes.Count - 1), w => Assert.Equal(0, w % stanza.Length));
        Assert.Equal(Count * stanza.Length + "</stream:stream>".Length, peer.ToArray().Length);
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
