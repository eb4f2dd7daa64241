namespace Aggregators.Integration.Tests.Peers;

public class RequiredPeerTests
{
    [Fact]
    public void A_missing_peer_fails_with_the_install_hint()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => RequiredPeer.Executable("/nonexistent/peer", "no-such-package"));
        Assert.Contains("no-such-package", ex.Message, StringComparison.Ordinal);
        Assert.Contains("install-test-deps.sh", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Ports_are_distinct_and_bindable()
    {
        var a = TestPorts.Next();
        var b = TestPorts.Next();
        Assert.NotEqual(a, b);
        Assert.InRange(a, 1024, 65535);
    }
}
