using Aggregators.SieveAlert;

namespace Aggregators.Deploy.Tests;

/// <summary>pna-alert for a plain install (docs/alerts.md): publish.sh, the example settings and wrapper, the drain timer.</summary>
public sealed class AlertHookPlainTests
{
    private const string Installed = "/opt/aggregators/pna-alert/Aggregators.SieveAlert";

    [Fact]
    public void Publish_sh_publishes_every_program_including_pna_alert_with_its_launcher()
    {
        var script = File.ReadAllText(Repository.PathOf("scripts/publish.sh"));
        var list = script[script.IndexOf("projects=(", StringComparison.Ordinal)..];
        list = list[..list.IndexOf(')', StringComparison.Ordinal)];
        var projects = list["projects=(".Length..].Split([' ', '\n'], StringSplitOptions.RemoveEmptyEntries)
            .Select(p => p.Split(':')).ToDictionary(p => p[0], p => p[1]);
        Assert.Equal("src/SieveAlert/SieveAlert.csproj", projects["pna-alert"]);
        Assert.All(projects.Values, p => Assert.True(File.Exists(Repository.PathOf(p)), p));
        // Sieve's wrapper execs the native launcher, so pna-alert is published with it.
        Assert.Contains("[ \"$name\" = pna-alert ] && apphost=true", script, StringComparison.Ordinal);
    }

    [Fact]
    public void The_example_settings_load_and_the_example_wrapper_runs_the_installed_program_with_them()
    {
        var problems = new List<string>();
        var config = SieveAlertConfig.Load(Repository.PathOf("deploy/examples/sieve-alert.conf"), new Dictionary<string, string?>(), problems);
        Assert.True(problems.Count == 0, string.Join("\n", problems));
        Assert.NotEmpty(config.Token);
        Assert.Equal("/var/spool/aggregators/alerts", config.Spool);
        var wrapper = File.ReadAllLines(Repository.PathOf("deploy/examples/pna-alert.sh"));
        Assert.Contains($"export PNA_ALERT_CONFIG={SieveAlertConfig.DefaultPath}", wrapper);
        Assert.Equal($"exec {Installed} \"$@\"", wrapper.Single(l => l.StartsWith("exec ", StringComparison.Ordinal)));
        Assert.True(Repository.IsExecutable("deploy/examples/pna-alert.sh"), "deploy/examples/pna-alert.sh is not executable");
    }

    [Fact]
    public void The_drain_timer_runs_one_drain_pass_as_the_mail_user_with_the_settings_file()
    {
        static Dictionary<string, List<string>> Unit(string name) =>
            File.ReadAllLines(Repository.PathOf("deploy/systemd/" + name))
                .Where(l => l.Contains('=', StringComparison.Ordinal) && !l.StartsWith('#'))
                .GroupBy(l => l[..l.IndexOf('=', StringComparison.Ordinal)], l => l[(l.IndexOf('=', StringComparison.Ordinal) + 1)..])
                .ToDictionary(g => g.Key, g => g.ToList());
        var service = Unit("pna-alert-drain.service");
        Assert.Equal([$"{Installed} --drain --once"], service["ExecStart"]);
        Assert.Equal(["oneshot"], service["Type"]);
        Assert.Equal(["vmail"], service["User"]);
        Assert.Contains($"PNA_ALERT_CONFIG={SieveAlertConfig.DefaultPath}", service["Environment"]);
        Assert.Equal(["/var/spool/aggregators/alerts"], service["ReadWritePaths"]);
        var timer = Unit("pna-alert-drain.timer");
        Assert.Equal(["pna-alert-drain.service"], timer["Unit"]);
        Assert.Equal(["timers.target"], timer["WantedBy"]);
    }
}
