namespace Aggregators.Deploy.Tests;

public sealed class OptionKeysTests
{
    [Fact]
    public void Real_options_pass_and_misspelt_or_unknown_ones_are_named()
    {
        Assert.Empty(OptionKeys.Check(new Dictionary<string, string?>
        {
            ["Urls"] = "http://0.0.0.0:8480",
            ["Pna:Xmpp:Port"] = "5347",
            ["Bridge:Servers:0:Users:0"] = "juliet@example.com",
            ["Logging:LogLevel:Default"] = "Debug",
        }));
        var errors = OptionKeys.Check(new Dictionary<string, string?>
        {
            ["Pna:Xmpp:Prot"] = "5347",
            ["Bridge:Servers:0:Passwd"] = "x",
            ["Pnaa:DataDirectory"] = "/var/lib/pna",
        });
        Assert.Equal(3, errors.Count);
        Assert.Contains(errors, e => e.Contains("Prot", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Passwd", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Contains("Pnaa:DataDirectory", StringComparison.Ordinal));
    }
}
