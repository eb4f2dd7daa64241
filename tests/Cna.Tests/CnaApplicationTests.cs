using System.Net;
using System.Net.Sockets;
using Aggregators.Cna.Hosting;

namespace Aggregators.Cna.Tests;

public sealed class CnaApplicationTests
{
    [Fact]
    public async Task Healthz_answers_on_the_configured_url()
    {
        var port = FreePort();
        await using var app = CnaApplication.Build([$"--urls=http://127.0.0.1:{port}", "--Logging:LogLevel:Default=Warning"]);
        await app.StartAsync();
        using var http = new HttpClient();
        var response = await http.GetAsync(new Uri($"http://127.0.0.1:{port}/healthz"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await app.StopAsync();
    }

    private static int FreePort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
