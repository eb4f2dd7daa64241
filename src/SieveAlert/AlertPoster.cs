using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.SieveAlert;

internal enum PostResult
{
    /// <summary>202: the PNA has it (whatever it decided; the status is at GET /v1/alerts/{id}).</summary>
    Accepted,

    /// <summary>The PNA is down, slow, busy or refuses the token: keep the alert and try again.</summary>
    Retry,

    /// <summary>The PNA will never take this body (400, 413, 415).</summary>
    Invalid,
}

/// <summary>
/// POSTs one alert body to the PNA's /v1/alerts with a timeout. Plain http: URLs use a minimal
/// HTTP/1.1 exchange on a socket (RFC 9112: one request, <c>Connection: close</c>, the response read
/// to its Content-Length or the end of the connection), because the program starts once per mail
/// and HttpClient's first request costs hundreds of milliseconds of JIT on a busy machine; https:
/// URLs go through HttpClient.
/// </summary>
internal sealed class AlertPoster(SieveAlertConfig config) : IDisposable
{
    private const int MaxResponseBytes = 64 * 1024;

    private HttpClient? _http;

    public async Task<(PostResult Result, string Detail)> PostAsync(byte[] body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            var (status, text) = config.Url.Scheme == "http"
                ? await PlainPostAsync(body, cts.Token).ConfigureAwait(false)
                : await HttpClientPostAsync(body, cts.Token).ConfigureAwait(false);
            var detail = $"{status} {text.Trim()}";
            return status switch
            {
                202 or 200 => (PostResult.Accepted, detail),
                400 or 413 or 415 => (PostResult.Invalid, detail),
                _ => (PostResult.Retry, detail),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (PostResult.Retry, $"no answer from {config.Url} within {timeout.TotalMilliseconds:0} ms");
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or IOException or FormatException)
        {
            return (PostResult.Retry, $"{config.Url}: {e.Message}");
        }
    }

    private Uri Target => new(config.Url, "v1/alerts");

    private async Task<(int Status, string Body)> PlainPostAsync(byte[] body, CancellationToken cancellationToken)
    {
        var target = Target;
        using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(target.DnsSafeHost, target.Port, cancellationToken).ConfigureAwait(false);
        var head = new StringBuilder()
            .Append("POST ").Append(target.PathAndQuery).Append(" HTTP/1.1\r\n")
            .Append("Host: ").Append(target.Authority).Append("\r\n")
            .Append("Content-Type: application/json; charset=utf-8\r\n")
            .Append("Content-Length: ").Append(body.Length.ToString(CultureInfo.InvariantCulture)).Append("\r\n")
            .Append("Connection: close\r\n");
        if (config.Token.Length > 0)
        {
            head.Append("Authorization: Bearer ").Append(config.Token).Append("\r\n");
        }
        head.Append("\r\n");
        await socket.SendAsync(Encoding.ASCII.GetBytes(head.ToString()), cancellationToken).ConfigureAwait(false);
        await socket.SendAsync(body, cancellationToken).ConfigureAwait(false);

        var buffer = new byte[MaxResponseBytes];
        var length = 0;
        int headerEnd;
        int? contentLength = null;
        while (true)
        {
            var n = length < buffer.Length ? await socket.ReceiveAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false) : 0;
            length += n;
            headerEnd = buffer.AsSpan(0, length).IndexOf("\r\n\r\n"u8);
            if (headerEnd >= 0)
            {
                contentLength ??= ContentLength(Encoding.ASCII.GetString(buffer, 0, headerEnd));
                if (contentLength is { } cl && length >= headerEnd + 4 + cl)
                {
                    break;
                }
            }
            if (n == 0)
            {
                break;
            }
        }
        if (headerEnd < 0)
        {
            throw new IOException("the PNA closed the connection before a complete HTTP response");
        }
        var statusLine = Encoding.ASCII.GetString(buffer, 0, buffer.AsSpan(0, headerEnd).IndexOf("\r\n"u8) is var eol and >= 0 ? eol : headerEnd);
        // status-line = HTTP-version SP status-code SP [ reason-phrase ] (RFC 9112 §4)
        var parts = statusLine.Split(' ', 3);
        if (parts.Length < 2 || !parts[0].StartsWith("HTTP/1.", StringComparison.Ordinal)
            || !int.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var status))
        {
            throw new FormatException($"not an HTTP/1.x status line: '{statusLine}'");
        }
        var bodyStart = headerEnd + 4;
        var bodyLength = Math.Min(length - bodyStart, contentLength ?? int.MaxValue);
        return (status, Encoding.UTF8.GetString(buffer, bodyStart, Math.Max(0, bodyLength)));
    }

    private static int? ContentLength(string head)
    {
        foreach (var line in head.Split("\r\n"))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon > 0 && line.AsSpan(0, colon).Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(line.AsSpan(colon + 1).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                return n;
            }
        }
        return null;
    }

    private async Task<(int Status, string Body)> HttpClientPostAsync(byte[] body, CancellationToken cancellationToken)
    {
        _http ??= new HttpClient(new SocketsHttpHandler { UseProxy = false, AllowAutoRedirect = false }) { Timeout = Timeout.InfiniteTimeSpan };
        using var request = new HttpRequestMessage(HttpMethod.Post, Target) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (config.Token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", config.Token);
        }
        using var response = await _http.SendAsync(request, cancellationToken).ConfigureAwait(false);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false));
    }

    public void Dispose() => _http?.Dispose();
}
