using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.Integration.Tests.Peers;

/// <summary>
/// A real Dovecot 2.3 run in the foreground from Configs/dovecot/dovecot.conf in a temporary
/// directory (testbed-notes.md, Dovecot section): passwd-file users juliet and romeo, master user
/// admin (granted by a global ACL file), user nolist without the mailbox list index (so no NOTIFY),
/// maildir under the directory, an IMAP listener on a free loopback port. Needs root (mail
/// processes run as uid 65534).
/// </summary>
public sealed class DovecotServer : IAsyncDisposable
{
    public const string Dovecot = "/usr/sbin/dovecot";
    public const string Doveadm = "/usr/bin/doveadm";
    public const string Lda = "/usr/lib/dovecot/dovecot-lda";

    public static readonly (string User, string Password) Juliet = ("juliet", "juliet-pass");
    public static readonly (string User, string Password) Romeo = ("romeo", "romeo-pass");
    public static readonly (string User, string Password) NoList = ("nolist", "nolist-pass");
    public static readonly (string User, string Password) Master = ("admin", "admin-pass");

    private PeerProcess? _process;
    private int _users;

    private DovecotServer(string directory, int port, TestCertificates? certificates)
    {
        Directory = directory;
        Port = port;
        Certificates = certificates;
        TlsPort = certificates is null ? 0 : TestPorts.Next();
    }

    public string Directory { get; }
    public int Port { get; }

    /// <summary>With ssl: the implicit-TLS (993-style) listener; Port then offers STARTTLS too.</summary>
    public int TlsPort { get; }

    /// <summary>With ssl: the throwaway CA and the server certificate Dovecot presents (CN and SAN localhost, 127.0.0.1).</summary>
    public TestCertificates? Certificates { get; }

    /// <summary>This instance's greeting text (login_greeting), unique per fixture.</summary>
    public string Greeting { get; } = $"Dovecot-test-{Guid.NewGuid():N} ready.";
    public string ConfigPath => Path.Combine(Directory, "dovecot.conf");
    public string LogPath => Path.Combine(Directory, "log", "dovecot.log");

    /// <summary>Client options for this server (clear text on loopback, bounded timeouts).</summary>
    public ImapClientOptions ClientOptions => new()
    {
        Port = Port,
        ConnectTimeout = TimeSpan.FromSeconds(10),
        CommandTimeout = TimeSpan.FromSeconds(20),
    };

    /// <summary>
    /// Starts Dovecot; with <paramref name="ssl"/> it gets a throwaway certificate, STARTTLS on <see cref="Port"/> and implicit TLS on <see cref="TlsPort"/>;
    /// <paramref name="extraConfig"/> is appended to the fixture's dovecot.conf (e.g. an imap_capability line).
    /// </summary>
    public static async Task<DovecotServer> StartAsync(bool ssl = false, string? extraConfig = null)
    {
        RequiredPeer.Executable(Dovecot, "dovecot-imapd");
        RequiredPeer.Executable(Doveadm, "dovecot-core");
        RequiredPeer.Executable(Lda, "dovecot-core");
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException(
                "the Dovecot fixture runs Dovecot as root (its mail processes switch to uid 65534); run the integration tests as root");
        }
        var dir = RequiredPeer.TempDirectory("dovecot");
        var server = new DovecotServer(dir, TestPorts.Next(), ssl ? TestCertificates.Create(Path.Combine(dir, "tls")) : null);
        server.WriteConfig(extraConfig);
        await server.StartProcessAsync().ConfigureAwait(false);
        return server;
    }

    private void WriteConfig(string? extraConfig)
    {
        foreach (var sub in new[] { "run", "state", "log", "mail" })
        {
            System.IO.Directory.CreateDirectory(Path.Combine(Directory, sub));
        }
        // Mail processes run as uid 65534 and create each user's home under mail/.
        File.SetUnixFileMode(Path.Combine(Directory, "mail"), (UnixFileMode)0x1FF);
        var template = File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Peers", "Configs", "dovecot", "dovecot.conf"));
        var config = template
            .Replace("{{DIR}}", Directory, StringComparison.Ordinal)
            .Replace("{{PORT}}", Port.ToString(CultureInfo.InvariantCulture), StringComparison.Ordinal)
            .Replace("{{GREETING}}", Greeting, StringComparison.Ordinal);
        if (Certificates is { } c)
        {
            // ssl = yes (not required): STARTTLS offered on the plain listener, plus an imaps listener.
            config = config
                .Replace("ssl = no", $"ssl = yes\nssl_cert = <{c.CertificateFile}\nssl_key = <{c.KeyFile}", StringComparison.Ordinal)
                .Replace("  inet_listener imaps {\n    port = 0\n  }",
                    $"  inet_listener imaps {{\n    address = 127.0.0.1\n    port = {TlsPort.ToString(CultureInfo.InvariantCulture)}\n    ssl = yes\n  }}", StringComparison.Ordinal);
        }
        File.WriteAllText(ConfigPath, config + (extraConfig is null ? "" : "\n" + extraConfig + "\n"));
        // passwd-file: user:{PLAIN}password:uid:gid:gecos:home:shell:extra (per-user settings last).
        File.WriteAllText(Path.Combine(Directory, "users"),
            $"{Juliet.User}:{{PLAIN}}{Juliet.Password}::::::\n" +
            $"{Romeo.User}:{{PLAIN}}{Romeo.Password}::::::\n" +
            $"{NoList.User}:{{PLAIN}}{NoList.Password}::::::userdb_mailbox_list_index=no\n" +
            // Fresh users for tests that count messages; written now because appending while
            // Dovecot runs made dovecot-lda fail with EX_NOUSER now and then.
            string.Concat(Enumerable.Range(1, MaxFreshUsers).Select(n => $"user{n}:{{PLAIN}}pw{n}::::::\n")));
        File.WriteAllText(Path.Combine(Directory, "master-users"), $"{Master.User}:{{PLAIN}}{Master.Password}\n");
        // ACL files take only lrwstipekxa (testbed notes): a 'c' or 'd' invalidates the file.
        File.WriteAllText(Path.Combine(Directory, "global-acl"), $"* user={Master.User} lrwstipekxa\n");
    }

    private async Task StartProcessAsync()
    {
        _process = PeerProcess.Start("dovecot", Dovecot, ["-F", "-c", ConfigPath], Path.Combine(Directory, "log", "process.log"));
        await WaitForGreetingAsync(TimeSpan.FromSeconds(15)).ConfigureAwait(false);
    }

    private const int MaxFreshUsers = 50;

    /// <summary>
    /// Connects a client; first checks that Dovecot still runs, so that a Dovecot killed from
    /// outside (another fixture's pkill, a crash) is reported as such with its log, not as a refused connection.
    /// </summary>
    public Task<ImapClient> ConnectAsync()
    {
        if (_process is null || _process.HasExited)
        {
            _diedUnexpectedly = true;
            throw new InvalidOperationException(
                $"dovecot (fixture in {Directory}) is no longer running; its directory is kept. Output:\n{_process?.Tail()}\nLog:\n{LogTail()}");
        }
        return ImapClient.ConnectAsync(ClientOptions);
    }

    private bool _diedUnexpectedly;

    /// <summary>A fresh user with an empty mailbox, for tests that count messages.</summary>
    public (string User, string Password) NewUser()
    {
        var n = Interlocked.Increment(ref _users);
        if (n > MaxFreshUsers)
        {
            throw new InvalidOperationException($"only {MaxFreshUsers} fresh users per Dovecot instance");
        }
        return ($"user{n}", $"pw{n}");
    }

    /// <summary>Readiness is the IMAP greeting, not just a bound port.</summary>
    private Task WaitForGreetingAsync(TimeSpan timeout) =>
        ImapGreeting.WaitAsync(_process!, Port, Greeting, timeout, "dovecot",
            () => $"Output:\n{_process?.Tail()}\nLog:\n{LogTail()}");

    /// <summary>Delivers a message with dovecot-lda (Sieve not involved); <paramref name="mailbox"/> is auto-created.</summary>
    public async Task DeliverAsync(string user, string subject, string? mailbox = null, string from = "romeo@example.com")
    {
        var args = new List<string> { "-c", ConfigPath, "-d", user, "-f", from };
        if (mailbox is not null)
        {
            args.AddRange(["-m", mailbox]);
        }
        var message = $"From: {from}\r\nTo: {user}@example.com\r\nSubject: {subject}\r\nMessage-ID: <{Guid.NewGuid():N}@example.com>\r\n\r\nHello.\r\n";
        var (code, output) = await PeerCommand.RunAsync(Lda, args, message).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"dovecot-lda {string.Join(' ', args)} exited with {code}: {output}\nLog:\n{LogTail()}");
        }
    }

    /// <summary>Runs <c>doveadm -c ... args</c> (e.g. <c>expunge -u juliet mailbox INBOX uid 1</c>); throws with its output when it fails.</summary>
    public async Task DoveadmAsync(params string[] args)
    {
        var all = new List<string> { "-c", ConfigPath };
        all.AddRange(args);
        var (code, output) = await PeerCommand.RunAsync(Doveadm, all, null).ConfigureAwait(false);
        if (code != 0)
        {
            throw new InvalidOperationException($"doveadm {string.Join(' ', args)} exited with {code}: {output}\nLog:\n{LogTail()}");
        }
    }

    /// <summary>Stops Dovecot (doveadm stop, then SIGTERM/SIGKILL by PeerProcess) and starts it again on the same port.</summary>
    public async Task RestartAsync()
    {
        await StopAsync().ConfigureAwait(false);
        await StartProcessAsync().ConfigureAwait(false);
    }

    public async Task StopAsync()
    {
        if (_process is null || _process.HasExited)
        {
            return;
        }
        await PeerCommand.RunAsync(Doveadm, ["-c", ConfigPath, "stop"], null).ConfigureAwait(false);
        await _process.StopAsync(TimeSpan.FromSeconds(10)).ConfigureAwait(false);
        await _process.DisposeAsync().ConfigureAwait(false);
        _process = null;
    }

    public string LogTail()
    {
        try
        {
            var text = File.ReadAllText(LogPath);
            return text.Length > 4000 ? text[^4000..] : text;
        }
        catch (IOException e)
        {
            return $"(no log: {e.Message})";
        }
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync().ConfigureAwait(false);
        if (_diedUnexpectedly)
        {
            return; // keep the logs for the post-mortem
        }
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // a straggling mail process may still hold a file; the temp dir is cleaned up later
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>xunit class fixture: one Dovecot with TLS (throwaway certificate) per test class.</summary>
public sealed class DovecotTlsFixture : IAsyncLifetime
{
    public DovecotServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await DovecotServer.StartAsync(ssl: true);

    public async Task DisposeAsync() => await Server.DisposeAsync();
}

/// <summary>xunit class fixture: one Dovecot per test class.</summary>
public sealed class DovecotFixture : IAsyncLifetime
{
    public DovecotServer Server { get; private set; } = null!;

    public async Task InitializeAsync() => Server = await DovecotServer.StartAsync();

    public async Task DisposeAsync() => await Server.DisposeAsync();
}
