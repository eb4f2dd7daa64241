namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Checks that a real peer is installed. A missing peer is a failing test that says how to
/// install it, never a silent skip.
/// </summary>
public static class RequiredPeer
{
    public const string InstallHint = "run `sudo scripts/install-test-deps.sh` (the README's test command does this)";

    /// <summary>Returns <paramref name="executable"/> if it exists, else fails naming the Debian package.</summary>
    public static string Executable(string executable, string debianPackage)
    {
        if (File.Exists(executable))
        {
            return executable;
        }
        throw new InvalidOperationException(
            $"Real peer missing: {executable} (Debian package '{debianPackage}') is not installed; {InstallHint}.");
    }

    /// <summary>A fresh directory for one peer instance, traversable by the unprivileged users peers drop to.</summary>
    public static string TempDirectory(string name)
    {
        var dir = Path.Combine(Path.GetTempPath(), "aggregators-tests", $"{name}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        Directory.CreateDirectory(dir);
        // Mail processes run as uid 65534 (testbed-notes): every parent must be traversable.
        File.SetUnixFileMode(Path.Combine(Path.GetTempPath(), "aggregators-tests"),
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        File.SetUnixFileMode(dir,
            UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
            UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
        return dir;
    }
}
