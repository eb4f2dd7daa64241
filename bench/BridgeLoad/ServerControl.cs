using System.Diagnostics;
using System.Globalization;

namespace Aggregators.BridgeLoad;

/// <summary>
/// The driver's handle on the simulated IMAP server: in this process, or in a child process
/// (<c>--server-process</c>) so the server does not share the bridge's thread pool, GC and JIT.
/// Push timestamps are <see cref="Stopwatch.GetTimestamp"/> values (CLOCK_MONOTONIC on Linux), which
/// compare across processes on the same machine.
/// </summary>
internal interface IServerControl : IAsyncDisposable
{
    int Port { get; }

    /// <summary>How many of user0 .. user(<paramref name="accounts"/>-1) are idling now.</summary>
    Task<int> CountIdlingAsync(int accounts);

    /// <summary>Returns once <paramref name="user"/> idles (its IDLE got the continuation).</summary>
    Task WaitIdleAsync(string user);

    /// <summary>"* n EXISTS" to the idling user; the timestamp taken just before the write.</summary>
    Task<long> PushNewMessageAsync(string user);

    /// <summary>"* n FETCH (UID u FLAGS (\Seen))" to the idling user; the timestamp taken just before the write.</summary>
    Task<long> PushSeenAsync(string user);
}

internal sealed class InProcessServer : IServerControl
{
    private readonly SimulatedImapServer _server = new();

    public InProcessServer() => _server.Start();

    public int Port => _server.Port;

    public Task<int> CountIdlingAsync(int accounts) =>
        Task.FromResult(Enumerable.Range(0, accounts).Count(i => _server.IsIdling(Users.Name(i))));

    public async Task WaitIdleAsync(string user)
    {
        while (!_server.IsIdling(user))
        {
            await Task.Delay(1).ConfigureAwait(false);
        }
    }

    public Task<long> PushNewMessageAsync(string user) => _server.PushNewMessage(user);

    public Task<long> PushSeenAsync(string user) => _server.PushSeen(user);

    public ValueTask DisposeAsync() => _server.DisposeAsync();
}

/// <summary>
/// The server in a child process (this executable with <c>--serve</c>), driven line by line over its
/// stdin/stdout: <c>count N</c>, <c>idle user</c>, <c>new user</c>, <c>seen user</c>, <c>quit</c>
/// (see <see cref="ServeAsync"/>). Calls are sequential, as the driver makes them.
/// </summary>
internal sealed class ChildProcessServer : IServerControl
{
    private readonly Process _process;

    private ChildProcessServer(Process process, int port)
    {
        _process = process;
        Port = port;
    }

    public int Port { get; }

    public static async Task<ChildProcessServer> StartAsync()
    {
        var info = Aggregators.Bench.SelfProcess.StartInfo("--serve");
        info.RedirectStandardInput = true;
        info.RedirectStandardOutput = true;
        var process = Process.Start(info) ?? throw new InvalidOperationException("could not start the server process");
        var first = await process.StandardOutput.ReadLineAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("the server process ended before saying its port");
        return new ChildProcessServer(process, int.Parse(first.Split(' ')[1], CultureInfo.InvariantCulture));
    }

    private async Task<string> AskAsync(string line)
    {
        await _process.StandardInput.WriteLineAsync(line).ConfigureAwait(false);
        await _process.StandardInput.FlushAsync().ConfigureAwait(false);
        return await _process.StandardOutput.ReadLineAsync().ConfigureAwait(false)
            ?? throw new InvalidOperationException("the server process ended");
    }

    public async Task<int> CountIdlingAsync(int accounts) =>
        int.Parse(await AskAsync($"count {accounts}").ConfigureAwait(false), CultureInfo.InvariantCulture);

    public Task WaitIdleAsync(string user) => AskAsync("idle " + user);

    public async Task<long> PushNewMessageAsync(string user) =>
        long.Parse(await AskAsync("new " + user).ConfigureAwait(false), CultureInfo.InvariantCulture);

    public async Task<long> PushSeenAsync(string user) =>
        long.Parse(await AskAsync("seen " + user).ConfigureAwait(false), CultureInfo.InvariantCulture);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await _process.StandardInput.WriteLineAsync("quit").ConfigureAwait(false);
            await _process.StandardInput.FlushAsync().ConfigureAwait(false);
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or TimeoutException)
        {
            _process.Kill();
        }
        _process.Dispose();
    }

    /// <summary>The child's side: the server, and the line protocol on stdin/stdout.</summary>
    public static async Task<int> ServeAsync()
    {
        await using var server = new InProcessServer();
        var output = Console.Out;
        await output.WriteLineAsync($"port {server.Port}").ConfigureAwait(false);
        await output.FlushAsync().ConfigureAwait(false);
        while (await Console.In.ReadLineAsync().ConfigureAwait(false) is { } line)
        {
            var parts = line.Split(' ', 2);
            string answer;
            switch (parts[0])
            {
                case "count":
                    answer = (await server.CountIdlingAsync(int.Parse(parts[1], CultureInfo.InvariantCulture)).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture);
                    break;
                case "idle":
                    await server.WaitIdleAsync(parts[1]).ConfigureAwait(false);
                    answer = "ok";
                    break;
                case "new":
                    answer = (await server.PushNewMessageAsync(parts[1]).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture);
                    break;
                case "seen":
                    answer = (await server.PushSeenAsync(parts[1]).ConfigureAwait(false)).ToString(CultureInfo.InvariantCulture);
                    break;
                case "quit":
                    return 0;
                default:
                    answer = "?";
                    break;
            }
            await output.WriteLineAsync(answer).ConfigureAwait(false);
            await output.FlushAsync().ConfigureAwait(false);
        }
        return 0;
    }
}

internal static class Users
{
    public static string Name(int i) => "user" + i.ToString(CultureInfo.InvariantCulture);
}
