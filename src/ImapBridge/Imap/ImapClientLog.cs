using Microsoft.Extensions.Logging;

namespace Aggregators.ImapBridge.Imap;

/// <summary>Log messages of <see cref="ImapClient"/> (source-generated, no cost when disabled).</summary>
internal static partial class ImapClientLog
{
    [LoggerMessage(EventId = 1, Level = LogLevel.Information, Message = "IMAP connected, greeting: {Greeting}")]
    public static partial void Connected(ILogger logger, ImapResponse greeting);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "IMAP connection ended: {Reason}")]
    public static partial void Ended(ILogger logger, string reason);

    [LoggerMessage(EventId = 3, Level = LogLevel.Debug, Message = "C: {Command}")]
    public static partial void Sent(ILogger logger, ImapCommand command);

    [LoggerMessage(EventId = 4, Level = LogLevel.Trace, Message = "S: {Response}")]
    public static partial void Received(ILogger logger, ImapResponse response);
}
