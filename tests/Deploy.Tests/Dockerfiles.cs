using System.Text.RegularExpressions;

namespace Aggregators.Deploy.Tests;

/// <summary>The instructions of a Dockerfile that refer to files and ports (continuation lines joined).</summary>
public sealed partial class Dockerfile
{
    private Dockerfile(string path, IReadOnlyList<(string Instruction, string Arguments)> instructions)
    {
        Path = path;
        Instructions = instructions;
    }

    public string Path { get; }

    public IReadOnlyList<(string Instruction, string Arguments)> Instructions { get; }

    public static Dockerfile Read(string path)
    {
        var instructions = new List<(string, string)>();
        var logical = "";
        foreach (var raw in File.ReadAllLines(path))
        {
            var line = raw.TrimEnd();
            if (logical.Length == 0 && (line.TrimStart().StartsWith('#') || line.Trim().Length == 0))
            {
                continue;
            }
            if (line.EndsWith('\\'))
            {
                logical += line[..^1] + " ";
                continue;
            }
            logical += line;
            var m = InstructionPattern().Match(logical.Trim());
            if (m.Success)
            {
                instructions.Add((m.Groups[1].Value.ToUpperInvariant(), m.Groups[2].Value.Trim()));
            }
            logical = "";
        }
        return new Dockerfile(path, instructions);
    }

    /// <summary>Source paths of COPY/ADD from the build context (not <c>--from=</c> another stage).</summary>
    public IEnumerable<string> ContextSources()
    {
        foreach (var (instruction, arguments) in Instructions)
        {
            if (instruction is not ("COPY" or "ADD"))
            {
                continue;
            }
            var words = arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (words.Any(w => w.StartsWith("--from=", StringComparison.Ordinal)))
            {
                continue;
            }
            var paths = words.Where(w => !w.StartsWith("--", StringComparison.Ordinal)).ToArray();
            foreach (var source in paths[..^1])
            {
                yield return source;
            }
        }
    }

    /// <summary>Ports of EXPOSE as "port/protocol" (tcp when not given).</summary>
    public IEnumerable<string> ExposedPorts() =>
        Instructions.Where(i => i.Instruction == "EXPOSE")
            .SelectMany(i => i.Arguments.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Select(p => p.Contains('/', StringComparison.Ordinal) ? p : p + "/tcp");

    public string? Last(string instruction) =>
        Instructions.LastOrDefault(i => i.Instruction == instruction).Arguments;

    [GeneratedRegex(@"^([A-Za-z]+)\s+(.*)$", RegexOptions.Singleline)]
    private static partial Regex InstructionPattern();
}
