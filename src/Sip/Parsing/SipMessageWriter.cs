using System.Buffers;
using System.Globalization;
using System.Text;

namespace Aggregators.Sip.Parsing;

/// <summary>
/// Writes canonical messages: full header names, CRLF line ends, one field per header line as
/// stored, and a Content-Length that is always the body's length (§7.3, §20.14).
/// </summary>
public static class SipMessageWriter
{
    public static byte[] ToBytes(SipMessage message)
    {
        var buffer = new ArrayBufferWriter<byte>(512 + message.Body.Length);
        Write(message, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    public static void Write(SipMessage message, IBufferWriter<byte> output)
    {
        switch (message)
        {
            case SipRequest req:
                WriteAscii(output, req.Method);
                WriteRaw(output, " "u8);
                WriteUtf8(output, req.RequestUri.ToString());
                WriteRaw(output, " "u8);
                WriteAscii(output, req.Version);
                break;
            case SipResponse res:
                WriteAscii(output, res.Version);
                WriteRaw(output, " "u8);
                WriteAscii(output, res.StatusCode.ToString(CultureInfo.InvariantCulture));
                WriteRaw(output, " "u8);
                WriteUtf8(output, res.ReasonPhrase);
                break;
        }
        WriteRaw(output, "\r\n"u8);
        foreach (var h in message.Headers)
        {
            if (ReferenceEquals(h.Name, SipHeaderNames.ContentLength)) continue;
            WriteAscii(output, h.Name);
            WriteRaw(output, ": "u8);
            WriteRaw(output, h.RawValue.Span);
            WriteRaw(output, "\r\n"u8);
        }
        WriteRaw(output, "Content-Length: "u8);
        WriteAscii(output, message.Body.Length.ToString(CultureInfo.InvariantCulture));
        WriteRaw(output, "\r\n\r\n"u8);
        WriteRaw(output, message.Body.Span);
    }

    private static void WriteRaw(IBufferWriter<byte> output, ReadOnlySpan<byte> bytes) => output.Write(bytes);

    private static void WriteAscii(IBufferWriter<byte> output, string s)
    {
        var span = output.GetSpan(s.Length);
        var n = Encoding.ASCII.GetBytes(s, span);
        output.Advance(n);
    }

    private static void WriteUtf8(IBufferWriter<byte> output, string s)
    {
        var span = output.GetSpan(Encoding.UTF8.GetMaxByteCount(s.Length));
        var n = Encoding.UTF8.GetBytes(s, span);
        output.Advance(n);
    }
}
