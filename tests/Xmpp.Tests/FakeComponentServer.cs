using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.Xmpp.Component;

namespace Aggregators.Xmpp.Tests;

/// <summary>A scripted XMPP server on a loopback port: enough of XEP-0114 to drive the component from the other side.</summary>
internal sealed class FakeComponentServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public FakeComponentServer() => _listener.Start();

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public ComponentOptions Options(string secret = "s3cret") => new()
    {
        Host = "127.0.0.1",
        Port = Port,
        Domain = "events.example.com",
        Secret = secret,
        ConnectTimeout = TimeSpan.FromSeconds(5),
        ReconnectDelay = TimeSpan.FromMilliseconds(50),
        MaxReconnectDelay = TimeSpan.FromMilliseconds(200),
    };

    public async Task<FakePeer> AcceptAsync() =>
        new(await _listener.AcceptTcpClientAsync().WaitAsync(TimeSpan.FromSeconds(10)));

    public void Dispose() => _listener.Stop();
}

internal sealed class FakePeer : IDisposable
{
    public const string Id = "3BF96D32";
    private readonly TcpClient _client;
    private readonly NetworkStream _stream;
    private readonly StringBuilder _received = new();
    private int _cursor;

    public FakePeer(TcpClient client)
    {
        _client = client;
        _stream = client.GetStream();
    }

    public bool Closed { get; private set; }

    /// <summary>Reads until <paramref name="marker"/> arrives after the cursor; returns the text up to and including it.</summary>
    public async Task<string> ReadUntilAsync(string marker, double seconds = 10)
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var buffer = new byte[4096];
        while (true)
        {
            var at = _received.ToString().IndexOf(marker, _cursor, StringComparison.Ordinal);
            if (at >= 0)
            {
                var text = _received.ToString()[_cursor..(at + marker.Length)];
                _cursor = at + marker.Length;
                return text;
            }
            int n;
            try
            {
                n = await _stream.ReadAsync(buffer, cts.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"'{marker}' not received; got: {_received.ToString()[_cursor..]}");
            }
            if (n == 0)
            {
                Closed = true;
                throw new EndOfStreamException($"closed before '{marker}'; got: {_received.ToString()[_cursor..]}");
            }
            _received.Append(Encoding.UTF8.GetString(buffer, 0, n));
        }
    }

    /// <summary>Reads until the component closes the TCP connection; returns what came after the cursor.</summary>
    public async Task<string> ReadToEndAsync(double seconds = 10)
    {
        try
        {
            await ReadUntilAsync("\u0000never\u0000", seconds);
        }
        catch (EndOfStreamException)
        {
        }
        return _received.ToString()[_cursor..];
    }

    public Task SendAsync(string text) => _stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

    /// <summary>Plays the server side of XEP-0114 §3; returns the handshake value the component sent.</summary>
    public async Task<string> HandshakeAsync(string? reply = "<handshake/>")
    {
        var header = await ReadUntilAsync("'>");
        Assert.Contains("xmlns='jabber:component:accept'", header, StringComparison.Ordinal);
        Assert.Contains("to='events.example.com'", header, StringComparison.Ordinal);
        await SendAsync("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' xml:lang='en' id='" + Id +
            "' from='events.example.com' xmlns='jabber:component:accept'>");
        var handshake = await ReadUntilAsync("</handshake>");
        if (reply is not null)
        {
            await SendAsync(reply);
        }
        return handshake[(handshake.IndexOf('>', StringComparison.Ordinal) + 1)..^"</handshake>".Length];
    }

    public static string StreamError(string condition, string? text = null) =>
        $"<stream:error><{condition} xmlns='urn:ietf:params:xml:ns:xmpp-streams'/>" +
        (text is null ? "" : $"<text xmlns='urn:ietf:params:xml:ns:xmpp-streams'>{text}</text>") + "</stream:error></stream:stream>";

    public void Dispose()
    {
        _stream.Dispose();
        _client.Dispose();
    }
}
