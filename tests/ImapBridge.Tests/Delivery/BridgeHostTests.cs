using Aggregators.ImapBridge.Hosting;
using Microsoft.Extensions.Options;

namespace Aggregators.ImapBridge.Tests.Delivery;

/// <summary>The standalone host refuses to start with an unusable configuration, saying which keys.</summary>
public sealed class BridgeHostTests
{
    [Fact]
    public async Task Missing_token_and_servers_stop_the_start_with_the_keys()
    {
        var dir = Path.Combine(Path.GetTempPath(), "bridgehost-" + Guid.NewGuid().ToString("N"));
        await using var app = BridgeHost.Build(["--urls=http://127.0.0.1:0", $"--Bridge:DataDirectory={dir}", "--Logging:LogLevel:Default=None"]);
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("Bridge:Http:Token", e.Message, StringComparison.Ordinal);
        if (Directory.Exists(dir))
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
