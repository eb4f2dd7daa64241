namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// The server broke the IMAP syntax (RFC 3501 §9, RFC 9051 §9) or a configured limit
/// (<see cref="ImapLimits"/>). The connection it came from is unusable afterwards and is closed;
/// other connections are unaffected.
/// </summary>
public sealed class ImapProtocolException : Exception
{
    public ImapProtocolException()
    {
    }

    public ImapProtocolException(string message)
        : base(message)
    {
    }

    public ImapProtocolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>Builds the message "what at offset N of the response: context".</summary>
    internal ImapProtocolException(string what, int offset, string context)
        : base($"{what} at offset {offset} of the response: {context}")
    {
        Offset = offset;
    }

    /// <summary>Byte offset in the response where the violation was found, when known.</summary>
    public int? Offset { get; }
}

/// <summary>A command completed with a tagged NO or BAD (RFC 3501 §7.1).</summary>
public sealed class ImapCommandException : Exception
{
    public ImapCommandException()
    {
    }

    public ImapCommandException(string message)
        : base(message)
    {
    }

    public ImapCommandException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    internal ImapCommandException(string command, ImapTaggedResponse response)
        : base($"{command} failed: {response.Status.ToString().ToUpperInvariant()}"
            + (response.Code is null ? "" : $" [{response.Code}]") + $" {response.Text}")
    {
        Command = command;
        Response = response;
    }

    /// <summary>The command name (LOGIN, SELECT, ...).</summary>
    public string? Command { get; }

    /// <summary>The tagged response: status, response code and human-readable text.</summary>
    public ImapTaggedResponse? Response { get; }

    public ImapStatus? Status => Response?.Status;

    public ImapResponseCode? Code => Response?.Code;
}

/// <summary>
/// The connection is gone or was closed by this side: the server closed it (with or without a
/// BYE, RFC 3501 §7.1.5), a network error, a protocol violation, a timeout or a cancellation that
/// left the command stream in an unknown state. Every running and later command fails with it.
/// </summary>
public sealed class ImapConnectionException : Exception
{
    public ImapConnectionException()
    {
    }

    public ImapConnectionException(string message)
        : base(message)
    {
    }

    public ImapConnectionException(string message, Exception? innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The BYE the server sent before closing, if any.</summary>
    public ImapUntaggedStatusResponse? Bye { get; init; }
}
