using System.Globalization;
using System.Security.Cryptography;

namespace Aggregators.Sip.Auth;

/// <summary>
/// Client side of digest authentication (RFC 3261 §22.2, RFC 7616 §3.4): answers a challenge,
/// counting nc per nonce and choosing a fresh cnonce.
/// </summary>
public sealed class DigestClient(string username, string password)
{
    private readonly Dictionary<string, uint> _nonceCounts = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Picks the first challenge with a supported algorithm (servers list the preferred one first).</summary>
    public static SipAuthValue? Choose(IEnumerable<SipAuthValue> challenges) =>
        challenges.FirstOrDefault(c => c.Scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase)
                                       && DigestComputation.TryParseName(c["algorithm"], out _) && c["nonce"] is not null);

    /// <summary>
    /// Answers a 401 (WWW-Authenticate) or 407 (Proxy-Authenticate) for a request about to be sent
    /// again (§22.2, §22.3): adds the matching Authorization or Proxy-Authorization header. False
    /// when the response offers no challenge this client can answer.
    /// </summary>
    public bool Authorize(SipRequest request, SipResponse challenge)
    {
        var proxy = challenge.StatusCode == 407;
        IReadOnlyList<SipAuthValue> offered;
        try
        {
            offered = proxy ? challenge.ProxyAuthenticate : challenge.WwwAuthenticate;
        }
        catch (SipParseException)
        {
            return false;
        }
        if (Choose(offered) is not { } chosen) return false;
        var name = proxy ? SipHeaderNames.ProxyAuthorization : SipHeaderNames.Authorization;
        request.Headers.Set(name, Answer(chosen, request.Method, request.RequestUri.ToString()).ToString());
        return true;
    }

    /// <summary>Builds the Authorization (or Proxy-Authorization) value for a request.</summary>
    public SipAuthValue Answer(SipAuthValue challenge, string method, string uri, string? cnonce = null)
    {
        if (!DigestComputation.TryParseName(challenge["algorithm"], out var algorithm))
            throw new NotSupportedException($"digest algorithm '{challenge["algorithm"]}' is not supported");
        var realm = challenge["realm"] ?? throw new ArgumentException("challenge has no realm", nameof(challenge));
        var nonce = challenge["nonce"] ?? throw new ArgumentException("challenge has no nonce", nameof(challenge));
        var offersAuth = challenge["qop"]?.Split(',').Any(q => q.Trim().Equals("auth", StringComparison.OrdinalIgnoreCase)) == true;

        string? nc = null;
        string? qop = null;
        if (offersAuth)
        {
            qop = "auth";
            cnonce ??= Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));
            uint count;
            lock (_lock)
            {
                _nonceCounts.TryGetValue(nonce, out count);
                _nonceCounts[nonce] = ++count;
            }
            nc = count.ToString("x8", CultureInfo.InvariantCulture);
        }
        else
        {
            cnonce = null;
        }

        var ha1 = DigestComputation.Ha1(algorithm, username, realm, password);
        var response = DigestComputation.Response(algorithm, ha1, nonce, nc, cnonce, qop, DigestComputation.Ha2(algorithm, method, uri));
        var a = new SipAuthValue("Digest");
        a.Parameters.Add(new SipParameter("username", username, true));
        a.Parameters.Add(new SipParameter("realm", realm, true));
        a.Parameters.Add(new SipParameter("nonce", nonce, true));
        a.Parameters.Add(new SipParameter("uri", uri, true));
        a.Parameters.Add(new SipParameter("response", response, true));
        a.Parameters.Add(new SipParameter("algorithm", DigestComputation.Name(algorithm)));
        if (challenge["opaque"] is { } opaque) a.Parameters.Add(new SipParameter("opaque", opaque, true));
        if (qop is not null)
        {
            a.Parameters.Add(new SipParameter("qop", qop));
            a.Parameters.Add(new SipParameter("nc", nc));
            a.Parameters.Add(new SipParameter("cnonce", cnonce, true));
        }
        return a;
    }
}
