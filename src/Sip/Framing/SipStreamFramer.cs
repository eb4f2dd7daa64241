using System.Buffers;
using System.IO.Pipelines;
using Aggregators.Sip.Parsing;

namespace Aggregators.Sip.Framing;

/// <summary>Reads SIP frames from a <see cref="PipeReader"/> (one TCP or TLS connection).</summary>
public sealed class SipStreamFramer(PipeReader reader, SipParserLimits? limits = null)
{
    private readonly SipStreamDecoder _decoder = new(limits);

    /// <summary>
    /// Returns the next frame. Throws <see cref="SipParseException"/> for garbage, oversize input or a
    /// stream that ends inside a message; the caller closes that connection.
    /// </summary>
    public async ValueTask<SipFrame> ReadAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            var buffer = result.Buffer;
            bool decoded;
            SipFrame frame;
            try
            {
                decoded = _decoder.TryDecode(ref buffer, out frame);
            }
            catch (SipParseException)
            {
                reader.AdvanceTo(result.Buffer.End);
                throw;
            }
            if (decoded)
            {
                reader.AdvanceTo(buffer.Start);
                return frame;
            }
            reader.AdvanceTo(buffer.Start, buffer.End);
            if (result.IsCompleted)
            {
                if (buffer.IsEmpty && !_decoder.InMessage) return new SipFrame(SipFrameKind.EndOfStream);
                throw new SipParseException("stream ended inside a message");
            }
            if (result.IsCanceled) throw new OperationCanceledException(cancellationToken);
        }
    }
}
