using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.ImapBridge.Tests;

/// <summary>
/// A scripted IMAP server on a loopback port: the test accepts a connection, reads the client's
/// lines and writes whatever responses (good or hostile) the scenario needs.
/// </summary>
internal sealed class FakeImapServer : IDisposable
{
    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);

    public FakeImapServer() => _listener.Start(backlog: 2048);

    public int Port => ((IPEndPoint)_listener.LocalEndpoint).Port;

    public async Task<FakeConnection> AcceptAsync()
    {
        var socket = await _listener.AcceptSocketAsync().WaitAsync(TimeSpan.FromSeconds(10));
        return new FakeConnection(socket);
    }

    public void Dispose() => _listener.Stop();
}

internal sealed class FakeConnection : IDisposable
{
    private readonly Socket _socket;
    private Stream _stream;
    private readonly byte[] _buffer = new byte[65536];
    private int _start;
    private int _end;

    public FakeConnection(Socket socket)
    {
        _socket = socket;
        _stream = new NetworkStream(socket, ownsSocket: true);
    }

    /// <summary>Switches the connection to TLS as a server (implicit TLS or after STARTTLS).</summary>
    public async Task StartTlsAsync(System.Security.Cryptography.X509Certificates.X509Certificate2 certificate)
    {
        Assert.Equal(_start, _end); // nothing unread in clear text
        var ssl = new System.Net.Security.SslStream(_stream, leaveInnerStreamOpen: false);
        try
        {
            await ssl.AuthenticateAsServerAsync(certificate).WaitAsync(TimeSpan.FromSeconds(10));
        }
        catch (Exception e) when (e is System.Security.Authentication.AuthenticationException or IOException)
        {
            // the client refused our certificate: that is what some tests want
        }
        _stream = ssl;
    }

    public async Task SendAsync(string text)
    {
        await _stream.WriteAsync(Encoding.UTF8.GetBytes(text));
        await _stream.FlushAsync();
    }

    /// <summary>Sends each line with CRLF appended.</summary>
    public Task SendLinesAsync(params string[] lines) => SendAsync(string.Concat(lines.Select(l => l + "\r\n")));

    /// <summary>The next line the client sent, without CRLF (bounded wait).</summary>
    public async Task<string> ReadLineAsync(TimeSpan? timeout = null)
    {
        using var cts = new CancellationTokenSource(timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            var nl = Array.IndexOf(_buffer, (byte)'\n', _start, _end - _start);
            if (nl >= 0)
            {
                var line = Encoding.UTF8.GetString(_buffer, _start, nl - _start).TrimEnd('\r');
                _start = nl + 1;
                return line;
            }
            if (_start > 0)
            {
                Array.Copy(_buffer, _start, _buffer, 0, _end - _start);
                _end -= _start;
                _start = 0;
            }
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            if (n == 0)
            {
                throw new EndOfStreamException("client closed the connection");
            }
            _end += n;
        }
    }

    /// <summary>True when the client sent nothing more within <paramref name="wait"/> (for "must wait for +" checks).</summary>
    public async Task<bool> NothingMoreWithinAsync(TimeSpan wait)
    {
        if (_end > _start)
        {
            return false;
        }
        using var cts = new CancellationTokenSource(wait);
        try
        {
            var n = await _stream.ReadAsync(_buffer.AsMemory(_end), cts.Token);
            _end += n;
            return n == 0;
        }
        catch (OperationCanceledException)
        {
            return true;
        }
    }

    /// <summary>Reads a command line and returns its tag and the rest.</summary>
    public async Task<(string Tag, string Command)> ReadCommandAsync()
    {
        var line = await ReadLineAsync();
        var sp = line.IndexOf(' ', StringComparison.Ordinal);
        return sp < 0 ? (line, "") : (line[..sp], line[(sp + 1)..]);
    }

    /// <summary>Greets, answers CAPABILITY with <paramref name="capabilities"/>.</summary>
    public async Task GreetAsync(string capabilities = "IMAP4rev1 IDLE LITERAL+ SASL-IR AUTH=PLAIN")
    {
        await SendLinesAsync($"* OK [CAPABILITY {capabilities}] Fake ready.");
    }

    /// <summary>Greets and accepts a LOGIN, announcing <paramref name="after"/> afterwards as a [CAPABILITY] code.</summary>
    public async Task GreetAndLoginAsync(string after = "IMAP4rev1 IDLE NOTIFY ACL LIST-EXTENDED LIST-STATUS CONDSTORE LITERAL+ SPECIAL-USE NAMESPACE")
    {
        await GreetAsync();
        var (tag, cmd) = await ReadCommandAsync();
        Assert.StartsWith("LOGIN", cmd, StringComparison.Ordinal);
        await SendLinesAsync($"{tag} OK [CAPABILITY {after}] Logged in");
    }

    public void Abort()
    {
        _socket.LingerState = new LingerOption(true, 0);
        _socket.Close();
    }

    public void Dispose() => _stream.Dispose();
}
