using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Cna.Xmpp;

/// <summary>
/// One Prosody for both domains: vhosts example.com and example.net, the PNA's component
/// events.example.com and the CNA's events.example.net, and 49 more local users u0..u48@example.net.
/// </summary>
public sealed class CnaXmppPeers : IAsyncLifetime
{
    public const int RawSubscribers = 49;

    public ProsodyServer Prosody { get; } = new()
    {
        ExtraComponents = ["events.example.net"],
        ExtraUsers = Enumerable.Range(0, RawSubscribers).ToDictionary(i => $"u{i}@example.net", _ => "pw"),
    };

    public Task InitializeAsync() => Prosody.InitializeAsync();

    public Task DisposeAsync() => Prosody.DisposeAsync();
}
