namespace Aggregators.Sip.Parsing;

/// <summary>Bounds on what the codec accepts, so a hostile peer cannot make it hold unbounded memory.</summary>
public sealed record SipParserLimits
{
    public static SipParserLimits Default { get; } = new();

    /// <summary>Whole message; 64 KiB is the largest UDP datagram (RFC 3261 §18.1.1).</summary>
    public int MaxMessageSize { get; init; } = 65535;

    /// <summary>Header section, start line through the empty line.</summary>
    public int MaxHeaderSectionSize { get; init; } = 32 * 1024;

    public int MaxHeaderCount { get; init; } = 128;

    /// <summary>One physical line, CRLF excluded.</summary>
    public int MaxLineLength { get; init; } = 8 * 1024;
}
