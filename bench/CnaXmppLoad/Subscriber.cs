using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Xml.Linq;
using Aggregators.Xmpp.Xml;

/// <summary>
/// A minimal XMPP client (RFC 6120, plain TCP on loopback: SASL PLAIN, bind, presence) that
/// subscribes at the CNA and reads every stanza with the project's XmlStreamReader, counting
/// event notifications and noting when it last saw a stale and a fresh payload.
/// </summary>
internal sealed class Subscriber : IDisposable
{
    private static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";
    private static readonly XNamespace Payload = "urn:aggregators:xmpp:mail-event:0";
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;
    private XmlStreamReader? _reader;
    private long _events;
    private long _stanzas;

    private Subscriber(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public long Events => Interlocked.Read(ref _events);

    public long Stanzas => Interlocked.Read(ref _stanzas);

    /// <summary>True from a stale payload until the next payload without stale.</summary>
    public volatile bool Stale;

    /// <summary>Stopwatch timestamp of the last payload without stale that followed a stale one.</summary>
    public long FreshAt;

    public static async Task<Subscriber> ConnectAsync(int port, string user, string password, string service, string node, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        await tcp.ConnectAsync(IPAddress.Loopback, port, ct);
        var s = new Subscriber(tcp);
        await s.OpenAsync(ct);
        var plain = Convert.ToBase64String(Encoding.UTF8.GetBytes($"\0{user}\0{password}"));
        await s.WriteAsync($"<auth xmlns='urn:ietf:params:xml:ns:xmpp-sasl' mechanism='PLAIN'>{plain}</auth>", ct);
        if ((await s.NextAsync(ct)).Name.LocalName != "success")
        {
            throw new InvalidOperationException("SASL failed for " + user);
        }
        await s.OpenAsync(ct);
        await s.WriteAsync("<iq type='set' id='bind'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></iq>", ct);
        var jid = (await s.NextAsync(ct)).Descendants(XName.Get("jid", "urn:ietf:params:xml:ns:xmpp-bind")).Single().Value.Split('/')[0];
        await s.WriteAsync("<presence/>", ct);
        await s.WriteAsync($"<iq type='set' id='sub' to='{service}'><pubsub xmlns='http://jabber.org/protocol/pubsub'><subscribe node='{node}' jid='{jid}'/></pubsub></iq>", ct);
        XElement answer;
        while ((answer = await s.NextAsync(ct)) is not { Name.LocalName: "iq" } || (string?)answer.Attribute("id") != "sub")
        {
            s.Count(answer);
        }
        if ((string?)answer.Attribute("type") != "result")
        {
            s.Dispose();
            throw new InvalidOperationException($"{user}'s subscribe failed: {answer}");
        }
        _ = Task.Run(s.ReadLoopAsync, CancellationToken.None);
        return s;
    }

    private async Task OpenAsync(CancellationToken ct)
    {
        await WriteAsync("<?xml version='1.0'?><stream:stream to='example.net' xmlns='jabber:client' xmlns:stream='http://etherx.jabber.org/streams' version='1.0'>", ct);
        _reader?.Dispose();
        _reader = new XmlStreamReader(_stream, "jabber:client");
        await _reader.ReadHeaderAsync(ct);
        await NextAsync(ct); // features
    }

    private async Task<XElement> NextAsync(CancellationToken ct) =>
        (await _reader!.ReadAsync(ct)).Element ?? throw new IOException("stream ended during setup");

    private Task WriteAsync(string xml, CancellationToken ct) => _stream.WriteAsync(Encoding.UTF8.GetBytes(xml), ct).AsTask();

    private void Count(XElement e)
    {
        Interlocked.Increment(ref _stanzas);
        var payload = e.Element(Ev + "event")?.Element(Ev + "items")?.Element(Ev + "item")?.Element(Payload + "mail-event");
        if (payload is null)
        {
            return;
        }
        if ((string?)payload.Attribute("kind") == "event")
        {
            Interlocked.Increment(ref _events);
        }
        if ((string?)payload.Attribute("stale") == "true")
        {
            Stale = true;
        }
        else if (Stale)
        {
            Interlocked.Exchange(ref FreshAt, Stopwatch.GetTimestamp());
            Stale = false;
        }
    }

    private async Task ReadLoopAsync()
    {
        try
        {
            while ((await _reader!.ReadAsync(CancellationToken.None)).Element is { } e)
            {
                Count(e);
            }
        }
        catch (Exception ex) when (ex is XmppStreamException or IOException or ObjectDisposedException)
        {
        }
    }

    public void Dispose()
    {
        _tcp.Dispose();
        _reader?.Dispose();
    }
}
