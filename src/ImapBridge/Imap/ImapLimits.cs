namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Hard limits the response parser enforces so that a hostile or broken server can never make
/// us buffer without bound. A violation is an <see cref="ImapProtocolException"/> on that connection.
/// </summary>
public sealed record ImapLimits
{
    /// <summary>Defaults: 64 KiB per line, 1 MiB per literal, 32 levels of parentheses.</summary>
    public static ImapLimits Default { get; } = new();

    /// <summary>Longest line (bytes, CRLF included, literals excluded) before the response is rejected.</summary>
    public int MaxLineLength { get; init; } = 64 * 1024;

    /// <summary>Largest literal ({n} or ~{n}) accepted; checked when announced, before its bytes arrive.</summary>
    public long MaxLiteralSize { get; init; } = 1024 * 1024;

    /// <summary>Deepest nesting of parenthesised lists.</summary>
    public int MaxNesting { get; init; } = 32;

    /// <summary>Largest whole response (lines plus literals).</summary>
    public long MaxResponseSize { get; init; } = 4 * 1024 * 1024;
}
