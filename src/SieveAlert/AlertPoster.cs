using System.Net;
using System.Net.Http.Headers;

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

/// <summary>POSTs one alert body to the PNA's /v1/alerts with a timeout.</summary>
internal sealed class AlertPoster(SieveAlertConfig config) : IDisposable
{
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        ConnectTimeout = config.PostTimeout,
        UseProxy = false,
        AllowAutoRedirect = false,
    })
    {
        Timeout = Timeout.InfiniteTimeSpan,
    };

    public async Task<(PostResult Result, string Detail)> PostAsync(byte[] body, TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        cts.CancelAfter(timeout);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(config.Url, "v1/alerts"))
        {
            Content = new ByteArrayContent(body),
        };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        if (config.Token.Length > 0)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", config.Token);
        }
        try
        {
            using var response = await _http.SendAsync(request, cts.Token).ConfigureAwait(false);
            var text = await response.Content.ReadAsStringAsync(cts.Token).ConfigureAwait(false);
            var detail = $"{(int)response.StatusCode} {text.Trim()}";
            return response.StatusCode switch
            {
                HttpStatusCode.Accepted or HttpStatusCode.OK => (PostResult.Accepted, detail),
                HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnsupportedMediaType => (PostResult.Invalid, detail),
                _ => (PostResult.Retry, detail),
            };
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return (PostResult.Retry, $"no answer from {config.Url} within {timeout.TotalMilliseconds:0} ms");
        }
        catch (HttpRequestException e)
        {
            return (PostResult.Retry, $"{config.Url}: {e.Message}");
        }
    }

    public void Dispose() => _http.Dispose();
}
