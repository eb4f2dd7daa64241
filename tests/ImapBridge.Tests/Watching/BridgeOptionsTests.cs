namespace Aggregators.ImapBridge.Tests.Watching;

public sealed class BridgeOptionsTests
{
    [Fact]
    public void Disabled_is_valid_with_nothing_configured() => Assert.Empty(new BridgeOptions().Validate());

    [Fact]
    public void Enabled_needs_servers_and_credentials()
    {
        Assert.Contains(new BridgeOptions { Enabled = true }.Validate(), e => e.Contains("Servers is empty", StringComparison.Ordinal));
        var o = new BridgeOptions
        {
            Enabled = true,
            Servers =
            [
                new ImapServerOptions { Users = ["juliet"], Accounts = [new AccountOptions { Login = "romeo" }], IdleRenewInterval = TimeSpan.FromMinutes(30) },
            ],
        };
        var errors = o.Validate();
        Assert.Contains(errors, e => e.Contains("Users needs MasterUser", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Accounts:0:Password is missing", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("below 29 minutes", StringComparison.Ordinal));
    }

    [Fact]
    public void Master_user_accounts_are_listed_after_own_accounts()
    {
        var s = new ImapServerOptions
        {
            MasterUser = new MasterUserOptions { User = "admin", Password = "pw" },
            Accounts = [new AccountOptions { Login = "a", Password = "x" }],
            Users = ["b", "c"],
        };
        Assert.Equal(["a", "b", "c"], s.AllAccounts().Select(a => a.Login));
        Assert.Empty(new BridgeOptions { Enabled = true, Servers = [s] }.Validate());
    }
}
