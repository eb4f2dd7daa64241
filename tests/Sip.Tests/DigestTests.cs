using Aggregators.Sip.Auth;
using Aggregators.Sip.Parsing;


namespace Aggregators.Sip.Tests;

public class DigestTests
{
    [Theory] // RFC 7616 §3.9.1
    [InlineData(DigestAlgorithm.Md5, "8ca523f5e9506fed4657c9700eebdbec")]
    [InlineData(DigestAlgorithm.Sha256, "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1")]
    public void Rfc7616_examples(DigestAlgorithm algorithm, string expected)
    {
        var ha1 = DigestComputation.Ha1(algorithm, "Mufasa", "http-auth@example.org", "Circle of Life");
        var ha2 = DigestComputation.Ha2(algorithm, "GET", "/dir/index.html");
        var response = DigestComputation.Response(algorithm, ha1, "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v", "00000001",
            "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ", "auth", ha2);
        Assert.Equal(expected, response);
    }

    [Fact] // RFC 2617 §3.5
    public void Rfc2617_example()
    {
        var ha1 = DigestComputation.Ha1(DigestAlgorithm.Md5, "Mufasa", "testrealm@host.com", "Circle Of Life");
        var ha2 = DigestComputation.Ha2(DigestAlgorithm.Md5, "GET", "/dir/index.html");
        Assert.Equal("6629fae49393a05397450978507c4ef1",
            DigestComputation.Response(DigestAlgorithm.Md5, ha1, "dcd98b7102dd2f0e8b11d0f600bfb0c093", "00000001", "0a4f113b", "auth", ha2));
    }

    [Fact] // Values computed independently (Python hashlib) for a SIP REGISTER without qop and a SUBSCRIBE with SHA-256.
    public void Sip_examples_without_qop_and_with_sha256()
    {
        var md5 = DigestComputation.Response(DigestAlgorithm.Md5, DigestComputation.Ha1(DigestAlgorithm.Md5, "bob", "biloxi.example.com", "zanzibar"),
            "5f6d8b3a2c", null, null, null, DigestComputation.Ha2(DigestAlgorithm.Md5, "REGISTER", "sip:biloxi.example.com"));
        Assert.Equal("a3ff86086e45387bf15622d63fc56a5c", md5);
        var sha = DigestComputation.Response(DigestAlgorithm.Sha256, DigestComputation.Ha1(DigestAlgorithm.Sha256, "bob", "biloxi.example.com", "zanzibar"),
            "5f6d8b3a2c", "00000001", "0a4f113b", "auth", DigestComputation.Ha2(DigestAlgorithm.Sha256, "SUBSCRIBE", "sip:alice@example.com"));
        Assert.Equal("aeb9a8cbb1bd0312edeb98a0c37292b2dd72f4878f8107c2495d06f1f233dfdb", sha);
    }

    private static (DigestServer Server, ManualTimeProvider Clock) NewServer(int tracked = 100)
    {
        var clock = new ManualTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture));
        var server = new DigestServer(new DigestServerOptions
        {
            Realm = "example.com",
            Secret = Enumerable.Range(0, 32).Select(i => (byte)i).ToArray(),
            NonceLifetime = TimeSpan.FromMinutes(5),
            TrackedNonces = tracked,
            TimeProvider = clock,
        });
        return (server, clock);
    }

    private static string? Ha1(string user, DigestAlgorithm a) => user == "alice" ? DigestComputation.Ha1(a, "alice", "example.com", "secret") : null;

    /// <summary>The challenge goes through the codec as a WWW-Authenticate header, as on the wire.</summary>
    private static SipAuthValue OverTheWire(SipAuthValue value) => SipAuthValue.Parse(System.Text.Encoding.UTF8.GetBytes(value.ToString()));

    [Theory]
    [InlineData(DigestAlgorithm.Md5)]
    [InlineData(DigestAlgorithm.Sha256)]
    public void Client_answer_is_accepted_once_per_nonce_count(DigestAlgorithm algorithm)
    {
        var (server, _) = NewServer();
        var challenge = OverTheWire(server.CreateChallenge(algorithm));
        var client = new DigestClient("alice", "secret");
        var first = OverTheWire(client.Answer(challenge, "SUBSCRIBE", "sip:pna@example.com"));
        Assert.Equal("00000001", first["nc"]);
        Assert.Equal(DigestVerification.Ok, server.Verify(first, "SUBSCRIBE", Ha1));
        Assert.Equal(DigestVerification.Replay, server.Verify(first, "SUBSCRIBE", Ha1));
        var second = OverTheWire(client.Answer(challenge, "SUBSCRIBE", "sip:pna@example.com"));
        Assert.Equal("00000002", second["nc"]);
        Assert.Equal(DigestVerification.Ok, server.Verify(second, "SUBSCRIBE", Ha1));
    }

    [Fact]
    public void Expired_nonce_with_right_password_is_stale_and_wrong_password_is_not()
    {
        var (server, clock) = NewServer();
        var challenge = server.CreateChallenge(DigestAlgorithm.Sha256);
        clock.Advance(TimeSpan.FromMinutes(6));
        Assert.Equal(DigestVerification.Stale, server.Verify(new DigestClient("alice", "secret").Answer(challenge, "NOTIFY", "sip:x@example.com"), "NOTIFY", Ha1));
        Assert.Equal(DigestVerification.WrongResponse, server.Verify(new DigestClient("alice", "wrong").Answer(challenge, "NOTIFY", "sip:x@example.com"), "NOTIFY", Ha1));
        Assert.Equal("true", server.CreateChallenge(DigestAlgorithm.Sha256, stale: true)["stale"]);
    }

    [Fact]
    public void Forged_nonce_unknown_user_wrong_method_and_other_realm_are_refused()
    {
        var (server, _) = NewServer();
        var (other, _) = new ValueTuple<DigestServer, int>(new DigestServer(new DigestServerOptions { Realm = "example.com", Secret = new byte[32] }), 0);
        var forged = new DigestClient("alice", "secret").Answer(other.CreateChallenge(DigestAlgorithm.Md5), "REGISTER", "sip:example.com");
        Assert.Equal(DigestVerification.InvalidNonce, server.Verify(forged, "REGISTER", Ha1));

        var challenge = server.CreateChallenge(DigestAlgorithm.Md5);
        Assert.Equal(DigestVerification.UnknownUser, server.Verify(new DigestClient("mallory", "x").Answer(challenge, "REGISTER", "sip:example.com"), "REGISTER", Ha1));
        Assert.Equal(DigestVerification.WrongResponse, server.Verify(new DigestClient("alice", "secret").Answer(challenge, "REGISTER", "sip:example.com"), "INVITE", Ha1));

        var otherRealm = new SipAuthValue("Digest");
        foreach (var p in new DigestClient("alice", "secret").Answer(challenge, "REGISTER", "sip:example.com").Parameters.Items)
            otherRealm.Parameters.Add(p.Name == "realm" ? p with { Value = "evil.example" } : p);
        Assert.Equal(DigestVerification.Malformed, server.Verify(otherRealm, "REGISTER", Ha1));
        Assert.Equal(DigestVerification.Malformed, server.Verify(new SipAuthValue("Basic"), "REGISTER", Ha1));
    }

    [Fact]
    public void Old_client_without_qop_is_accepted()
    {
        var (server, _) = NewServer();
        var challenge = server.CreateChallenge(DigestAlgorithm.Md5);
        challenge.Parameters.Remove("qop");
        var answer = new DigestClient("alice", "secret").Answer(challenge, "REGISTER", "sip:example.com");
        Assert.Null(answer["nc"]);
        Assert.Equal(DigestVerification.Ok, server.Verify(answer, "REGISTER", Ha1));
    }

    [Fact]
    public void Request_is_challenged_then_authorized_through_headers()
    {
        var (server, _) = NewServer();
        var request = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.SubscribeMwi));
        Assert.Equal(DigestVerification.Missing, server.Verify(request, Ha1));

        var unauthorized = SipResponse.CreateFor(request, 401);
        foreach (var c in server.CreateChallenges()) unauthorized.Headers.Add(SipHeaderNames.WwwAuthenticate, c.ToString());
        unauthorized = (SipResponse)SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(unauthorized));

        var client = new DigestClient("alice", "secret");
        Assert.True(client.Authorize(request, unauthorized));
        var resent = (SipRequest)SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(request));
        Assert.Equal("SHA-256", Assert.Single(resent.Authorization)["algorithm"]); // the server's first choice
        Assert.Equal(DigestVerification.Ok, server.Verify(resent, Ha1));

        resent.Headers.Set(SipHeaderNames.Authorization, "Digest realm=\"example.com\", nonce=");
        Assert.Equal(DigestVerification.Malformed, server.Verify(resent, Ha1));
        Assert.False(client.Authorize(request, SipResponse.CreateFor(request, 401)));
    }

    [Fact]
    public void Tracker_is_bounded_and_never_reopens_a_replay()
    {
        var tracker = new NonceCountTracker(2);
        Assert.True(tracker.TryUse("a", 1));
        Assert.True(tracker.TryUse("b", 1));
        Assert.True(tracker.TryUse("c", 1)); // evicts "a"
        Assert.Equal(2, tracker.Count);
        Assert.False(tracker.TryUse("a", 2)); // forgotten nonce with a later count: refused
        Assert.False(tracker.TryUse("c", 1));
        Assert.True(tracker.TryUse("c", 2));
    }

    [Fact]
    public void Challenge_as_a_header_uses_quoted_and_token_values_as_RFC_7616_says()
    {
        var (server, _) = NewServer();
        var text = server.CreateChallenge(DigestAlgorithm.Sha256).ToString();
        Assert.StartsWith("Digest realm=\"example.com\", nonce=\"", text, StringComparison.Ordinal);
        Assert.EndsWith("opaque=\"\", algorithm=SHA-256, qop=\"auth\"", text, StringComparison.Ordinal);
        var response = new SipResponse(401);
        response.Headers.Add(SipHeaderNames.WwwAuthenticate, text);
        Assert.Equal("SHA-256", Assert.Single(SipMessageParserTestHelper.RoundTrip(response).WwwAuthenticate)["algorithm"]);
    }
}

internal static class SipMessageParserTestHelper
{
    /// <summary>Adds the mandatory headers and sends a message through writer and parser.</summary>
    public static SipMessage RoundTrip(SipMessage m)
    {
        m.Headers.Add(SipHeaderNames.Via, "SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKx");
        m.From = SipNameAddress.Parse("<sip:a@example.com>;tag=1");
        m.To = SipNameAddress.Parse("<sip:b@example.com>");
        m.CallId = "c@example.com";
        m.CSeq = new SipCSeq(1, m is SipRequest r ? r.Method : "REGISTER");
        return SipMessageParser.ParseDatagram(SipMessageWriter.ToBytes(m));
    }
}
