using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>The minimal registrar challenges REGISTER like SUBSCRIBE (baresip answers its 401s).</summary>
public sealed class BaresipRegistrarAuthTests
{
    [Fact]
    public async Task A_wrong_password_gets_403_on_register_and_no_subscription()
    {
        var dir = RequiredPeer.TempDirectory("pna-baresip-reg");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), new Dictionary<string, string>
        {
            ["Pna:Sip:Registrar:Enabled"] = "true",
            ["Pna:Sip:Authentication:Algorithms:0"] = "MD5",
        });
        await using var phone = await BaresipPhone.StartAsync(pna.Port, "not-" + SipPna.Password, TimeSpan.FromSeconds(60));
        await SippSubscribeTests.WaitFor(() => phone.Log.Contains("reg: sip:juliet@example.com: 403 Forbidden (wrong credentials)", StringComparison.Ordinal), "baresip to report the 403 to its REGISTER", 30);
        Assert.Empty(pna.Subscriptions.Snapshot()); // mwi.so subscribes only after a successful REGISTER
    }
}
