using System.Globalization;
using Aggregators.Sip.Auth;

namespace Aggregators.Cna.Sip;

/// <summary>
/// The CNA's users file (docs/cna.md). One entry per line, fields separated by blanks, values
/// without blanks; blank lines and lines starting with <c>#</c> are ignored:
/// <code>
/// user romeo password=secret                               # a local user, plain password
/// user mercutio ha1-md5=&lt;32 hex&gt; ha1-sha256=&lt;64 hex&gt;    # hashed at rest: H(user:realm:password)
/// upstream romeo example.com username=romeo password=pw   # romeo's credentials for the PNA of example.com
/// </code>
/// Only H(A1) values of local users are kept in memory. A user listed twice, an unknown keyword
/// or a malformed value stops the CNA at start with the line number.
/// </summary>
public sealed class CnaUsers
{
    private readonly Dictionary<string, (string? Md5, string? Sha256)> _ha1;
    private readonly Dictionary<(string User, string Domain), (string Username, string Password)> _upstream;

    private CnaUsers(Dictionary<string, (string?, string?)> ha1, Dictionary<(string, string), (string, string)> upstream)
    {
        _ha1 = ha1;
        _upstream = upstream;
    }

    public int Count => _ha1.Count;

    public static CnaUsers Load(string path, string realm) => Parse(File.ReadAllLines(path), realm, path);

    public static CnaUsers Parse(IEnumerable<string> lines, string realm, string source = "users file")
    {
        ArgumentNullException.ThrowIfNull(lines);
        var ha1 = new Dictionary<string, (string?, string?)>(StringComparer.Ordinal);
        var upstream = new Dictionary<(string, string), (string, string)>();
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.Trim();
            if (line.Length == 0 || line.StartsWith('#'))
            {
                continue;
            }
            var fields = line.Split([' ', '\t'], StringSplitOptions.RemoveEmptyEntries);
            string Where() => $"{source} line {number.ToString(CultureInfo.InvariantCulture)}";
            switch (fields[0])
            {
                case "user" when fields.Length >= 3:
                {
                    var user = CheckName(fields[1], Where);
                    var values = KeyValues(fields.AsSpan(2), Where);
                    (string?, string?) entry;
                    if (values.TryGetValue("password", out var password))
                    {
                        entry = (DigestComputation.Ha1(DigestAlgorithm.Md5, user, realm, password), DigestComputation.Ha1(DigestAlgorithm.Sha256, user, realm, password));
                    }
                    else
                    {
                        var md5 = values.GetValueOrDefault("ha1-md5");
                        var sha = values.GetValueOrDefault("ha1-sha256");
                        if (md5 is null && sha is null)
                        {
                            throw new FormatException($"{Where()}: user '{user}' needs password= or ha1-md5= / ha1-sha256=");
                        }
                        if ((md5 is not null && !IsHex(md5, 32)) || (sha is not null && !IsHex(sha, 64)))
                        {
                            throw new FormatException($"{Where()}: ha1-md5 needs 32 hex digits, ha1-sha256 64");
                        }
                        entry = (md5?.ToLowerInvariant(), sha?.ToLowerInvariant());
                    }
                    if (!ha1.TryAdd(user, entry))
                    {
                        throw new FormatException($"{Where()}: user '{user}' listed twice");
                    }
                    break;
                }
                case "upstream" when fields.Length >= 4:
                {
                    var user = CheckName(fields[1], Where);
                    var domain = fields[2].ToLowerInvariant();
                    var values = KeyValues(fields.AsSpan(3), Where);
                    if (!values.TryGetValue("username", out var username) || !values.TryGetValue("password", out var password))
                    {
                        throw new FormatException($"{Where()}: upstream needs username= and password=");
                    }
                    if (!upstream.TryAdd((user, domain), (username, password)))
                    {
                        throw new FormatException($"{Where()}: upstream credentials of '{user}' for {domain} listed twice");
                    }
                    break;
                }
                default:
                    throw new FormatException($"{Where()}: expected 'user <name> password=...' or 'upstream <name> <domain> username=... password=...'");
            }
        }
        return new CnaUsers(ha1, upstream);
    }

    /// <summary>H(A1) of a local user, or null (the digest server's lookup).</summary>
    public string? Ha1(string username, DigestAlgorithm algorithm) =>
        _ha1.TryGetValue(username, out var h) ? (algorithm == DigestAlgorithm.Md5 ? h.Md5 : h.Sha256) : null;

    public bool Exists(string username) => _ha1.ContainsKey(username);

    /// <summary>A local user's credentials for a remote domain's PNA, if stored.</summary>
    public (string Username, string Password)? Upstream(string user, string domain) =>
        _upstream.TryGetValue((user, domain.ToLowerInvariant()), out var c) ? c : null;

    private static string CheckName(string name, Func<string> where)
    {
        if (name.Any(c => char.IsControl(c) || c is '"' or ':' or '='))
        {
            throw new FormatException($"{where()}: bad user name '{name}'");
        }
        return name;
    }

    private static Dictionary<string, string> KeyValues(ReadOnlySpan<string> fields, Func<string> where)
    {
        var map = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var f in fields)
        {
            var eq = f.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == f.Length - 1 || !map.TryAdd(f[..eq], f[(eq + 1)..]))
            {
                throw new FormatException($"{where()}: expected key=value, got '{f.Split('=')[0]}'");
            }
        }
        return map;
    }

    private static bool IsHex(string s, int length) => s.Length == length && s.All(char.IsAsciiHexDigit);
}
