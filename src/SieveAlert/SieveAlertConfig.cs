using System.Globalization;

namespace Aggregators.SieveAlert;

/// <summary>
/// The program's settings: a small "key = value" file (default /etc/aggregators/sieve-alert.conf,
/// or PNA_ALERT_CONFIG, or --config), then environment variables PNA_ALERT_URL, PNA_ALERT_TOKEN,
/// PNA_ALERT_SPOOL. Sieve passes only arguments, so nothing else reaches the program.
/// </summary>
internal sealed class SieveAlertConfig
{
    public const string DefaultPath = "/etc/aggregators/sieve-alert.conf";

    /// <summary>Base URL of the PNA, e.g. http://127.0.0.1:8480.</summary>
    public Uri Url { get; set; } = new("http://127.0.0.1:8480");

    public string Token { get; set; } = "";

    public string Spool { get; set; } = "/var/spool/aggregators/alerts";

    /// <summary>How long one POST may take before the alert is spooled.</summary>
    public TimeSpan PostTimeout { get; set; } = TimeSpan.FromMilliseconds(1000);

    /// <summary>The whole run, whatever happens (the program then exits 0).</summary>
    public TimeSpan Budget { get; set; } = TimeSpan.FromMilliseconds(1900);

    /// <summary>IMAP URL of the user's INBOX with {user} for the mail user, e.g. imap://{user}@mail.example.com/INBOX.</summary>
    public string? ImapUrl { get; set; }

    /// <summary>Domain appended to a bare user name to make the account ("juliet" → juliet@example.com).</summary>
    public string? Domain { get; set; }

    /// <summary>Spooled alerts older than this are moved to failed/ by the drainer.</summary>
    public TimeSpan MaxAge { get; set; } = TimeSpan.FromDays(2);

    public static SieveAlertConfig Load(string? path, IReadOnlyDictionary<string, string?> env, List<string> problems)
    {
        var config = new SieveAlertConfig();
        path ??= env.GetValueOrDefault("PNA_ALERT_CONFIG") ?? DefaultPath;
        if (File.Exists(path))
        {
            var lineNo = 0;
            foreach (var raw in File.ReadLines(path))
            {
                lineNo++;
                var line = raw.Trim();
                if (line.Length == 0 || line[0] == '#')
                {
                    continue;
                }
                var eq = line.IndexOf('=', StringComparison.Ordinal);
                if (eq <= 0)
                {
                    problems.Add($"{path}:{lineNo}: expected key = value");
                    continue;
                }
                config.Set(line[..eq].Trim().ToLowerInvariant(), line[(eq + 1)..].Trim(), $"{path}:{lineNo}", problems);
            }
        }
        else if (path != DefaultPath)
        {
            problems.Add($"config file {path} not found");
        }
        foreach (var (name, key) in new[] { ("PNA_ALERT_URL", "url"), ("PNA_ALERT_TOKEN", "token"), ("PNA_ALERT_SPOOL", "spool") })
        {
            if (env.GetValueOrDefault(name) is { Length: > 0 } value)
            {
                config.Set(key, value, name, problems);
            }
        }
        return config;
    }

    private void Set(string key, string value, string where, List<string> problems)
    {
        switch (key)
        {
            case "url":
                if (Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https")
                {
                    Url = url;
                }
                else
                {
                    problems.Add($"{where}: url '{value}' is not an http(s) URL");
                }
                break;
            case "token":
                Token = value;
                break;
            case "token_file":
                try
                {
                    Token = File.ReadAllText(value).Trim();
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    problems.Add($"{where}: token_file {value}: {e.Message}");
                }
                break;
            case "spool":
                Spool = value;
                break;
            case "imap_url":
                ImapUrl = value;
                break;
            case "domain":
                Domain = value;
                break;
            case "post_timeout_ms":
                PostTimeout = Millis(value, 50, 60_000, PostTimeout);
                break;
            case "budget_ms":
                Budget = Millis(value, 100, 60_000, Budget);
                break;
            case "max_age_hours":
                MaxAge = int.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var h) && h > 0 ? TimeSpan.FromHours(h) : MaxAge;
                break;
            default:
                problems.Add($"{where}: unknown key '{key}'");
                break;
        }

        TimeSpan Millis(string v, int min, int max, TimeSpan fallback)
        {
            if (int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var ms) && ms >= min && ms <= max)
            {
                return TimeSpan.FromMilliseconds(ms);
            }
            problems.Add($"{where}: {key} must be a number of milliseconds from {min} to {max}");
            return fallback;
        }
    }
}
