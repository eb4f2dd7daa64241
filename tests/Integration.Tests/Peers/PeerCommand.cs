using System.Diagnostics;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Runs a peer's short-lived tool (dovecot-lda, doveadm, cyrus deliver, saslpasswd2,
/// prosodyctl, ...) to completion with a bounded wait, returning its exit code and output.
/// </summary>
public static class PeerCommand
{
    public static async Task<(int Code, string Output)> RunAsync(
        string file, IEnumerable<string> args, string? stdin, TimeSpan? timeout = null)
    {
        ArgumentNullException.ThrowIfNull(args);
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var psi = new ProcessStartInfo(file)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        using var p = Process.Start(psi) ?? throw new InvalidOperationException($"could not start {file}");
        if (stdin is not null)
        {
            await p.StandardInput.WriteAsync(stdin).ConfigureAwait(false);
        }
        p.StandardInput.Close();
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(limit);
        try
        {
            await p.WaitForExitAsync(cts.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            p.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', psi.ArgumentList)} did not finish within {limit.TotalSeconds:0} s");
        }
        return (p.ExitCode, await stdout.ConfigureAwait(false) + await stderr.ConfigureAwait(false));
    }
}
