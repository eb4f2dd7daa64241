namespace Aggregators.Sip;

/// <summary>
/// The only exception the codec throws for malformed input: says which line (1-based, 0 when
/// not known) and which header the problem is in, and why.
/// </summary>
public sealed class SipParseException : Exception
{
    public SipParseException(string reason, int line = 0, string? headerName = null)
        : base(Format(reason, line, headerName))
    {
        Reason = reason;
        Line = line;
        HeaderName = headerName;
    }

    public SipParseException()
        : this("malformed SIP message")
    {
    }

    public SipParseException(string message, Exception innerException)
        : base(message, innerException)
    {
        Reason = message;
    }

    /// <summary>Why the input was rejected.</summary>
    public string Reason { get; }

    /// <summary>The 1-based line of the message the error is on, 0 when not known.</summary>
    public int Line { get; }

    /// <summary>The (full) name of the header in error, if any.</summary>
    public string? HeaderName { get; }

    /// <summary>Returns a copy naming the header the value came from.</summary>
    internal SipParseException WithHeader(string headerName, int line) =>
        HeaderName is null ? new SipParseException(Reason, line, headerName) : this;

    private static string Format(string reason, int line, string? header) =>
        (line, header) switch
        {
            (0, null) => reason,
            (0, _) => $"{header}: {reason}",
            (_, null) => $"line {line}: {reason}",
            _ => $"line {line}, {header}: {reason}",
        };
}
