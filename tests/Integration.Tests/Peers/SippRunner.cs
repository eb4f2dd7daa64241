namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Runs one SIPp scenario (Debian package sip-tester) to completion against a target, bounded in
/// time; the scenario's own checks decide success (exit code 0 = every call succeeded).
/// </summary>
public static class SippRunner
{
    public const string Executable = "/usr/bin/sipp";

    public static async Task<(int ExitCode, string Output)> RunAsync(string scenario, string target, int localPort, string service, TimeSpan timeout)
    {
        var sipp = RequiredPeer.Executable(Executable, "sip-tester");
        var dir = RequiredPeer.TempDirectory("sipp");
        File.Copy(scenario, Path.Combine(dir, Path.GetFileName(scenario)));
        await using var process = PeerProcess.Start("sipp", sipp,
            [target, "-sf", Path.GetFileName(scenario), "-s", service, "-i", "127.0.0.1", "-p", localPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
             "-m", "1", "-nostdin", "-trace_err", "-timeout", ((int)timeout.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture) + "s", "-timeout_error"],
            Path.Combine(dir, "sipp.log"), dir);
        var exited = await process.WaitForExitAsync(timeout + TimeSpan.FromSeconds(10));
        var errors = Directory.GetFiles(dir, "*_errors.log").Select(File.ReadAllText);
        return (exited ? process.ExitCode : -1, process.Tail() + string.Join('\n', errors));
    }
}
