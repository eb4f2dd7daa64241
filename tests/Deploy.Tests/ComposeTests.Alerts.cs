using System.Text.RegularExpressions;
using Aggregators.Pna.Alerts;
using Aggregators.Pna.Hosting;
using Aggregators.SieveAlert;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Deploy.Tests;

/// <summary>
/// pna-alert in the compose stack (docs/alerts.md): the Dovecot image builds it, Dovecot's Sieve
/// can run it through the wrapper, and the settings the entrypoint writes reach the PNA with the
/// token of the alert source the PNA is given.
/// </summary>
public sealed partial class ComposeTests
{
    private const string SieveWrapper = "deploy/dovecot/sieve-bin/pna-alert";

    [Fact]
    public void The_Dovecot_image_builds_pna_alert_and_installs_it_where_the_Sieve_wrapper_runs_it()
    {
        var (_, context, dockerfile) = Builds().Single(b => b.Service == "dovecot");
        var file = Dockerfile.Read(dockerfile);
        var publish = file.Instructions.Single(i => i.Instruction == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
        var project = PublishedProject().Match(publish.Arguments).Groups[1].Value;
        Assert.Equal("src/SieveAlert/SieveAlert.csproj", project);
        Assert.Contains("--self-contained true", publish.Arguments, StringComparison.Ordinal); // the Debian image has no .NET runtime
        var copied = file.ContextSources().ToHashSet(StringComparer.Ordinal);
        foreach (var needed in ProjectClosure(Path.Combine(context, project)))
        {
            var relative = Path.GetRelativePath(context, needed).Replace('\\', '/');
            Assert.True(copied.Contains(relative), $"dovecot: the Dockerfile restores {project} but does not COPY {relative} before the restore");
        }

        // The published directory is copied into the Dovecot stage, where the wrapper executes it.
        var output = PublishOutput().Match(publish.Arguments).Groups[1].Value;
        var install = file.Instructions.Single(i => i.Instruction == "COPY" && i.Arguments.StartsWith("--from=", StringComparison.Ordinal))
            .Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(output, install[1]);
        var wrapper = File.ReadAllLines(Repository.PathOf(SieveWrapper));
        Assert.Equal($"exec {install[2]}/Aggregators.SieveAlert \"$@\"", wrapper.Single(l => l.StartsWith("exec ", StringComparison.Ordinal)));
        Assert.StartsWith("#!/bin/sh", wrapper[0], StringComparison.Ordinal);
        Assert.True(Repository.IsExecutable(SieveWrapper), $"{SieveWrapper} is not executable");

        // The wrapper's directory is the one Sieve runs programs from.
        var conf = File.ReadAllText(Repository.PathOf("deploy/dovecot/dovecot.conf"));
        var binDir = SieveExecuteBinDir().Match(conf).Groups[1].Value;
        Assert.Contains(file.Instructions, i => i.Instruction == "COPY" && i.Arguments == $"deploy/dovecot/sieve-bin/ {binDir}/");
    }

    [Fact]
    public void The_settings_Dovecot_writes_for_pna_alert_are_valid_and_reach_the_PNA_as_its_alert_source()
    {
        var entrypoint = File.ReadAllText(Repository.PathOf("deploy/dovecot/entrypoint.sh"));
        var heredoc = SettingsHeredoc().Match(entrypoint);
        Assert.True(heredoc.Success, "entrypoint.sh writes no settings file for pna-alert");
        var path = heredoc.Groups[1].Value;
        Assert.Contains($"export PNA_ALERT_CONFIG={path}", File.ReadAllLines(Repository.PathOf(SieveWrapper)));

        var text = heredoc.Groups[2].Value
            .Replace("${PNA_ALERT_URL}", Env("dovecot", "PNA_ALERT_URL"), StringComparison.Ordinal)
            .Replace("${PNA_ALERT_TOKEN}", Env("dovecot", "PNA_ALERT_TOKEN"), StringComparison.Ordinal);
        Assert.DoesNotContain("${", text, StringComparison.Ordinal);
        var temp = Path.GetTempFileName();
        try
        {
            File.WriteAllText(temp, text);
            var problems = new List<string>();
            var config = SieveAlertConfig.Load(temp, new Dictionary<string, string?>(), problems);
            Assert.True(problems.Count == 0, string.Join("\n", problems));

            // The PNA service, its HTTP port, and its alert source with the same token.
            var pna = Compose.Configuration("pna");
            Assert.Equal("pna", config.Url.Host);
            Assert.Equal(new Uri(pna["Urls"]!).Port, config.Url.Port);
            var app = PnaApplication.Build(pna.Select(kv => $"--{kv.Key}={kv.Value}").ToArray());
            var alerts = app.Services.GetRequiredService<IOptions<AlertOptions>>().Value; // runs the validator
            Assert.Contains(alerts.Sources, s => s.Token == config.Token);

            // The spool is a volume, created writable for the mail user in the image.
            Assert.Contains(Compose.Volumes("dovecot"), v => v.Target == config.Spool);
            var run = string.Join(' ', Dockerfile.Read(Repository.PathOf("deploy/dovecot/Dockerfile")).Instructions.Where(i => i.Instruction == "RUN").Select(i => i.Arguments));
            Assert.Contains($"chown vmail:vmail {config.Spool}", run, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(temp);
        }
    }

    [GeneratedRegex(@"\s-o\s+(\S+)")]
    private static partial Regex PublishOutput();

    [GeneratedRegex(@"sieve_execute_bin_dir\s*=\s*(\S+)")]
    private static partial Regex SieveExecuteBinDir();

    [GeneratedRegex(@"cat > (\S+) <<CONF\n(.*?)\nCONF\n", RegexOptions.Singleline)]
    private static partial Regex SettingsHeredoc();
}
