using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.Bench;

/// <summary>
/// What the load generators that drive child processes and real peers share: NDJSON events for
/// the ingest, process CPU from /proc, free ports, child processes with logs, and waiting on a
/// condition. Linked into each load generator that needs it (<c>using static</c>).
/// </summary>
internal static class LoadTools
{
    /// <summary><paramref name="count"/> MessageNew events for juliet's INBOX, ids from e<paramref name="first"/>, totals counting up.</summary>
    public static string Ndjson(int first, int count, ref uint messages)
    {
        var sb = new StringBuilder();
        for (var i = 0; i < count; i++)
        {
            messages++;
            sb.Append(CultureInfo.InvariantCulture, $"{{\"event\":\"MessageNew\",\"id\":\"e{first + i}\",\"account\":\"juliet@example.com\",\"mailbox\":\"INBOX\",\"uidset\":\"{messages}\",")
              .Append(CultureInfo.InvariantCulture, $"\"totals\":{{\"messages\":{messages},\"unseen\":{messages},\"uidnext\":{messages + 1},\"uidvalidity\":1}}}}\n");
        }
        return sb.ToString();
    }

    public static async Task PostAsync(HttpClient http, string body)
    {
        using var response = await http.PostAsync("/v1/events", new StringContent(body, Encoding.UTF8, "application/x-ndjson"));
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"ingest: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>utime + stime of a process (fields 14 and 15 of /proc/&lt;pid&gt;/stat), in seconds.</summary>
    public static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0; // USER_HZ is 100 on Linux
    }

    public static int FreePort()
    {
        using var l = new TcpListener(IPAddress.Loopback, 0);
        l.Start();
        return ((IPEndPoint)l.LocalEndpoint).Port;
    }

    /// <summary>Starts a child process whose stdout and stderr are appended to <paramref name="log"/>.</summary>
    public static Process Start(string file, string[] arguments, string log)
    {
        var psi = new ProcessStartInfo(file) { UseShellExecute = false };
        foreach (var a in arguments)
        {
            psi.ArgumentList.Add(a);
        }
        return Start(psi, log);
    }

    /// <summary>This load generator again, in a child process (see <see cref="SelfProcess"/>), logging to <paramref name="log"/>.</summary>
    public static Process StartSelf(string[] arguments, string log) => Start(SelfProcess.StartInfo(arguments), log);

    private static Process Start(ProcessStartInfo psi, string log)
    {
        psi.RedirectStandardOutput = true;
        psi.RedirectStandardError = true;
        var p = Process.Start(psi)!;
        var writer = new StreamWriter(log, append: true) { AutoFlush = true };
        p.OutputDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        p.ErrorDataReceived += (_, e) => { if (e.Data is not null) { lock (writer) { writer.WriteLine(e.Data); } } };
        p.BeginOutputReadLine();
        p.BeginErrorReadLine();
        return p;
    }

    /// <summary>Runs a short-lived tool to completion; a non-zero exit throws with its output.</summary>
    public static async Task RunAsync(string file, string[] arguments, CancellationToken ct)
    {
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false })!;
        var output = p.StandardOutput.ReadToEndAsync(ct);
        var errors = p.StandardError.ReadToEndAsync(ct);
        await p.WaitForExitAsync(ct);
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} failed: {await output}{await errors}");
        }
    }

    public static async Task WaitPortAsync(int port) => await WaitUntilAsync(async () =>
    {
        try
        {
            using var c = new TcpClient();
            await c.ConnectAsync(IPAddress.Loopback, port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }, $"port {port}");

    /// <summary>Polls <paramref name="condition"/> every 20 ms; throws after <paramref name="timeout"/> (60 s).</summary>
    public static async Task WaitUntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var deadline = Stopwatch.StartNew();
        while (!await condition())
        {
            if (deadline.Elapsed > (timeout ?? TimeSpan.FromSeconds(60)))
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(20);
        }
    }
}
