using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Sip;

/// <summary>SIPp as an RFC 3842 subscriber: digest auth, NOTIFY, refresh, un-SUBSCRIBE with the final NOTIFY.</summary>
public sealed class SippSubscribeTests
{
    [Fact]
    public async Task Subscribe_auth_notify_refresh_unsubscribe()
    {
        var dir = RequiredPeer.TempDirectory("pna-sipp");
        await using var pna = await SipPna.StartAsync(dir, TestPorts.Next(), new Dictionary<string, string>
        {
            ["Pna:Sip:Authentication:Algorithms:0"] = "MD5", // SIPp 3.6 answers MD5 challenges only
        });
        await pna.MailboxChangedAsync(messages: 3, unseen: 2);

        var scenario = Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "sipp", "mwi-subscribe.xml");
        var (code, output) = await SippRunner.RunAsync(scenario, $"127.0.0.1:{pna.Port}", TestPorts.Next(), "juliet", TimeSpan.FromSeconds(30));
        Assert.True(code == 0, $"sipp exited with {code}:\n{output}");
        await WaitFor(() => pna.Subscriptions.Count == 0, "the subscription to be freed after the final NOTIFY");
    }

    internal static async Task WaitFor(Func<bool> condition, string what, int seconds = 15)
    {
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }
}
