using System.Buffers;
using System.IO.Pipelines;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Reads responses one at a time from a <see cref="PipeReader"/>: frames them incrementally
/// (<see cref="ImapResponseFramer"/>) as bytes arrive in pieces, then parses each complete one
/// (<see cref="ImapResponseParser"/>). Holds no buffer of its own between responses.
/// </summary>
public sealed class ImapResponseReader
{
    private readonly PipeReader _reader;
    private readonly ImapLimits _limits;

    public ImapResponseReader(PipeReader reader, ImapLimits? limits = null)
    {
        _reader = reader ?? throw new ArgumentNullException(nameof(reader));
        _limits = limits ?? ImapLimits.Default;
    }

    /// <summary>The next response, or null when the peer closed the stream cleanly between responses.</summary>
    /// <exception cref="ImapProtocolException">a syntax or limit violation, or the stream ended mid-response.</exception>
    public async ValueTask<ImapResponse?> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await _reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            ImapResponse? response = null;
            SequencePosition consumed = buffer.Start;
            try
            {
                if (ImapResponseFramer.TryFindEnd(buffer, _limits, out var end))
                {
                    response = ImapResponseParser.Parse(buffer.Slice(0, end), _limits);
                    consumed = end;
                    return response;
                }
                if (result.IsCanceled)
                {
                    throw new OperationCanceledException("the response read was cancelled");
                }
                if (result.IsCompleted)
                {
                    if (buffer.Length == 0)
                    {
                        return null;
                    }
                    throw new ImapProtocolException(
                        $"connection closed in the middle of a response ({buffer.Length} bytes received without their end)");
                }
            }
            finally
            {
                _reader.AdvanceTo(consumed, response is null ? buffer.End : consumed);
            }
        }
    }
}
