namespace Aggregators.Deploy.Tests;

/// <summary>The repository checkout the tests run from (the directory holding Aggregators.sln).</summary>
public static class Repository
{
    public static string Root { get; } = FindRoot();

    public static string PathOf(string relative) => Path.GetFullPath(Path.Combine(Root, relative));

    /// <summary>True when a checked-out file may be executed by anyone (a script a program runs; git keeps the mode).</summary>
    public static bool IsExecutable(string relative) =>
        OperatingSystem.IsWindows() || (File.GetUnixFileMode(PathOf(relative)) & UnixFileMode.OtherExecute) != 0;

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Aggregators.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"no Aggregators.sln above {AppContext.BaseDirectory}");
    }
}
