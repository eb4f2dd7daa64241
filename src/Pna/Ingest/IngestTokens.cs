using System.Security.Cryptography;
using System.Text;
using Aggregators.Pna.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Aggregators.Pna.Ingest;

/// <summary>
/// The bearer tokens of the configured ingest sources. Tokens are compared as SHA-256 digests
/// with <see cref="CryptographicOperations.FixedTimeEquals"/> against every source, so neither
/// timing nor length tells a caller anything about the tokens that exist. With no source
/// configured, a random token for source "local" is created once in the data directory.
/// </summary>
public sealed partial class IngestTokens
{
    public const string LocalSource = "local";
    public const string TokenFileName = "ingest.token";

    private readonly (string Name, byte[] Digest)[] _sources;

    public IngestTokens(IOptions<PnaOptions> options, ILogger<IngestTokens> logger)
    {
        ArgumentNullException.ThrowIfNull(options);
        var o = options.Value;
        if (o.Ingest.Sources.Count > 0)
        {
            _sources = [.. o.Ingest.Sources.Select(s => (s.Name, Digest(s.Token)))];
            return;
        }
        var path = Path.Combine(o.DataDirectoryFullPath, TokenFileName);
        TokenFilePath = path;
        string token;
        if (File.Exists(path))
        {
            token = File.ReadAllText(path).Trim();
            if (token.Length < 16)
            {
                throw new InvalidOperationException(
                    $"The ingest token file {path} holds fewer than 16 characters; delete it to have a new one generated, or configure Pna:Ingest:Sources.");
            }
            LogUsingTokenFile(logger, path);
        }
        else
        {
            o.EnsureDataDirectory();
            token = Base64Url(RandomNumberGenerator.GetBytes(32));
            var fileOptions = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
            if (!OperatingSystem.IsWindows())
            {
                fileOptions.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            }
            using (var stream = new FileStream(path, fileOptions))
            {
                stream.Write(Encoding.ASCII.GetBytes(token + "\n"));
            }
            LogGeneratedTokenFile(logger, path);
        }
        _sources = [(LocalSource, Digest(token))];
    }

    /// <summary>The generated token file, when no source is configured.</summary>
    public string? TokenFilePath { get; }

    /// <summary>The source whose token is <paramref name="token"/>, or null.</summary>
    public string? Authenticate(ReadOnlySpan<char> token)
    {
        if (token.IsEmpty || token.Length > 4096)
        {
            return null;
        }
        Span<byte> digest = stackalloc byte[SHA256.HashSizeInBytes];
        var utf8 = Encoding.UTF8.GetBytes(token.ToArray());
        SHA256.HashData(utf8, digest);
        string? found = null;
        foreach (var (name, expected) in _sources)
        {
            // No early exit: every source is compared.
            if (CryptographicOperations.FixedTimeEquals(digest, expected))
            {
                found = name;
            }
        }
        return found;
    }

    /// <summary>The token of an <c>Authorization: Bearer</c> header value (RFC 6750 §2.1), or empty.</summary>
    public static ReadOnlySpan<char> BearerToken(string? authorization)
    {
        if (authorization is null)
        {
            return default;
        }
        var value = authorization.AsSpan().Trim();
        const string scheme = "Bearer";
        if (value.Length <= scheme.Length || !value[..scheme.Length].Equals(scheme, StringComparison.OrdinalIgnoreCase) || value[scheme.Length] != ' ')
        {
            return default;
        }
        return value[(scheme.Length + 1)..].Trim();
    }

    private static byte[] Digest(string token) => SHA256.HashData(Encoding.UTF8.GetBytes(token));

    private static string Base64Url(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    [LoggerMessage(Level = LogLevel.Warning, Message = "No ingest source configured (Pna:Ingest:Sources): generated a token for source 'local' in {Path} (mode 0600); producers send it as 'Authorization: Bearer <token>'")]
    private static partial void LogGeneratedTokenFile(ILogger logger, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "No ingest source configured: using the token of source 'local' in {Path}")]
    private static partial void LogUsingTokenFile(ILogger logger, string path);
}
