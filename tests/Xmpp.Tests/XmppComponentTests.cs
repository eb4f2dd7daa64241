using System.Threading.Channels;
using Aggregators.Xmpp.Component;
using Aggregators.Xmpp.Stanzas;

namespace Aggregators.Xmpp.Tests;

public class XmppComponentTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private sealed class States
    {
        private readonly Channel<ComponentStateChangedEventArgs> _changes = Channel.CreateUnbounded<ComponentStateChangedEventArgs>();

        public States(XmppComponent component) => component.StateChanged += (_, e) => _changes.Writer.TryWrite(e);

        public async Task<ComponentStateChangedEventArgs> NextAsync()
        {
            using var cts = new CancellationTokenSource(Wait);
            return await _changes.Reader.ReadAsync(cts.Token);
        }

        public async Task<ComponentStateChangedEventArgs> UntilAsync(ComponentState state)
        {
            while (true)
            {
                var e = await NextAsync();
                if (e.State == state)
                {
                    return e;
                }
            }
        }
    }

    private static Message Note() => new(MessageType.Chat, Jid.Parse("romeo@example.net"), Jid.Parse("events.example.com")) { Body = "x" };

    [Fact]
    public async Task Reconnects_when_the_server_drops_the_connection()
    {
        using var server = new FakeComponentServer();
        await using var component = new XmppComponent(server.Options(), (_, _) => ValueTask.CompletedTask);
        var states = new States(component);
        component.Start();
        Assert.Equal(ComponentState.Connecting, (await states.NextAsync()).State);
        using (var first = await server.AcceptAsync())
        {
            await first.HandshakeAsync();
            Assert.Equal(ComponentState.Connected, (await states.NextAsync()).State);
            await component.WaitUntilConnectedAsync(CancellationToken.None).WaitAsync(Wait);
            await component.SendAsync(Note(), CancellationToken.None);
            await first.ReadUntilAsync("</message>");
        }
        var lost = await states.NextAsync();
        Assert.Equal(ComponentState.Disconnected, lost.State);
        Assert.NotNull(lost.RetryDelay);
        Assert.Throws<ComponentNotConnectedException>(() => component.SendAsync(Note(), CancellationToken.None).AsTask().GetAwaiter().GetResult());
        Assert.False(component.TrySend(Note()));

        Assert.Equal(ComponentState.Connecting, (await states.NextAsync()).State);
        using var second = await server.AcceptAsync();
        await second.HandshakeAsync();
        Assert.Equal(ComponentState.Connected, (await states.NextAsync()).State);
        Assert.True(component.TrySend(Note()));
        await second.ReadUntilAsync("</message>");
    }

    [Fact]
    public async Task A_conflict_is_retried_with_backoff()
    {
        using var server = new FakeComponentServer();
        await using var component = new XmppComponent(server.Options(), (_, _) => ValueTask.CompletedTask);
        var states = new States(component);
        component.Start();
        using (var first = await server.AcceptAsync())
        {
            await first.HandshakeAsync(FakePeer.StreamError("conflict", "Component already connected"));
            var refused = await states.UntilAsync(ComponentState.Disconnected);
            Assert.Equal(ComponentFailure.Conflict, refused.Failure);
            Assert.Contains("Component already connected", refused.Reason, StringComparison.Ordinal);
            Assert.NotNull(refused.RetryDelay);
        }
        using var second = await server.AcceptAsync();
        await second.HandshakeAsync();
        var connected = await states.UntilAsync(ComponentState.Connected);
        Assert.Equal(2, connected.Attempt);
    }

    [Fact]
    public async Task A_wrong_secret_stops_the_component_with_the_reason()
    {
        using var server = new FakeComponentServer();
        await using var component = new XmppComponent(server.Options(), (_, _) => ValueTask.CompletedTask);
        var states = new States(component);
        component.Start();
        using var peer = await server.AcceptAsync();
        await peer.HandshakeAsync(FakePeer.StreamError("not-authorized"));
        var stopped = await states.UntilAsync(ComponentState.Stopped);
        Assert.Equal(ComponentFailure.NotAuthorized, stopped.Failure);
        Assert.Contains("secret", stopped.Reason, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ComponentException>(() => component.WaitUntilConnectedAsync(CancellationToken.None).WaitAsync(Wait));
    }

    [Fact]
    public async Task Stop_closes_the_stream_and_reports_stopped()
    {
        using var server = new FakeComponentServer();
        var component = new XmppComponent(server.Options(), (_, _) => ValueTask.CompletedTask);
        var states = new States(component);
        component.Start();
        using var peer = await server.AcceptAsync();
        await peer.HandshakeAsync();
        await states.UntilAsync(ComponentState.Connected);
        await component.DisposeAsync().AsTask().WaitAsync(Wait);
        Assert.Equal(ComponentState.Stopped, (await states.UntilAsync(ComponentState.Stopped)).State);
        Assert.EndsWith("</stream:stream>", await peer.ReadToEndAsync(), StringComparison.Ordinal);
    }
}
