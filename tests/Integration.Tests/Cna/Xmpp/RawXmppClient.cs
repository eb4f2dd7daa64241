using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;
using System.Xml.Linq;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp.Xml;

namespace Aggregators.Integration.Tests.Cna.Xmpp;

/// <summary>
/// A minimal XMPP client (RFC 6120 over plain TCP on loopback: SASL PLAIN, bind, presence) for
/// the many local subscribers a test needs beside slixmpp, which takes seconds to start. Reads
/// with the project's <see cref="XmlStreamReader"/>; every stanza it receives goes into a queue.
/// </summary>
internal sealed class RawXmppClient : IAsyncDisposable
{
    private static readonly XNamespace Client = "jabber:client";
    private static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private readonly Channel<XElement> _received = Channel.CreateUnbounded<XElement>();
    private readonly List<XElement> _held = [];
    private XmlStreamReader? _reader;
    private Task? _loop;
    private int _next;

    private RawXmppClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public string Jid { get; private set; } = "";

    public string BareJid => Jid.Split('/')[0];

    public static async Task<RawXmppClient> ConnectAsync(int port, string user, string domain, string password, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var c = new RawXmppClient(tcp);
        try
        {
            await c.OpenStreamAsync(domain, ct);
            var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
            await c.WriteAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>", ct);
            var outcome = await c.ReadElementAsync(ct);
            if (outcome.Name.LocalName != "success")
            {
                throw new InvalidOperationException($"SASL PLAIN for {user}@{domain} failed: {outcome}");
            }
            await c.OpenStreamAsync(domain, ct); // RFC 6120 §6.4.6: a new stream after SASL
            await c.WriteAsync("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", ct);
            var bound = await c.ReadElementAsync(ct);
            c.Jid = bound.Descendants(XName.Get("jid", "urn:ietf:params:xml:ns:xmpp-bind")).Single().Value;
            await c.WriteAsync("<presence/>", ct);
            c._loop = Task.Run(c.ReadLoopAsync, CancellationToken.None);
            return c;
        }
        catch
        {
            await c.DisposeAsync();
            throw;
        }
    }

    private async Task OpenStreamAsync(string domain, CancellationToken ct)
    {
        await WriteAsync($"<?xml version='1.0'?><stream:stream to='{domain}' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", ct);
        _reader?.Dispose();
        _reader = new XmlStreamReader(_stream, "jabber:client");
        await _reader.ReadHeaderAsync(ct);
        var features = await ReadElementAsync(ct);
        if (features.Name.LocalName != "features")
        {
            throw new InvalidOperationException("expected stream features, got " + features);
        }
    }

    private async Task<XElement> ReadElementAsync(CancellationToken ct)
    {
        var e = await _reader!.ReadAsync(ct);
        return e.Element ?? throw new IOException($"stream ended during setup ({e.Kind} {e.Error})");
    }

    private Task WriteAsync(string xml, CancellationToken ct) => _stream.WriteAsync(Encoding.UTF8.GetBytes(xml), ct).AsTask();

    private async Task ReadLoopAsync()
    {
        try
        {
            while (true)
            {
                var e = await _reader!.ReadAsync(CancellationToken.None);
                if (e.Element is null)
                {
                    break;
                }
                _received.Writer.TryWrite(e.Element);
            }
        }
        catch (Exception ex) when (ex is XmppStreamException or IOException or ObjectDisposedException)
        {
        }
        _received.Writer.TryComplete();
    }

    /// <summary>Sends an iq with <paramref name="payload"/> and returns the answer (other stanzas received meanwhile are kept).</summary>
    public async Task<XElement> IqAsync(string type, string to, string payload, TimeSpan timeout)
    {
        var id = "q" + Interlocked.Increment(ref _next);
        await WriteAsync($"<iq type='{type}' id='{id}' to='{System.Security.SecurityElement.Escape(to)}'>{payload}</iq>", CancellationToken.None);
        return await NextAsync(e => e.Name == Client + "iq" && (string?)e.Attribute("id") == id, timeout);
    }

    /// <summary>The next pubsub notification's payload.</summary>
    public async Task<XmppMailEventPayload> NextNotificationAsync(TimeSpan timeout)
    {
        var message = await NextAsync(e => e.Name == Client + "message" && e.Element(Ev + "event")?.Element(Ev + "items") is not null, timeout);
        var element = message.Element(Ev + "event")!.Element(Ev + "items")!.Element(Ev + "item")!.Elements().Single();
        return XmppMailEventCodec.TryRead(element, out var payload, out var error) ? payload : throw new InvalidOperationException(error);
    }

    /// <summary>The next received stanza matching <paramref name="match"/> (others are kept).</summary>
    public async Task<XElement> NextAsync(Func<XElement, bool> match, TimeSpan timeout)
    {
        lock (_held)
        {
            var i = _held.FindIndex(e => match(e));
            if (i >= 0)
            {
                var found = _held[i];
                _held.RemoveAt(i);
                return found;
            }
        }
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            while (true)
            {
                var e = await _received.Reader.ReadAsync(cts.Token);
                if (match(e))
                {
                    return e;
                }
                lock (_held)
                {
                    _held.Add(e);
                }
            }
        }
        catch (OperationCanceledException)
        {
            throw new TimeoutException($"{Jid}: expected stanza not received within {timeout}; held: {string.Join("\n", _held)}");
        }
        catch (ChannelClosedException)
        {
            throw new IOException($"{Jid}: the stream ended before the expected stanza");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await WriteAsync("</stream:stream>", CancellationToken.None);
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException or InvalidOperationException)
        {
        }
        _tcp.Dispose();
        if (_loop is not null)
        {
            await _loop;
        }
        _reader?.Dispose();
    }
}
