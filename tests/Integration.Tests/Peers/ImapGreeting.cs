using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// Readiness of an IMAP peer is its greeting, not just a bound port: waits until 127.0.0.1:port
/// answers "* OK" with <c>marker</c> (proof it is our instance, not another server on the port).
/// </summary>
public static class ImapGreeting
{
    /// <param name="name">The peer's name in error messages.</param>
    /// <param name="diagnostics">What to append to a failure (the peer's output or log).</param>
    public static async Task WaitAsync(
        PeerProcess process, int port, string marker, TimeSpan timeout, string name, Func<string> diagnostics)
    {
        ArgumentNullException.ThrowIfNull(process);
        ArgumentNullException.ThrowIfNull(diagnostics);
        var deadline = DateTime.UtcNow + timeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{name} exited before greeting. {diagnostics()}");
            }
            try
            {
                using var client = new TcpClient();
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(2));
                await client.ConnectAsync(IPAddress.Loopback, port, cts.Token).ConfigureAwait(false);
                var buffer = new byte[1024];
                var n = await client.GetStream().ReadAsync(buffer, cts.Token).ConfigureAwait(false);
                var line = Encoding.ASCII.GetString(buffer, 0, n);
                if (line.StartsWith("* OK", StringComparison.Ordinal))
                {
                    if (line.Contains(marker, StringComparison.Ordinal))
                    {
                        return;
                    }
                    throw new InvalidOperationException($"another IMAP server answers on 127.0.0.1:{port}: {line.Trim()}");
                }
            }
            catch (Exception e) when (e is SocketException or IOException or OperationCanceledException)
            {
                last = e;
            }
            await Task.Delay(50).ConfigureAwait(false);
        }
        throw new TimeoutException($"{name} gave no greeting on 127.0.0.1:{port} within {timeout} ({last?.Message}). {diagnostics()}");
    }
}
