using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>The Cyrus fixture's syslog sink receives what Cyrus logs (it logs nowhere else).</summary>
[Collection(CyrusCollection.Name)]
public sealed class CyrusSyslogTests(CyrusFixture fixture) : IClassFixture<CyrusFixture>
{
    [Fact]
    public async Task A_login_shows_in_the_fixtures_syslog()
    {
        var cyrus = fixture.Server;
        await using (var client = await cyrus.ConnectAsync())
        {
            await client.LoginAsync(CyrusServer.Juliet.User, CyrusServer.Juliet.Password);
            await client.LogoutAsync();
        }
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (!cyrus.SyslogTail(2000).Contains("login:", StringComparison.Ordinal))
        {
            if (DateTime.UtcNow > deadline)
            {
                Assert.Fail($"no Cyrus 'login:' line in its syslog ({cyrus.SyslogLines} lines):\n{cyrus.SyslogTail()}");
            }
            await Task.Delay(50);
        }
        Assert.Contains("juliet", cyrus.SyslogTail(2000), StringComparison.Ordinal);
    }
}
