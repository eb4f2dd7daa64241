using System.Buffers;
using System.Diagnostics;
using System.Text;
using System.Text.Json;
using Aggregators.EventModel;

namespace Aggregators.SieveAlert;

/// <summary>
/// pna-alert (docs/alerts.md). Send mode (what Sieve runs):
/// <c>--to URI [--to URI ...] --text TEXT [--importance low|normal|high] [--account A] [--mailbox M] [--config FILE]</c>;
/// the message arrives on stdin. The alert is first written to the spool (write-ahead), then
/// posted; once the PNA accepted it the spool file is removed, otherwise a detached drainer is
/// started that posts it later. Drain mode: <c>--drain [--once] [--config FILE]</c>.
/// </summary>
internal static class SieveAlertProgram
{
    /// <summary>The stdin read stops after this long (the message is read to the end so the writer never sees EPIPE).</summary>
    private static readonly TimeSpan StdinBudget = TimeSpan.FromMilliseconds(400);

    /// <summary>Tests turn the detached drainer off (it would outlive the test).</summary>
    internal static bool StartDrainers { get; set; } = true;

    public static async Task<int> RunAsync(string[] args, Stream stdin, IReadOnlyDictionary<string, string?> env)
    {
        var options = Arguments.Parse(args, out var argError);
        if (argError is not null || options.Help)
        {
            await Console.Error.WriteLineAsync((argError is null ? "" : "pna-alert: " + argError + "\n") + Arguments.Usage).ConfigureAwait(false);
            return 0;
        }
        var problems = new List<string>();
        var config = SieveAlertConfig.Load(options.ConfigPath, env, problems);
        foreach (var p in problems)
        {
            await Console.Error.WriteLineAsync("pna-alert: " + p).ConfigureAwait(false);
        }
        if (options.Drain)
        {
            await new SpoolDrainer(config, options.Detached, options.Once).RunAsync().ConfigureAwait(false);
            return 0;
        }
        return await SendAsync(options, config, stdin, env).ConfigureAwait(false);
    }

    private static async Task<int> SendAsync(Arguments options, SieveAlertConfig config, Stream stdin, IReadOnlyDictionary<string, string?> env)
    {
        var clock = Stopwatch.StartNew();
        var spool = new AlertSpool(config.Spool);
        string? spooled = null;
        var handled = 0; // set by whoever decides the spool file's fate: the outcome below or the watchdog
        // The hard bound: whatever is still running when the budget ends, exit 0 now, leaving any
        // spooled alert to a drainer.
        using var watchdog = new Timer(_ =>
        {
            if (Interlocked.Exchange(ref handled, 1) == 0 && Volatile.Read(ref spooled) is not null)
            {
                StartDrainer(options.ConfigPath);
            }
            Environment.Exit(0);
        }, null, config.Budget, Timeout.InfiniteTimeSpan);

        var headers = options.ReadStdin ? await ReadHeadersAsync(stdin).ConfigureAwait(false) : new MessageHeaders();
        var clientId = Guid.NewGuid().ToString("N");
        var body = BuildBody(options, config, headers, env, clientId);
        try
        {
            spooled = spool.Write(clientId, body, DateTimeOffset.UtcNow);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"pna-alert: cannot spool to {config.Spool} ({e.Message}); posting without a safety net").ConfigureAwait(false);
        }
        var remaining = config.Budget - clock.Elapsed - TimeSpan.FromMilliseconds(200);
        var timeout = remaining < config.PostTimeout ? remaining : config.PostTimeout;
        var (result, detail) = timeout > TimeSpan.FromMilliseconds(20)
            ? await PostOnceAsync(config, body, timeout).ConfigureAwait(false)
            : (PostResult.Retry, "no time left to post");
        if (Interlocked.Exchange(ref handled, 1) != 0)
        {
            return 0; // the watchdog is ending the process
        }
        switch (result)
        {
            case PostResult.Accepted:
                TryDelete(spooled);
                await Console.Out.WriteLineAsync("pna-alert: " + detail).ConfigureAwait(false);
                break;
            case PostResult.Invalid:
                if (spooled is not null)
                {
                    TryFail(spool, spooled, detail);
                }
                await Console.Error.WriteLineAsync("pna-alert: the PNA refused the alert: " + detail).ConfigureAwait(false);
                break;
            default:
                await Console.Error.WriteLineAsync($"pna-alert: {detail}; " + (spooled is null ? "the alert is lost" : $"spooled as {spooled}")).ConfigureAwait(false);
                if (spooled is not null)
                {
                    StartDrainer(options.ConfigPath);
                }
                break;
        }
        return 0;
    }

    private static async Task<(PostResult, string)> PostOnceAsync(SieveAlertConfig config, byte[] body, TimeSpan timeout)
    {
        using var poster = new AlertPoster(config);
        return await poster.PostAsync(body, timeout, CancellationToken.None).ConfigureAwait(false);
    }

    /// <summary>Reads the whole message (up to <see cref="StdinBudget"/>) and parses its header section.</summary>
    internal static async Task<MessageHeaders> ReadHeadersAsync(Stream stdin)
    {
        var head = new ArrayBufferWriter<byte>(8192);
        var reading = Task.Run(async () =>
        {
            var buffer = new byte[64 * 1024];
            while (true)
            {
                var n = await stdin.ReadAsync(buffer).ConfigureAwait(false);
                if (n == 0)
                {
                    return;
                }
                lock (head)
                {
                    var room = MessageHeaders.MaxHeaderBytes - head.WrittenCount;
                    if (room > 0)
                    {
                        head.Write(buffer.AsSpan(0, Math.Min(n, room)));
                    }
                }
            }
        });
        try
        {
            await reading.WaitAsync(StdinBudget).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            // A slow or endless writer: go on with what arrived (the read is abandoned).
        }
        catch (IOException)
        {
        }
        lock (head)
        {
            return MessageHeaders.Parse(head.WrittenSpan);
        }
    }

    internal static byte[] BuildBody(Arguments options, SieveAlertConfig config, MessageHeaders headers, IReadOnlyDictionary<string, string?> env, string clientId)
    {
        var user = env.GetValueOrDefault("USER");
        var account = options.Account ?? AccountOf(env.GetValueOrDefault("RECIPIENT"), user, config.Domain);
        var text = (options.Text is { Length: > 0 } t ? t : "New mail from {from}: {subject}")
            .Replace("{from}", headers.From ?? "(unknown sender)", StringComparison.Ordinal)
            .Replace("{subject}", headers.Subject ?? "(no subject)", StringComparison.Ordinal)
            .Replace("{user}", user ?? "", StringComparison.Ordinal);
        if (text.Length > 1000)
        {
            text = text[..999] + "…";
        }
        var output = new ArrayBufferWriter<byte>(512);
        using (var w = new Utf8JsonWriter(output))
        {
            w.WriteStartObject();
            w.WriteStartArray("targets");
            foreach (var to in options.Targets)
            {
                w.WriteStringValue(to);
            }
            w.WriteEndArray();
            w.WriteString("text", text);
            w.WriteString("importance", options.Importance);
            if (account is not null)
            {
                w.WriteString("account", account);
                if (options.Mailbox is { } mailbox)
                {
                    w.WriteString("mailbox", mailbox);
                }
            }
            if (ImapUrlOf(config.ImapUrl, user, options.Mailbox, headers.MessageId) is { } url)
            {
                w.WriteString("imapUrl", url);
            }
            if (headers.From is { } from)
            {
                w.WriteString("from", from);
            }
            if (headers.Subject is { } subject)
            {
                w.WriteString("subject", subject);
            }
            w.WriteString("clientId", clientId);
            w.WriteEndObject();
        }
        return output.WrittenSpan.ToArray();
    }

    private static string? AccountOf(string? recipient, string? user, string? domain)
    {
        if (recipient is { } r && r.Contains('@', StringComparison.Ordinal) && AccountId.TryParse(r.Trim('<', '>'), out var id, out _))
        {
            return id.Value;
        }
        if (user is { Length: > 0 } u)
        {
            var candidate = u.Contains('@', StringComparison.Ordinal) || domain is null ? u : u + "@" + domain;
            return AccountId.TryParse(candidate, out id, out _) ? id.Value : null;
        }
        return null;
    }

    /// <summary>
    /// The configured mailbox URL with {user} filled in, plus an RFC 5092 §6 search for the
    /// message's Message-ID when it has one (the UID is not known yet while Sieve runs). Null when
    /// not configured or when the result is not a valid IMAP URL.
    /// </summary>
    internal static string? ImapUrlOf(string? template, string? user, string? mailbox, string? messageId)
    {
        if (template is null)
        {
            return null;
        }
        var url = template.Replace("{user}", Uri.EscapeDataString(user ?? ""), StringComparison.Ordinal);
        if (mailbox is not null && url.EndsWith("/INBOX", StringComparison.Ordinal))
        {
            url = url[..^"INBOX".Length] + Uri.EscapeDataString(mailbox).Replace("%2F", "/", StringComparison.Ordinal);
        }
        if (messageId is not null)
        {
            url += "?" + Uri.EscapeDataString($"HEADER Message-ID \"{messageId}\"");
        }
        return ImapUrl.TryParse(url, out _, out _) ? url : (messageId is null ? null : ImapUrlOf(template, user, mailbox, null));
    }

    private static void TryDelete(string? path)
    {
        if (path is null)
        {
            return;
        }
        try
        {
            File.Delete(path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static void TryFail(AlertSpool spool, string path, string reason)
    {
        try
        {
            spool.Fail(path, reason);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// Starts "pna-alert --drain --detached" in its own session (setsid), with its standard streams
    /// on fresh pipes: Dovecot waits for neither it nor its output.
    /// </summary>
    internal static void StartDrainer(string? configPath)
    {
        if (!StartDrainers)
        {
            return;
        }
        try
        {
            var self = Environment.ProcessPath ?? "dotnet";
            var setsid = File.Exists("/usr/bin/setsid") ? "/usr/bin/setsid" : null;
            var psi = new ProcessStartInfo(setsid ?? self)
            {
                UseShellExecute = false,
                RedirectStandardInput = true,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            if (setsid is not null)
            {
                psi.ArgumentList.Add(self);
            }
            if (Path.GetFileNameWithoutExtension(self) == "dotnet")
            {
                psi.ArgumentList.Add(typeof(SieveAlertProgram).Assembly.Location);
            }
            psi.ArgumentList.Add("--drain");
            psi.ArgumentList.Add("--detached");
            if (configPath is not null)
            {
                psi.ArgumentList.Add("--config");
                psi.ArgumentList.Add(configPath);
            }
            using var process = Process.Start(psi);
            process?.StandardInput.Close();
        }
        catch (Exception e) when (e is System.ComponentModel.Win32Exception or InvalidOperationException or IOException)
        {
            Console.Error.WriteLine("pna-alert: cannot start the drainer: " + e.Message);
        }
    }
}

/// <summary>The command line.</summary>
internal sealed class Arguments
{
    public const string Usage = """
        usage: pna-alert --to URI [--to URI ...] --text TEXT [--importance low|normal|high]
                         [--account ACCOUNT] [--mailbox MAILBOX] [--no-stdin] [--config FILE]
               pna-alert --drain [--once] [--config FILE]
        TEXT may use {from}, {subject} and {user}. The message is read from stdin.
        Settings: /etc/aggregators/sieve-alert.conf (url, token or token_file, spool, imap_url,
        domain, post_timeout_ms, budget_ms, max_age_hours); env PNA_ALERT_URL, PNA_ALERT_TOKEN,
        PNA_ALERT_SPOOL, PNA_ALERT_CONFIG. Always exits 0.
        """;

    public List<string> Targets { get; } = [];
    public string? Text { get; private set; }
    public string Importance { get; private set; } = "normal";
    public string? Account { get; private set; }
    public string? Mailbox { get; private set; }
    public string? ConfigPath { get; private set; }
    public bool ReadStdin { get; private set; } = true;
    public bool Drain { get; private set; }
    public bool Once { get; private set; }
    public bool Detached { get; private set; }
    public bool Help { get; private set; }

    public static Arguments Parse(string[] args, out string? error)
    {
        var a = new Arguments();
        error = null;
        for (var i = 0; i < args.Length; i++)
        {
            string? Value()
            {
                if (i + 1 < args.Length)
                {
                    return args[++i];
                }
                return null;
            }
            var arg = args[i];
            switch (arg)
            {
                case "--to": if (Value() is { } to) { a.Targets.Add(to); } else { error = "--to needs a URI"; } break;
                case "--text": a.Text = Value() ?? (error = "--text needs a value"); break;
                case "--importance":
                    var imp = Value();
                    if (imp is "low" or "normal" or "high")
                    {
                        a.Importance = imp;
                    }
                    else
                    {
                        error = "--importance must be low, normal or high";
                    }
                    break;
                case "--account": a.Account = Value() ?? (error = "--account needs a value"); break;
                case "--mailbox": a.Mailbox = Value() ?? (error = "--mailbox needs a value"); break;
                case "--config": a.ConfigPath = Value() ?? (error = "--config needs a path"); break;
                case "--no-stdin": a.ReadStdin = false; break;
                case "--drain": a.Drain = true; break;
                case "--once": a.Once = true; break;
                case "--detached": a.Detached = true; break;
                case "--help" or "-h": a.Help = true; break;
                default: error = $"unknown argument '{arg}'"; break;
            }
            if (error is not null)
            {
                return a;
            }
        }
        if (!a.Drain && !a.Help && a.Targets.Count == 0)
        {
            error = "at least one --to is needed";
        }
        return a;
    }
}
