using Aggregators.ImapBridge.Imap;
using Aggregators.Integration.Tests.Peers;

namespace Aggregators.Integration.Tests.Imap;

/// <summary>Dovecot going away under a client (own fixture: the restart must not disturb other tests).</summary>
public sealed class DovecotRestartTests(DovecotFixture fixture) : IClassFixture<DovecotFixture>
{
    [Fact]
    public async Task Restart_mid_idle_surfaces_a_connection_lost_error_and_a_new_connection_works()
    {
        var dovecot = fixture.Server;
        var client = await dovecot.ConnectAsync();
        await client.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
        await client.SelectAsync("INBOX");
        var idle = await client.IdleAsync();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var reading = Task.Run(async () =>
        {
            await foreach (var _ in idle.ReadAllAsync(cts.Token))
            {
            }
        });

        await dovecot.RestartAsync();

        var e = await Assert.ThrowsAsync<ImapConnectionException>(() => reading);
        Assert.Matches("closed the connection|connection lost", e.Message);
        Assert.False(client.IsConnected);
        await Assert.ThrowsAsync<ImapConnectionException>(() => client.NoopAsync());
        await idle.DisposeAsync();
        await client.DisposeAsync();

        await using var again = await dovecot.ConnectAsync();
        await again.LoginAsync(DovecotServer.Juliet.User, DovecotServer.Juliet.Password);
        Assert.True(again.Supports("NOTIFY"));
    }
}
