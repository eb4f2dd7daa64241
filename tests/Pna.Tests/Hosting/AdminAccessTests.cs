using System.Net;
using Aggregators.Pna.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Hosting;

public sealed class AdminAccessTests
{
    private const string AdminToken = "admin-token-0123456789";

    private static async Task<bool> Allowed(string remote, string? authorization, string configuredToken = AdminToken)
    {
        var services = new ServiceCollection();
        services.Configure<PnaOptions>(o => o.Admin.Token = configuredToken);
        await using var provider = services.BuildServiceProvider();
        var http = new DefaultHttpContext { RequestServices = provider };
        http.Connection.RemoteIpAddress = IPAddress.Parse(remote);
        if (authorization is not null)
        {
            http.Request.Headers.Authorization = authorization;
        }
        var reached = false;
        var result = await PnaApplication.AdminOnly(new DefaultEndpointFilterInvocationContext(http), _ =>
        {
            reached = true;
            return ValueTask.FromResult<object?>("ok");
        });
        if (!reached)
        {
            Assert.Equal("Bearer realm=\"pna-admin\"", http.Response.Headers.WWWAuthenticate.ToString());
            Assert.IsAssignableFrom<IStatusCodeHttpResult>(result);
            Assert.Equal(401, ((IStatusCodeHttpResult)result!).StatusCode);
        }
        return reached;
    }

    [Fact]
    public async Task Loopback_is_allowed_without_a_token()
    {
        Assert.True(await Allowed("127.0.0.1", null));
        Assert.True(await Allowed("::1", null));
        Assert.True(await Allowed("::1", null, configuredToken: ""));
    }

    [Fact]
    public async Task Elsewhere_needs_the_admin_token()
    {
        Assert.False(await Allowed("192.0.2.10", null));
        Assert.False(await Allowed("192.0.2.10", "Bearer wrong-token-0123456789"));
        Assert.False(await Allowed("192.0.2.10", "Basic " + AdminToken));
        Assert.True(await Allowed("192.0.2.10", "Bearer " + AdminToken));
        // Browsers (the /status page): basic authentication with the token as password, any user name.
        Assert.True(await Allowed("192.0.2.10", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:" + AdminToken))));
        Assert.False(await Allowed("192.0.2.10", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes("admin:wrong-token-0123456789"))));
        Assert.False(await Allowed("192.0.2.10", "Basic " + Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(AdminToken))));
        // No admin token configured: loopback only.
        Assert.False(await Allowed("192.0.2.10", "Bearer ", configuredToken: ""));
    }
}
