using Aggregators.Sip.Auth;

namespace Aggregators.Pna.Transports.Sip;

/// <summary>
/// The digest users of the notifier, read from the credentials file: one
/// <c>username:password</c> per line (the password is the rest of the line, colons included),
/// blank lines and lines starting with <c>#</c> ignored. Only the H(A1) values are kept.
/// </summary>
public sealed class SipCredentials
{
    private readonly Dictionary<string, (string Md5, string Sha256)> _ha1;

    private SipCredentials(Dictionary<string, (string, string)> ha1) => _ha1 = ha1;

    public int Count => _ha1.Count;

    public static SipCredentials Empty { get; } = new(new(StringComparer.Ordinal));

    public static SipCredentials Load(string path, string realm) => Parse(File.ReadAllLines(path), realm, path);

    public static SipCredentials Parse(IEnumerable<string> lines, string realm, string source = "credentials")
    {
        var map = new Dictionary<string, (string, string)>(StringComparer.Ordinal);
        var number = 0;
        foreach (var raw in lines)
        {
            number++;
            var line = raw.TrimEnd('\r');
            if (line.Trim().Length == 0 || line.TrimStart().StartsWith('#'))
            {
                continue;
            }
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0 || colon == line.Length - 1)
            {
                throw new FormatException($"{source} line {number}: expected username:password");
            }
            var user = line[..colon].Trim();
            var password = line[(colon + 1)..];
            if (user.Length == 0 || user.Any(c => char.IsWhiteSpace(c) || char.IsControl(c) || c == '"'))
            {
                throw new FormatException($"{source} line {number}: bad username");
            }
            if (!map.TryAdd(user, (
                DigestComputation.Ha1(DigestAlgorithm.Md5, user, realm, password),
                DigestComputation.Ha1(DigestAlgorithm.Sha256, user, realm, password))))
            {
                throw new FormatException($"{source} line {number}: user '{user}' listed twice");
            }
        }
        return new SipCredentials(map);
    }

    /// <summary>H(A1) of a user for an algorithm, or null for an unknown user (the digest server's lookup).</summary>
    public string? Ha1(string username, DigestAlgorithm algorithm) =>
        _ha1.TryGetValue(username, out var h) ? (algorithm == DigestAlgorithm.Md5 ? h.Md5 : h.Sha256) : null;
}
