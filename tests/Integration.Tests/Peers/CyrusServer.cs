using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A real Cyrus IMAP 3.6 run in the foreground (master without -d) from Configs/cyrus in a
/// temporary directory (testbed-notes.md, Cyrus section). cyrus-imapd conflicts with dovecot-imapd
/// in apt, so imapd and idled come from the cyrus-imapd package extracted (dpkg-deb -x) by
/// scripts/install-test-deps.sh into <see cref="ExtractedRoot"/>; the rest is from cyrus-common.
/// SASL users in a sasldb (admin, juliet, romeo); admin creates user/juliet and user/juliet/Other.
/// Cyrus logs only to syslog(3): master runs in its own mount namespace whose /dev/log is a
/// <see cref="SyslogSink"/> of this fixture, and its lines (<see cref="SyslogTail"/>) go into failure
/// messages. Needs root (master switches to the cyrus user; unshare and mount).
/// </summary>
public sealed class CyrusServer : IAsyncDisposable
{
    public const string ExtractedRoot = "/var/cache/aggregators-tests";
    public const string Master = "/usr/lib/cyrus/bin/master";
    public const string Deliver = "/usr/lib/cyrus/bin/deliver";
    public const string SaslPasswd = "/usr/sbin/saslpasswd2";

    public static readonly (string User, string Password) Admin = ("admin", "admin-pass");
    public static readonly (string User, string Password) Juliet = ("juliet", "juliet-pass");
    public static readonly (string User, string Password) Romeo = ("romeo", "romeo-pass");

    private PeerProcess? _process;
    private SyslogSink? _syslog;

    private CyrusServer(string directory, int port, string bin)
    {
        Directory = directory;
        Port = port;
        Bin = bin;
        ServerName = "cyrus-" + Guid.NewGuid().ToString("N")[..12];
    }

    public string Directory { get; }
    public int Port { get; }
    public string Bin { get; }

    /// <summary>Unique; appears in the greeting.</summary>
    public string ServerName { get; }

    public string ConfigPath => Path.Combine(Directory, "imapd.conf");

    public ImapClientOptions ClientOptions => new() { Host = "127.0.0.1", Port = Port, Security = ImapSecurity.None };

    /// <summary>The directory with imapd and idled from the extracted cyrus-imapd package of cyrus-common's version.</summary>
    public static string FindBin()
    {
        RequiredPeer.Executable(Master, "cyrus-common");
        RequiredPeer.Executable(SaslPasswd, "sasl2-bin");
        var candidates = System.IO.Directory.Exists(ExtractedRoot)
            ? System.IO.Directory.GetDirectories(ExtractedRoot, "cyrus-imapd-*").Select(d => Path.Combine(d, "usr", "lib", "cyrus", "bin"))
                .Where(b => File.Exists(Path.Combine(b, "imapd")) && File.Exists(Path.Combine(b, "idled"))).ToList()
            : [];
        return candidates.Count > 0
            ? candidates.Max(StringComparer.Ordinal)!
            : throw new InvalidOperationException(
                $"Cyrus imapd/idled not found under {ExtractedRoot}/cyrus-imapd-<version>/usr/lib/cyrus/bin: {RequiredPeer.InstallHint} " +
                "(it extracts the cyrus-imapd package there, since it conflicts with dovecot-imapd in apt)");
    }

    public static async Task<CyrusServer> StartAsync()
    {
        var bin = FindBin();
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("the Cyrus fixture runs master as root (it switches to the cyrus user); run the integration tests as root");
        }
        var server = new CyrusServer(RequiredPeer.TempDirectory("cyrus"), TestPorts.Next(), bin);
        await server.WriteConfigAsync().ConfigureAwait(false);
        await server.StartProcessAsync().ConfigureAwait(false);
        await server.CreateMailboxesAsync().ConfigureAwait(false);
        return server;
    }

    private async Task WriteConfigAsync()
    {
        foreach (var sub in new[] { "db", "socket", "proc", "log", "msg", "user", "quota", "sieve", "lock", "ptclient", "sync" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, "lib", sub));
        }
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "spool"));
        System.IO.Directory.CreateDirectory(Path.Combine(Directory, "log"));
        foreach (var name in new[] { "imapd.conf", "cyrus.conf" })
        {
            var template = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "cyrus", name)).ConfigureAwait(false);
            await File.WriteAllTextAsync(Path.Combine(Directory, name), template
                .Replace("{{DIR}}", Directory, StringComparison.Ordinal)
                .Replace("{{PORT}}", Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
                .Replace("{{BIN}}", Bin, StringComparison.Ordinal)
                .Replace("{{SERVERNAME}}", ServerName, StringComparison.Ordinal)).ConfigureAwait(false);
        }
        var sasldb = Path.Combine(Directory, "sasldb2");
        foreach (var (user, password) in new[] { Admin, Juliet, Romeo })
        {
            var (code, output) = await PeerCommand.RunAsync(SaslPasswd, ["-p", "-c", "-f", sasldb, "-u", ServerName, user], password).ConfigureAwait(false);
            if (code != 0)
            {
                throw new InvalidOperationException($"saslpasswd2 for {user} exited with {code}: {output}");
            }
        }
        // makedirs ignores -C (testbed notes): the tree is owned by cyrus:mail by hand.
        var (chown, chownOutput) = await PeerCommand.RunAsync("/bin/chown", ["-R", "cyrus:mail", Directory], null).ConfigureAwait(false);
        if (chown != 0)
        {
            throw new InvalidOperationException($"chown -R cyrus:mail {Directory} failed: {chownOutput}");
        }
    }

    private async Task StartProcessAsync()
    {
        _syslog ??= new SyslogSink(Path.Combine(Directory, "syslog.sock"));
        var (fileName, args) = _syslog.StartCommand(Master,
            ["-C", ConfigPath, "-M", Path.Combine(Directory, "cyrus.conf"), "-p", Path.Combine(Directory, "master.pid")], Directory);
        _process = PeerProcess.Start("cyrus", fileName, args, Path.Combine(Directory, "log", "master.log"));
        await WaitForGreetingAsync(TimeSpan.FromSeconds(20)).ConfigureAwait(false);
    }

    /// <summary>The last lines Cyrus wrote to syslog (put them in a failing test's message).</summary>
    public string SyslogTail(int lines = 60) => _syslog?.Tail(lines) ?? "(no syslog sink)";

    /// <summary>Syslog lines received so far.</summary>
    public int SyslogLines => _syslog?.Count ?? 0;

    private async Task CreateMailboxesAsync()
    {
        await using var client = await ConnectAsync().ConfigureAwait(false);
        await client.LoginAsync(Admin.User, Admin.Password).ConfigureAwait(false);
        await client.CreateAsync("user/" + Juliet.User).ConfigureAwait(false);
        await client.CreateAsync("user/" + Juliet.User + "/Other").ConfigureAwait(false);
        await client.CreateAsync("user/" + Romeo.User).ConfigureAwait(false);
        await client.LogoutAsync().ConfigureAwait(false);
    }

    /// <summary>A client connection; first checks that master still runs.</summary>
    public Task<ImapClient> ConnectAsync()
    {
        if (_process is null || _process.HasExited)
        {
            throw new InvalidOperationException($"cyrus master (fixture in {Directory}) is no longer running. Output:\n{_process?.Tail()}\nSyslog:\n{SyslogTail()}");
        }
        return ImapClient.ConnectAsync(ClientOptions);
    }

    /// <summary>
    /// Delivers with Cyrus deliver (LMTP to our lmtpd). A message for a mailbox other than INBOX
    /// lands in INBOX unless "anyone" holds 'p' there (testbed notes): the caller grants it first.
    /// </summary>
    public async Task DeliverAsync(string user, string subject, string? mailbox = null, string from = "romeo@example.com")
    {
        var args = new List<string> { "-C", ConfigPath, "-r", from };
        if (mailbox is not null)
        {
            args.AddRange(["-m", mailbox]);
        }
        args.Add(user);
        var message = $"From: {from}\r\nTo: {user}@example.com\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.com>\r\n\r\nHello.\r\n";
        var (code, output) = await PeerCommand.RunAsync(Deliver, args, message).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"deliver {string.Join(' ', args)} exited with {code}: {output}\nSyslog:\n{SyslogTail()}");
        }
    }

    private Task WaitForGreetingAsync(TimeSpan timeout) =>
        ImapGreeting.WaitAsync(_process!, Port, ServerName, timeout, "cyrus master",
            () => $"Output:\n{_process?.Tail()}\nSyslog:\n{SyslogTail()}");

    public async ValueTask DisposeAsync()
    {
        if (_process is not null)
        {
            // SIGTERM stops master and its children (testbed notes).
            await _process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
            await _process.DisposeAsync().ConfigureAwait(false);
            _process = null;
        }
        _syslog?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>xunit class fixture: one Cyrus per test class.</summary>
/// <summary>
/// Cyrus test classes run one after another: several Cyrus masters started at once on this
/// machine made a watcher's connections close without BYE (session 2), so they share a collection.
/// </summary>
[CollectionDefinition(Name)]
public sealed class CyrusCollection
{
    public const string Name = "Cyrus";
}

public sealed class CyrusFixture : IAsyncLifetime
{
    public CyrusServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await CyrusServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
