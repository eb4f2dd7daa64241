using System.Net;
using Aggregators.Cna.Hosting;
using Aggregators.Cna.Sip;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Integration.Tests.Cna.Sip;

/// <summary>
/// An in-process CNA for example.net with its SIP side on a loopback UDP/TCP port, local users in a
/// users file, and a route for example.com to the given PNA port. Every setting is passed on the
/// command line (the test output's appsettings.json may be the PNA's or the CNA's).
/// </summary>
public sealed class SipCna : IAsyncDisposable
{
    public const string PeerUsername = "cna-example-net";
    public const string PeerPassword = "peer-secret-0123456789";
    public const string LocalPassword = "local-secret";
    private WebApplication? _app;

    private SipCna(int port) => Port = port;

    public int Port { get; }
    public IPEndPoint EndPoint => new(IPAddress.Loopback, Port);
    public IServiceProvider Services => _app!.Services;
    public CnaSipNotifier Notifier => Services.GetRequiredService<CnaSipNotifier>();

    /// <summary>Local users: romeo, mercutio, and user01…user60, all with <see cref="LocalPassword"/>; extra lines appended.</summary>
    public static async Task<SipCna> StartAsync(string directory, int port, int pnaPort, IDictionary<string, string>? settings = null, string extraUsers = "")
    {
        var users = Path.Combine(directory, "cna-users");
        var lines = new List<string> { "# test users", "user romeo password=" + LocalPassword, "user mercutio password=" + LocalPassword };
        lines.AddRange(Enumerable.Range(1, 60).Select(i => $"user user{i:00} password={LocalPassword}"));
        lines.Add(extraUsers);
        await File.WriteAllLinesAsync(users, lines);
        var all = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Logging:LogLevel:Default"] = "Warning",
            ["Cna:DataDirectory"] = Path.Combine(directory, "cna-data"),
            ["Cna:Sip:Enabled"] = "true",
            ["Cna:Sip:Udp:0"] = $"127.0.0.1:{port}",
            ["Cna:Sip:Tcp:0"] = $"127.0.0.1:{port}",
            ["Cna:Sip:Domains:0"] = "example.net",
            ["Cna:Sip:UsersFile"] = users,
            ["Cna:Sip:RegistrarEnabled"] = "true",
            ["Cna:Sip:DigestAlgorithms:0"] = "MD5", // baresip 1.0 (libre) fails on any SHA-256 challenge
            ["Cna:Sip:HeartbeatSeconds"] = "3", // stale after 6 s of silence; roomy enough for a loaded machine
            ["Cna:Sip:TimerT1Milliseconds"] = "100",
            ["Cna:Sip:RetryBaseDelaySeconds"] = "0.2",
            ["Cna:Sip:RetryMaxDelaySeconds"] = "1",
            ["Cna:Sip:Routes:example.com:Target"] = $"127.0.0.1:{pnaPort}",
            ["Cna:Sip:Routes:example.com:Authentication"] = "TrustedPeer",
            ["Cna:Sip:Routes:example.com:PeerUsername"] = PeerUsername,
            ["Cna:Sip:Routes:example.com:PeerPassword"] = PeerPassword,
        };
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            all[k] = v;
        }
        var cna = new SipCna(port);
        cna._app = CnaApplication.Build([.. all.Select(p => $"--{p.Key}={p.Value}")]);
        await cna._app.StartAsync();
        return cna;
    }

    /// <summary>The PNA settings that make this CNA a trusted peer and let its identity watch juliet's account.</summary>
    public static Dictionary<string, string> TrustingPna() => new()
    {
        ["Pna:Sip:TrustedPeers:0:Username"] = PeerUsername,
        ["Pna:Sip:TrustedPeers:0:Password"] = PeerPassword,
        ["Pna:Sip:TrustedPeers:0:Domains:0"] = "example.net",
        ["Pna:Sip:TrustedPeers:0:Addresses:0"] = "127.0.0.1",
        ["Pna:Authorization:Grants:0:Subscriber"] = "sip:cna@example.net",
        ["Pna:Authorization:Grants:0:Account"] = "juliet@example.com",
        ["Pna:Heartbeats:Min"] = "00:00:01",
        ["Pna:Sip:MinExpiresSeconds"] = "1",
        ["Pna:Sip:Authentication:Algorithms:0"] = "MD5",
    };

    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
            _app = null;
        }
    }
}
