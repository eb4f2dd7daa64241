using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using Aggregators.Cna.Hosting;
using Aggregators.ImapBridge;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.Transports.Sip;
using Aggregators.Pna.Transports.Xmpp;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Deploy.Tests;

/// <summary>
/// docker-compose.yml against the code: Compose accepts it, every file it or a Dockerfile refers
/// to exists, every environment variable names a real option with a valid value, and every port
/// agrees with what the services are configured to listen on.
/// </summary>
public sealed partial class ComposeTests
{
    private static readonly Lazy<ComposeModel> Model = new(ComposeModel.Load);

    private static ComposeModel Compose => Model.Value;

    [Fact]
    public void Compose_accepts_the_file_and_it_declares_the_whole_stack_with_healthchecks_and_state_volumes()
    {
        Assert.Equal(["cna", "dovecot", "pna", "prosody"], Compose.ServiceNames.Order(StringComparer.Ordinal));
        foreach (var name in Compose.ServiceNames)
        {
            Assert.True(Compose.Service(name).TryGetProperty("healthcheck", out _), $"service {name} has no healthcheck");
        }
        var named = Compose.Root.GetProperty("volumes").EnumerateObject().Select(v => v.Name).ToHashSet();
        Assert.Contains(("pna", "/var/lib/pna"), Compose.Volumes("pna"));
        Assert.Contains(("cna", "/var/lib/cna"), Compose.Volumes("cna"));
        Assert.Contains(("mail", "/srv/mail"), Compose.Volumes("dovecot"));
        Assert.Contains(("prosody", "/var/lib/prosody"), Compose.Volumes("prosody"));
        Assert.Superset(new HashSet<string> { "pna", "cna", "mail", "prosody" }, named);
    }

    [Fact]
    public void Every_build_context_Dockerfile_and_copied_file_exists()
    {
        foreach (var (service, context, dockerfile) in Builds())
        {
            Assert.True(Directory.Exists(context), $"{service}: build context {context} does not exist");
            Assert.True(File.Exists(dockerfile), $"{service}: {dockerfile} does not exist");
            foreach (var source in Dockerfile.Read(dockerfile).ContextSources())
            {
                var path = Path.Combine(context, source);
                Assert.True(File.Exists(path) || Directory.Exists(path),
                    $"{service}: {Path.GetRelativePath(Repository.Root, dockerfile)} copies '{source}', which is not in its context {context}");
            }
        }
    }

    [Fact]
    public void The_dotnet_Dockerfiles_copy_every_project_they_restore_and_run_the_assembly_they_publish()
    {
        foreach (var (service, context, dockerfile) in Builds().Where(b => b.Service is "pna" or "cna"))
        {
            var file = Dockerfile.Read(dockerfile);
            var publish = file.Instructions.Single(i => i.Instruction == "RUN" && i.Arguments.Contains("dotnet publish", StringComparison.Ordinal));
            var project = PublishedProject().Match(publish.Arguments).Groups[1].Value;
            var copied = file.ContextSources().ToHashSet(StringComparer.Ordinal);
            foreach (var needed in ProjectClosure(Path.Combine(context, project)))
            {
                var relative = Path.GetRelativePath(context, needed).Replace('\\', '/');
                Assert.True(copied.Contains(relative),
                    $"{service}: {Path.GetRelativePath(Repository.Root, dockerfile)} restores {project} but does not COPY {relative} before the restore");
            }
            Assert.Contains("Directory.Packages.props", string.Join(' ', copied), StringComparison.Ordinal);
            var assembly = "Aggregators." + Path.GetFileNameWithoutExtension(project) + ".dll";
            Assert.Contains($"\"{assembly}\"", file.Last("ENTRYPOINT"), StringComparison.Ordinal);
            Assert.Contains("$APP_UID", file.Last("USER"), StringComparison.Ordinal);
        }
    }

    [Fact]
    public void Every_bind_mounted_file_exists()
    {
        foreach (var service in Compose.ServiceNames)
        {
            foreach (var (source, target) in Compose.Volumes(service).Where(v => v.Source.StartsWith('/')))
            {
                Assert.True(File.Exists(source) || Directory.Exists(source), $"{service}: {source} (mounted at {target}) does not exist");
            }
        }
    }

    [Theory]
    [InlineData("pna")]
    [InlineData("cna")]
    public void Every_environment_variable_names_a_real_option(string service)
    {
        var errors = OptionKeys.Check(Compose.Configuration(service));
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [Fact]
    public void The_PNA_options_compose_sets_pass_the_PNA_validation()
    {
        var args = Compose.Configuration("pna").Select(kv => $"--{kv.Key}={kv.Value}").ToArray();
        var app = PnaApplication.Build(args);
        var services = app.Services;
        Assert.Equal("/var/lib/pna", services.GetRequiredService<IOptions<PnaOptions>>().Value.DataDirectory);
        Assert.True(services.GetRequiredService<IOptions<XmppPubsubOptions>>().Value.Enabled);
        var sip = services.GetRequiredService<IOptions<SipNotifierOptions>>().Value;
        Assert.True(sip.Enabled); // .Value ran the registered validators: a bad value would have thrown
        var bridge = services.GetRequiredService<IOptions<BridgeOptions>>().Value;
        Assert.True(bridge.Enabled);
        Assert.Empty(bridge.Validate());
    }

    [Fact]
    public void The_CNA_options_compose_sets_bind()
    {
        var args = Compose.Configuration("cna").Select(kv => $"--{kv.Key}={kv.Value}").ToArray();
        var app = CnaApplication.Build(args);
        Assert.Equal("/var/lib/cna", app.Services.GetRequiredService<IOptions<CnaOptions>>().Value.DataDirectory);
    }

    [Fact]
    public void PNA_ports_are_the_ones_it_listens_on()
    {
        var pna = Compose.Configuration("pna");
        var http = new Uri(pna["Urls"]!).Port;
        Assert.Equal(new Uri(PnaApplication.DefaultUrl).Port, http);
        var expected = new HashSet<(int, string)> { (http, "tcp") };
        foreach (var (key, protocol) in new[] { ("Pna:Sip:Udp:0", "udp"), ("Pna:Sip:Tcp:0", "tcp") })
        {
            expected.Add((System.Net.IPEndPoint.Parse(pna[key]!).Port, protocol));
        }
        var published = Compose.Ports("pna").Select(p => (p.Target, p.Protocol)).ToHashSet();
        Assert.Equal(expected, published);
        Assert.Contains($"127.0.0.1:{http}/readyz", Healthcheck("pna"), StringComparison.Ordinal);
        var exposed = Dockerfile.Read(Repository.PathOf("deploy/pna/Dockerfile")).ExposedPorts().ToHashSet();
        Assert.Superset(exposed, expected.Select(e => $"{e.Item1}/{e.Item2}").ToHashSet());
        // The fixed address the SIP notifier binds (Via/Contact) is the one compose gives the container.
        var address = Compose.Service("pna").GetProperty("networks").GetProperty("mail").GetProperty("ipv4_address").GetString();
        Assert.Equal(address, System.Net.IPEndPoint.Parse(pna["Pna:Sip:Udp:0"]!).Address.ToString());
    }

    [Fact]
    public void CNA_ports_are_the_ones_it_listens_on()
    {
        var http = new Uri(Compose.Configuration("cna")["Urls"]!).Port;
        Assert.Equal(new Uri(CnaApplication.DefaultUrl).Port, http);
        Assert.Equal([(http, "tcp")], Compose.Ports("cna").Select(p => (p.Target, p.Protocol)));
        Assert.Contains($"127.0.0.1:{http}/healthz", Healthcheck("cna"), StringComparison.Ordinal);
        Assert.Contains($"{http}/tcp", Dockerfile.Read(Repository.PathOf("deploy/cna/Dockerfile")).ExposedPorts());
    }

    [Fact]
    public void The_PNA_reaches_Prosody_on_its_component_port_with_the_shared_secret()
    {
        var pna = Compose.Configuration("pna");
        var prosody = File.ReadAllText(Repository.PathOf("deploy/prosody/prosody.cfg.lua"));
        Assert.Equal("prosody", pna["Pna:Xmpp:Host"]);
        Assert.Equal(LuaPorts("component_ports", prosody), new[] { int.Parse(pna["Pna:Xmpp:Port"]!, CultureInfo.InvariantCulture) });
        Assert.Contains($"127.0.0.1/{pna["Pna:Xmpp:Port"]}", Healthcheck("prosody"), StringComparison.Ordinal);
        Assert.Equal(LuaPorts("c2s_ports", prosody), Compose.Ports("prosody").Select(p => p.Target));
        var entrypoint = File.ReadAllText(Repository.PathOf("deploy/prosody/entrypoint.sh"));
        Assert.Contains($"Component \"{pna["Pna:Xmpp:ComponentDomain"]}\"", entrypoint, StringComparison.Ordinal);
        Assert.Equal(Env("prosody", "PNA_XMPP_SECRET"), pna["Pna:Xmpp:Secret"]);
    }

    [Fact]
    public void The_bridge_reaches_Dovecot_on_its_IMAP_port_as_the_master_user_Dovecot_is_given()
    {
        var pna = Compose.Configuration("pna");
        var dovecot = File.ReadAllText(Repository.PathOf("deploy/dovecot/dovecot.conf"));
        var imap = int.Parse(ImapListenerPort().Match(dovecot).Groups[1].Value, CultureInfo.InvariantCulture);
        Assert.Equal("dovecot", pna["Bridge:Servers:0:Host"]);
        Assert.Equal(imap, int.Parse(pna["Bridge:Servers:0:Port"]!, CultureInfo.InvariantCulture));
        Assert.Equal([imap], Compose.Ports("dovecot").Select(p => p.Target));
        Assert.Contains($"127.0.0.1/{imap}", Healthcheck("dovecot"), StringComparison.Ordinal);
        Assert.Equal(Env("dovecot", "BRIDGE_MASTER_USER"), pna["Bridge:Servers:0:MasterUser:User"]);
        Assert.Equal(Env("dovecot", "BRIDGE_MASTER_PASSWORD"), pna["Bridge:Servers:0:MasterUser:Password"]);
        Assert.Contains("mailbox_list_index = yes", dovecot, StringComparison.Ordinal);
        // Every watched user exists in the users file compose mounts by default.
        var users = File.ReadAllLines(Repository.PathOf("deploy/dovecot/users.example"))
            .Where(l => !l.StartsWith('#') && l.Contains(':', StringComparison.Ordinal)).Select(l => l[..l.IndexOf(':', StringComparison.Ordinal)]).ToHashSet();
        foreach (var user in pna.Where(kv => kv.Key.StartsWith("Bridge:Servers:0:Users:", StringComparison.Ordinal)).Select(kv => kv.Value!))
        {
            Assert.Contains(user, users);
        }
    }

    [Fact]
    public void Dovecot_advertises_the_PNA_where_compose_makes_it_listen()
    {
        var pna = Compose.Configuration("pna");
        var line = File.ReadAllLines(Repository.PathOf("deploy/dovecot/dovecot.conf")).Single(l => l.StartsWith("imap_capability = +", StringComparison.Ordinal));
        var atoms = line["imap_capability = +".Length..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var (found, errors) = Aggregators.EventModel.Discovery.NotifCapability.FromCapabilities(atoms);
        Assert.Empty(errors);
        Assert.Equal(atoms.Length, found.Count);
        var sip = Assert.Single(found, c => c.Scheme == Aggregators.EventModel.Discovery.NotifScheme.Sip);
        Assert.Equal(System.Net.IPEndPoint.Parse(pna["Pna:Sip:Udp:0"]!).Port, sip.Port);
        Assert.Contains((sip.Port!.Value, sip.Port.Value, sip.SipTransport), Compose.Ports("pna").Select(p => (p.Published, p.Target, (string?)p.Protocol)));
        var xmpp = Assert.Single(found, c => c.Scheme == Aggregators.EventModel.Discovery.NotifScheme.Xmpp);
        Assert.Equal(pna["Pna:Xmpp:ComponentDomain"], xmpp.Host);
    }

    private static string Env(string service, string name) =>
        Compose.Service(service).GetProperty("environment").GetProperty(name).GetString()!;

    private static string Healthcheck(string service) =>
        string.Join(' ', Compose.Service(service).GetProperty("healthcheck").GetProperty("test").EnumerateArray().Select(e => e.GetString()));

    private static IEnumerable<(string Service, string Context, string Dockerfile)> Builds()
    {
        foreach (var name in Compose.ServiceNames)
        {
            if (Compose.Service(name).TryGetProperty("build", out var build))
            {
                var context = build.GetProperty("context").GetString()!;
                var dockerfile = build.TryGetProperty("dockerfile", out var d) ? d.GetString()! : "Dockerfile";
                yield return (name, context, Path.Combine(context, dockerfile));
            }
        }
    }

    /// <summary>The project and every project it references, transitively (absolute paths).</summary>
    private static HashSet<string> ProjectClosure(string project)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var pending = new Stack<string>([Path.GetFullPath(project)]);
        while (pending.TryPop(out var p))
        {
            if (!seen.Add(p))
            {
                continue;
            }
            foreach (var reference in XDocument.Load(p).Descendants("ProjectReference"))
            {
                var include = reference.Attribute("Include")!.Value.Replace('\\', '/');
                pending.Push(Path.GetFullPath(Path.Combine(Path.GetDirectoryName(p)!, include)));
            }
        }
        return seen;
    }

    private static int[] LuaPorts(string setting, string lua)
    {
        var m = Regex.Match(lua, setting + @"\s*=\s*\{([^}]*)\}");
        Assert.True(m.Success, $"{setting} not found in prosody.cfg.lua");
        return m.Groups[1].Value.Split([',', ';', ' '], StringSplitOptions.RemoveEmptyEntries)
            .Select(p => int.Parse(p, CultureInfo.InvariantCulture)).ToArray();
    }

    [GeneratedRegex(@"dotnet publish\s+(\S+\.csproj)")]
    private static partial Regex PublishedProject();

    [GeneratedRegex(@"inet_listener imap \{\s*port = (\d+)")]
    private static partial Regex ImapListenerPort();
}
