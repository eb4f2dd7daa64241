using Aggregators.Pna.Transports.Sip;
using Aggregators.Sip;
using Aggregators.Sip.Auth;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;
using Microsoft.Extensions.Logging.Abstractions;

namespace Aggregators.Pna.Tests.Sip;

/// <summary>The minimal registrar: digest like SUBSCRIBE, own address of record only, the 200 held back.</summary>
public class SipRegistrarTests
{
    private readonly ManualTimeProvider _time = new();
    private readonly RecordingSipTransport _transport = new();
    private readonly TestSubscriber _ua = new();

    private SipNotifier Notifier(bool authentication)
    {
        var options = new SipNotifierOptions { Enabled = true, Domains = { "example.com" } };
        options.Authentication.Enabled = authentication;
        options.Authentication.Realm = "example.com";
        options.Registrar.Enabled = true;
        var notifier = new SipNotifier(options, new FakeSipHost(), SipCredentials.Parse(["juliet:secret", "romeo:r"], "example.com"), _time, NullLogger<SipNotifier>.Instance);
        notifier.AddTransport(_transport);
        return notifier;
    }

    private SipRequest Register(string aor = "sip:juliet@example.com", uint cseq = 1) => (SipRequest)SipMessageParser.Parse(
        "REGISTER sip:example.com SIP/2.0\r\n" +
        $"Via: SIP/2.0/UDP 127.0.0.1:{_ua.EndPoint.Port};branch={SipTransactionKey.NewBranch()};rport\r\n" +
        "Max-Forwards: 70\r\n" +
        $"From: <{aor}>;tag=r1\r\n" +
        $"To: <{aor}>\r\n" +
        "Call-ID: reg-1\r\n" +
        $"CSeq: {cseq} REGISTER\r\n" +
        $"Contact: <sip:juliet@127.0.0.1:{_ua.EndPoint.Port}>\r\n" +
        "Expires: 600\r\n" +
        "Content-Length: 0\r\n\r\n");

    /// <summary>Sends the REGISTER and moves the clock on until an answer is there (the 200 is held back).</summary>
    private async Task<(SipResponse Response, TimeSpan After)> Answer(SipNotifier notifier, SipRequest request)
    {
        var before = _transport.Responses.Count;
        var start = _time.GetUtcNow();
        notifier.Receive(new SipReceivedMessage(request, _transport, _ua.EndPoint));
        // The clock moves only after a real second without an answer: what is answered at once
        // (the 401) is seen at the start time however busy the machine is.
        var grace = DateTime.UtcNow.AddSeconds(1);
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (_transport.Responses.Count == before)
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("no answer to the REGISTER");
            await Task.Delay(5);
            if (_transport.Responses.Count == before && DateTime.UtcNow > grace) _time.Advance(TimeSpan.FromMilliseconds(50));
        }
        return (_transport.Responses[before], _time.GetUtcNow() - start);
    }

    [Fact]
    public async Task Register_is_challenged_then_answered_200_after_the_delay()
    {
        var notifier = Notifier(authentication: true);
        var (challenge, fast) = await Answer(notifier, Register());
        Assert.Equal(401, challenge.StatusCode);
        Assert.NotEmpty(challenge.WwwAuthenticate);
        Assert.Equal(TimeSpan.Zero, fast); // the challenge is not held back

        var again = Register(cseq: 2);
        Assert.True(new DigestClient("juliet", "secret").Authorize(again, challenge));
        var (ok, after) = await Answer(notifier, again);
        Assert.Equal(200, ok.StatusCode);
        Assert.Equal(600u, ok.Expires);
        Assert.Single(ok.Contact);
        Assert.True(after >= TimeSpan.FromMilliseconds(200), $"the 200 came after {after}");
    }

    [Fact]
    public async Task Wrong_password_and_someone_elses_address_of_record_get_403()
    {
        var notifier = Notifier(authentication: true);
        var (challenge, _) = await Answer(notifier, Register());
        var wrong = Register(cseq: 2);
        new DigestClient("juliet", "guess").Authorize(wrong, challenge);
        Assert.Equal(403, (await Answer(notifier, wrong)).Response.StatusCode);

        var (challenge2, _) = await Answer(notifier, Register("sip:juliet@example.com", 3));
        var hijack = Register(cseq: 4);
        new DigestClient("romeo", "r").Authorize(hijack, challenge2);
        var r = (await Answer(notifier, hijack)).Response;
        Assert.Equal(403, r.StatusCode);
        Assert.Contains("sip:romeo@example.com", r.ReasonPhrase, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_authentication_any_register_gets_200()
    {
        var (ok, _) = await Answer(Notifier(authentication: false), Register());
        Assert.Equal(200, ok.StatusCode);
    }
}
