using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Tests.Authorization;

/// <summary>Pna:Authorization:Policy picks the policy the PNA host uses; bad settings stop it at start.</summary>
public sealed class AuthorizationPolicySelectionTests : IDisposable
{
    private readonly string _dir = Hosting.PnaTestHost.NewDataDirectory();

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private Microsoft.AspNetCore.Builder.WebApplication Build(params string[] settings) =>
        PnaApplication.Build([$"--Pna:DataDirectory={_dir}", "--urls=http://127.0.0.1:0", .. settings]);

    private static readonly string[] Acl = ["--Pna:Authorization:ImapAcl:AdminUser=admin", "--Pna:Authorization:ImapAcl:AdminPassword=pw"];

    [Fact]
    public async Task Default_is_the_grant_policy()
    {
        await using var app = Build();
        Assert.IsType<GrantPolicy>(app.Services.GetRequiredService<IAuthorizationPolicy>());
    }

    [Fact]
    public async Task ImapAcl_and_Either_are_chosen_by_configuration()
    {
        await using (var app = Build(["--Pna:Authorization:Policy=ImapAcl", .. Acl]))
        {
            Assert.IsType<ImapAclPolicy>(app.Services.GetRequiredService<IAuthorizationPolicy>());
        }
        await using (var app = Build(["--Pna:Authorization:Policy=either", .. Acl]))
        {
            Assert.IsType<EitherPolicy>(app.Services.GetRequiredService<IAuthorizationPolicy>());
        }
    }

    [Fact]
    public void Unknown_policy_is_refused_with_the_key()
    {
        var e = Assert.Throws<InvalidOperationException>(() => Build("--Pna:Authorization:Policy=Everyone"));
        Assert.Contains("Pna:Authorization:Policy", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ImapAcl_without_admin_credentials_stops_the_start()
    {
        await using var app = Build("--Pna:Authorization:Policy=ImapAcl");
        var e = await Assert.ThrowsAsync<OptionsValidationException>(() => app.StartAsync());
        Assert.Contains("AdminUser", e.Message, StringComparison.Ordinal);
    }
}
