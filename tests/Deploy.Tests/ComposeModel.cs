using System.Diagnostics;
using System.Text.Json;

namespace Aggregators.Deploy.Tests;

/// <summary>
/// docker-compose.yml as Compose itself resolves it: <c>docker-compose config</c> (Debian's
/// docker-compose v1, which needs no container engine) with the variables of
/// deploy/compose.env.example, converted to JSON by PyYAML (a dependency of docker-compose).
/// </summary>
public sealed class ComposeModel
{
    public const string DockerCompose = "/usr/bin/docker-compose";
    public const string Python = "/usr/bin/python3";
    public const string InstallHint =
        "install it with `apt-get install docker-compose` (scripts/install-test-deps.sh does this)";

    private ComposeModel(JsonElement root, IReadOnlyDictionary<string, string> variables)
    {
        Root = root;
        Variables = variables;
    }

    public JsonElement Root { get; }

    /// <summary>The example .env the model was resolved with.</summary>
    public IReadOnlyDictionary<string, string> Variables { get; }

    public JsonElement Service(string name) =>
        Root.GetProperty("services").TryGetProperty(name, out var s) ? s : throw new InvalidOperationException($"no service '{name}' in docker-compose.yml");

    public IEnumerable<string> ServiceNames => Root.GetProperty("services").EnumerateObject().Select(p => p.Name);

    /// <summary>A service's environment as configuration keys (<c>Pna__Xmpp__Port</c> → <c>Pna:Xmpp:Port</c>).</summary>
    public Dictionary<string, string?> Configuration(string service)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (Service(service).TryGetProperty("environment", out var env))
        {
            foreach (var p in env.EnumerateObject())
            {
                result[OptionKeys.FromEnvironmentName(p.Name)] = p.Value.ValueKind == JsonValueKind.Null ? null : p.Value.ToString();
            }
        }
        return result;
    }

    /// <summary>Published ports as (host port, container port, protocol), from the "ip:host:container/proto" form config prints.</summary>
    public IEnumerable<(int Published, int Target, string Protocol)> Ports(string service)
    {
        if (!Service(service).TryGetProperty("ports", out var ports))
        {
            yield break;
        }
        foreach (var p in ports.EnumerateArray())
        {
            if (p.ValueKind == JsonValueKind.Object)
            {
                // Long form, printed for ports published on every address.
                yield return (p.GetProperty("published").GetInt32(), p.GetProperty("target").GetInt32(),
                    p.TryGetProperty("protocol", out var proto) ? proto.GetString()! : "tcp");
                continue;
            }
            var text = p.GetString()!;
            var protocol = "tcp";
            var slash = text.IndexOf('/', StringComparison.Ordinal);
            if (slash >= 0)
            {
                protocol = text[(slash + 1)..];
                text = text[..slash];
            }
            var parts = text.Split(':');
            yield return (int.Parse(parts[^2], System.Globalization.CultureInfo.InvariantCulture),
                int.Parse(parts[^1], System.Globalization.CultureInfo.InvariantCulture), protocol);
        }
    }

    /// <summary>Volume entries "source:target[:mode]" of a service.</summary>
    public IEnumerable<(string Source, string Target)> Volumes(string service)
    {
        if (!Service(service).TryGetProperty("volumes", out var volumes))
        {
            yield break;
        }
        foreach (var v in volumes.EnumerateArray())
        {
            var parts = v.GetString()!.Split(':');
            yield return (parts[0], parts[1]);
        }
    }

    public static ComposeModel Load()
    {
        if (!File.Exists(DockerCompose))
        {
            throw new InvalidOperationException($"{DockerCompose} is missing; {InstallHint}.");
        }
        var variables = ReadEnvFile(Repository.PathOf("deploy/compose.env.example"));
        var (code, yaml, error) = Run(DockerCompose, ["--project-directory", Repository.Root, "-f", Repository.PathOf("docker-compose.yml"), "config"], null, variables);
        if (code != 0)
        {
            throw new InvalidOperationException($"docker-compose config rejected docker-compose.yml (exit {code}):\n{error}{yaml}");
        }
        var (pyCode, json, pyError) = Run(Python, ["-c", "import json, sys, yaml; json.dump(yaml.safe_load(sys.stdin), sys.stdout)"], yaml, variables);
        if (pyCode != 0)
        {
            throw new InvalidOperationException($"PyYAML could not convert the resolved compose file (exit {pyCode}): {pyError}; {InstallHint}.");
        }
        using var document = JsonDocument.Parse(json);
        return new ComposeModel(document.RootElement.Clone(), variables);
    }

    /// <summary>KEY=VALUE lines; blank lines and # comments ignored.</summary>
    public static Dictionary<string, string> ReadEnvFile(string path) =>
        File.ReadAllLines(path)
            .Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith('#'))
            .Select(l => l.Split('=', 2))
            .ToDictionary(p => p[0], p => p[1], StringComparer.Ordinal);

    public static (int Code, string Output, string Error) Run(string file, IEnumerable<string> args, string? input, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Repository.Root,
        };
        foreach (var a in args)
        {
            start.ArgumentList.Add(a);
        }
        foreach (var (k, v) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[k] = v;
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        if (input is not null)
        {
            process.StandardInput.Write(input);
        }
        process.StandardInput.Close();
        if (!process.WaitForExit(TimeSpan.FromMinutes(2)))
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} did not finish within 2 minutes");
        }
        return (process.ExitCode, output.GetAwaiter().GetResult(), error.GetAwaiter().GetResult());
    }
}
