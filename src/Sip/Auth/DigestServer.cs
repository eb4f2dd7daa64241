using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Aggregators.Sip.Auth;

public sealed record DigestServerOptions
{
    public required string Realm { get; init; }

    /// <summary>Key of the nonce HMAC; at least 32 random bytes, kept across restarts if nonces should survive them.</summary>
    public required byte[] Secret { get; init; }

    public TimeSpan NonceLifetime { get; init; } = TimeSpan.FromMinutes(5);

    /// <summary>Challenges offered, in order of preference (RFC 8760 §2.4: SHA-256 first, MD5 for old clients).</summary>
    public IReadOnlyList<DigestAlgorithm> Algorithms { get; init; } = [DigestAlgorithm.Sha256, DigestAlgorithm.Md5];

    /// <summary>How many nonces the nc replay tracker remembers.</summary>
    public int TrackedNonces { get; init; } = 10_000;

    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}

public enum DigestVerification
{
    Ok,
    /// <summary>No credentials for this realm: answer 401/407 with a challenge.</summary>
    Missing,
    /// <summary>Malformed credentials or a different realm/scheme: answer with a new challenge.</summary>
    Malformed,
    /// <summary>The nonce was not made by this server.</summary>
    InvalidNonce,
    /// <summary>Right password, expired nonce: challenge again with stale=true (RFC 7616 §3.3).</summary>
    Stale,
    UnknownUser,
    WrongResponse,
    /// <summary>A nonce count not greater than one already used with this nonce.</summary>
    Replay,
}

/// <summary>
/// Server side of digest authentication (RFC 3261 §22.4, RFC 7616, RFC 8760). Nonces are stateless:
/// timestamp + HMAC-SHA256(secret, timestamp, realm); only nonce counts are remembered, in a
/// bounded tracker.
/// </summary>
public sealed class DigestServer
{
    private const int MacLength = 16;

    /// <summary>Timestamp (8) + random salt (8): two challenges in the same second get different nonces, so a client that restarts nc at 1 per nonce is not taken for a replay.</summary>
    private const int StampLength = 16;
    private readonly DigestServerOptions _options;
    private readonly NonceCountTracker _counts;

    public DigestServer(DigestServerOptions options)
    {
        if (options.Secret.Length < 16) throw new ArgumentException("the nonce secret must have at least 16 bytes", nameof(options));
        _options = options;
        _counts = new NonceCountTracker(options.TrackedNonces);
    }

    public string Realm => _options.Realm;

    /// <summary>One WWW-Authenticate value per configured algorithm.</summary>
    public IReadOnlyList<SipAuthValue> CreateChallenges(bool stale = false) =>
        [.. _options.Algorithms.Select(a => CreateChallenge(a, stale))];

    public SipAuthValue CreateChallenge(DigestAlgorithm algorithm, bool stale = false)
    {
        var c = new SipAuthValue("Digest");
        c.Parameters.Add(new SipParameter("realm", _options.Realm, true));
        c.Parameters.Add(new SipParameter("nonce", CreateNonce(), true));
        c.Parameters.Add(new SipParameter("opaque", "", true));
        c.Parameters.Add(new SipParameter("algorithm", DigestComputation.Name(algorithm)));
        c.Parameters.Add(new SipParameter("qop", "auth", true));
        if (stale) c.Parameters.Add(new SipParameter("stale", "true"));
        return c;
    }

    internal string CreateNonce()
    {
        Span<byte> raw = stackalloc byte[StampLength + MacLength];
        var now = _options.TimeProvider.GetUtcNow().ToUnixTimeSeconds();
        BinaryPrimitives.WriteInt64BigEndian(raw, now);
        RandomNumberGenerator.Fill(raw[8..StampLength]);
        Mac(raw[..StampLength], raw[StampLength..]);
        return Convert.ToBase64String(raw);
    }

    private void Mac(ReadOnlySpan<byte> timestamp, Span<byte> destination)
    {
        var realm = Encoding.UTF8.GetBytes(_options.Realm);
        var input = new byte[timestamp.Length + realm.Length];
        timestamp.CopyTo(input);
        realm.CopyTo(input.AsSpan(timestamp.Length));
        Span<byte> full = stackalloc byte[32];
        HMACSHA256.HashData(_options.Secret, input, full);
        full[..destination.Length].CopyTo(destination);
    }

    /// <summary>
    /// Checks the request's Authorization (or Proxy-Authorization) for this realm; a malformed
    /// header counts as <see cref="DigestVerification.Malformed"/>.
    /// </summary>
    public DigestVerification Verify(SipRequest request, Func<string, DigestAlgorithm, string?> ha1, bool proxy = false)
    {
        IReadOnlyList<SipAuthValue> all;
        try
        {
            all = proxy ? request.ProxyAuthorization : request.Authorization;
        }
        catch (SipParseException)
        {
            return DigestVerification.Malformed;
        }
        var mine = all.FirstOrDefault(a => a.Scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase) && a["realm"] == _options.Realm);
        return mine is null ? DigestVerification.Missing : Verify(mine, request.Method, ha1);
    }

    /// <summary>
    /// Checks an Authorization value for a request. <paramref name="ha1"/> returns H(A1) of a user for
    /// an algorithm (so passwords need not be stored in clear), or null for an unknown user.
    /// </summary>
    public DigestVerification Verify(SipAuthValue credentials, string method, Func<string, DigestAlgorithm, string?> ha1)
    {
        if (!credentials.Scheme.Equals("Digest", StringComparison.OrdinalIgnoreCase)) return DigestVerification.Malformed;
        var username = credentials["username"];
        var realm = credentials["realm"];
        var nonce = credentials["nonce"];
        var uri = credentials["uri"];
        var response = credentials["response"];
        var qop = credentials["qop"];
        var nc = credentials["nc"];
        var cnonce = credentials["cnonce"];
        if (username is null || nonce is null || uri is null || response is null || realm != _options.Realm) return DigestVerification.Malformed;
        if (!DigestComputation.TryParseName(credentials["algorithm"], out var algorithm) || !_options.Algorithms.Contains(algorithm)) return DigestVerification.Malformed;
        uint count = 0;
        if (qop is not null)
        {
            // qop=auth needs nc = 8LHEX and a cnonce (RFC 7616 §3.4).
            if (!qop.Equals("auth", StringComparison.OrdinalIgnoreCase) || cnonce is null || nc is not { Length: 8 }
                || !uint.TryParse(nc, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture, out count) || count == 0)
                return DigestVerification.Malformed;
        }

        if (!TryReadNonce(nonce, out var issued)) return DigestVerification.InvalidNonce;
        if (ha1(username, algorithm) is not { } userHa1) return DigestVerification.UnknownUser;
        var expected = DigestComputation.Response(algorithm, userHa1, nonce, nc, cnonce, qop, DigestComputation.Ha2(algorithm, method, uri));
        if (!DigestComputation.FixedTimeEquals(expected, response)) return DigestVerification.WrongResponse;
        if (_options.TimeProvider.GetUtcNow() - issued > _options.NonceLifetime) return DigestVerification.Stale;
        if (qop is not null && !_counts.TryUse(nonce, count)) return DigestVerification.Replay;
        return DigestVerification.Ok;
    }

    private bool TryReadNonce(string nonce, out DateTimeOffset issued)
    {
        issued = default;
        Span<byte> raw = stackalloc byte[StampLength + MacLength + 2];
        if (!Convert.TryFromBase64String(nonce, raw, out var n) || n != StampLength + MacLength) return false;
        Span<byte> mac = stackalloc byte[MacLength];
        Mac(raw[..StampLength], mac);
        if (!CryptographicOperations.FixedTimeEquals(mac, raw.Slice(StampLength, MacLength))) return false;
        var seconds = BinaryPrimitives.ReadInt64BigEndian(raw);
        if (seconds < 0 || seconds > DateTimeOffset.MaxValue.ToUnixTimeSeconds()) return false;
        issued = DateTimeOffset.FromUnixTimeSeconds(seconds);
        return true;
    }
}

/// <summary>
/// Highest nonce count seen per nonce, bounded: the least recently used nonce is forgotten first
/// (a forgotten nonce's later requests are then refused as replays, never accepted twice).
/// </summary>
public sealed class NonceCountTracker(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<(string Nonce, uint Count)>> _map = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Nonce, uint Count)> _order = new();
    private readonly Lock _lock = new();
    private long _forgotten;

    public int Count
    {
        get
        {
            lock (_lock) return _map.Count;
        }
    }

    /// <summary>True when <paramref name="count"/> is greater than every count used with this nonce before.</summary>
    public bool TryUse(string nonce, uint count)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(nonce, out var node))
            {
                if (count <= node.Value.Count) return false;
                node.Value = (nonce, count);
                _order.Remove(node);
                _order.AddFirst(node);
                return true;
            }
            // A nonce evicted earlier may come back with a replayed count; refuse unseen nonces whose
            // count is not 1 once anything has been forgotten, so eviction never reopens a replay.
            if (_forgotten > 0 && count != 1) return false;
            _map[nonce] = _order.AddFirst((nonce, count));
            if (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Nonce);
                _forgotten++;
            }
            return true;
        }
    }
}
