using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>Pna:Sip:TrustedPeers: a CNA's P-Asserted-Identity (RFC 3325) counts only when the CNA authenticated as a trusted peer.</summary>
public class SipTrustedPeerTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly FakeSipHost _host = new();
    private readonly RecordingSipTransport _transport = new();

    private SipNotifier Notifier(params string[] addresses)
    {
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" } };
        options.Authentication.Enabled = true;
        options.Authentication.Realm = "example.com";
        options.Authentication.CredentialsFile = "unused (parsed below)";
        options.TrustedPeers.Add(new SipTrustedPeerOptions { Username = "cna-example-net", Password = "peer-secret", Domains = { "example.net" }, Addresses = [.. addresses] });
        Assert.Empty(options.Validate());
        var notifier = new SipNotifier(options, _host, SipCredentials.Parse(["juliet:secret"], "example.com"), _time, NullLogger<SipNotifier>.Instance);
        notifier.AddTransport(_transport);
        return notifier;
    }

    private async Task<SipResponse> Request(SipNotifier notifier, SipRequest request, TestSubscriber ua)
    {
        var before = _transport.Responses.Count;
        notifier.Receive(new SipReceivedMessage(request, _transport, ua.EndPoint));
        await Wait.Until(() => _transport.Responses.Count > before, "a response to " + request.Method);
        return _transport.Responses[before];
    }

    private async Task<SipResponse> Authenticated(SipNotifier notifier, string user, string password, string? asserted)
    {
        var ua = new TestSubscriber();
        var challenge = await Request(notifier, ua.Subscribe(), ua);
        Assert.Equal(401, challenge.StatusCode);
        var request = ua.Subscribe();
        if (asserted is not null)
        {
            request.Headers.Add(SipTrustedPeers.AssertedIdentityHeader, asserted);
        }
        Assert.True(new DigestClient(user, password).Authorize(request, challenge));
        return await Request(notifier, request, ua);
    }

    [Fact]
    public async Task A_trusted_peer_is_authorized_as_the_identity_it_asserts()
    {
        var notifier = Notifier("127.0.0.1");
        Assert.Equal(200, (await Authenticated(notifier, "cna-example-net", "peer-secret", "\"Romeo\" <sip:romeo@example.net>")).StatusCode);
        Assert.Equal("sip:romeo@example.net", Assert.Single(_host.Live.Values).Subscriber);
    }

    [Fact]
    public async Task A_trusted_peer_without_an_assertion_is_itself()
    {
        var notifier = Notifier();
        Assert.Equal(200, (await Authenticated(notifier, "cna-example-net", "peer-secret", null)).StatusCode);
        Assert.Equal("sip:cna-example-net@example.com", Assert.Single(_host.Live.Values).Subscriber);
    }

    [Fact]
    public async Task An_ordinary_user_asserting_an_identity_is_still_itself()
    {
        var notifier = Notifier();
        Assert.Equal(200, (await Authenticated(notifier, "juliet", "secret", "<sip:mallory@example.net>")).StatusCode);
        Assert.Equal("sip:juliet@example.com", Assert.Single(_host.Live.Values).Subscriber);
    }

    [Theory]
    [InlineData("<sip:romeo@example.org>", "may not assert identities of example.org")]
    [InlineData("<tel:+1555>", "needs a sip: URI")]
    [InlineData("<sip:example.net>", "needs a sip: URI")]
    [InlineData("not a uri", "malformed")]
    public async Task A_peer_asserting_what_it_may_not_gets_403(string asserted, string reason)
    {
        var notifier = Notifier();
        var r = await Authenticated(notifier, "cna-example-net", "peer-secret", asserted);
        Assert.Equal(403, r.StatusCode);
        Assert.Contains(reason, r.ReasonPhrase, StringComparison.Ordinal);
        Assert.Empty(_host.Live);
    }

    [Fact]
    public async Task A_peer_from_another_address_or_with_a_wrong_secret_gets_403()
    {
        var notifier = Notifier("192.0.2.7");
        var r = await Authenticated(notifier, "cna-example-net", "peer-secret", "<sip:romeo@example.net>");
        Assert.Equal(403, r.StatusCode);
        Assert.Contains("address", r.ReasonPhrase, StringComparison.Ordinal);
        Assert.Equal(403, (await Authenticated(Notifier(), "cna-example-net", "guess", "<sip:romeo@example.net>")).StatusCode);
        Assert.Empty(_host.Live);
    }

    [Fact]
    public void Peers_need_username_password_domains_and_authentication()
    {
        var options = new SipNotifierOptions { Enabled = true };
        options.Authentication.CredentialsFile = "x";
        options.TrustedPeers.Add(new SipTrustedPeerOptions { Username = "cna", Addresses = { "nope" } });
        var errors = options.Validate().ToList();
        Assert.Contains(errors, e => e.Contains("needs Username, Password and Domains", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("'nope' is not an IP address", StringComparison.Ordinal));
        options.Authentication.Enabled = false;
        Assert.Contains(options.Validate(), e => e.Contains("need Pna:Sip:Authentication:Enabled", StringComparison.Ordinal));
    }
}
