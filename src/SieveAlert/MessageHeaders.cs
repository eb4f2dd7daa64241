using System.Text;
using System.Text.RegularExpressions;

namespace Aggregators.SieveAlert;

/// <summary>
/// The few header fields of the piped message the alert uses (RFC 5322 §2.2: unfolded; RFC 2047
/// encoded-words decoded for display). Reads at most <see cref="MaxHeaderBytes"/> of the header.
/// </summary>
internal sealed partial class MessageHeaders
{
    public const int MaxHeaderBytes = 256 * 1024;

    public string? From { get; private set; }

    public string? Subject { get; private set; }

    public string? MessageId { get; private set; }

    /// <summary>Parses the header section of <paramref name="message"/> (the bytes before the first empty line).</summary>
    public static MessageHeaders Parse(ReadOnlySpan<byte> message)
    {
        var headers = new MessageHeaders();
        var head = message[..Math.Min(message.Length, MaxHeaderBytes)];
        string text;
        try
        {
            text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(head); // RFC 6532 headers
        }
        catch (DecoderFallbackException)
        {
            text = Encoding.Latin1.GetString(head);
        }
        string? name = null;
        var value = new StringBuilder();
        foreach (var rawLine in text.Split('\n'))
        {
            var line = rawLine.TrimEnd('\r');
            if (line.Length == 0)
            {
                break; // end of the header section
            }
            if (line[0] is ' ' or '\t')
            {
                value.Append(' ').Append(line.TrimStart());
                continue;
            }
            headers.Take(name, value.ToString());
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                name = null;
                value.Clear();
                continue;
            }
            name = line[..colon].Trim();
            value.Clear().Append(line[(colon + 1)..].Trim());
        }
        headers.Take(name, value.ToString());
        return headers;
    }

    private void Take(string? name, string value)
    {
        if (name is null)
        {
            return;
        }
        if (name.Equals("From", StringComparison.OrdinalIgnoreCase) && From is null)
        {
            From = Clean(DecodeWords(value));
        }
        else if (name.Equals("Subject", StringComparison.OrdinalIgnoreCase) && Subject is null)
        {
            Subject = Clean(DecodeWords(value));
        }
        else if (name.Equals("Message-ID", StringComparison.OrdinalIgnoreCase) && MessageId is null)
        {
            var v = value.Trim();
            MessageId = v.Length is > 2 and < 500 && v[0] == '<' && v[^1] == '>' && !v.Any(char.IsWhiteSpace) ? v : null;
        }
    }

    /// <summary>Control characters out, at most 500 characters (the PNA refuses longer).</summary>
    private static string? Clean(string value)
    {
        var sb = new StringBuilder(value.Length);
        foreach (var c in value)
        {
            sb.Append(char.IsControl(c) ? ' ' : c);
        }
        var s = sb.ToString().Trim();
        if (s.Length > 500)
        {
            s = s[..499] + "…";
            if (char.IsHighSurrogate(s[^2]))
            {
                s = s[..^2] + "…";
            }
        }
        return s.Length == 0 ? null : s;
    }

    /// <summary>RFC 2047 §2: =?charset?B|Q?text?=; unknown charsets and bad encodings stay as they are.</summary>
    internal static string DecodeWords(string value)
    {
        var decoded = EncodedWord().Replace(value, m =>
        {
            try
            {
                var encoding = Encoding.GetEncoding(m.Groups[1].Value);
                var payload = m.Groups[3].Value;
                byte[] bytes;
                if (m.Groups[2].Value is "B" or "b")
                {
                    bytes = Convert.FromBase64String(payload);
                }
                else
                {
                    var list = new List<byte>(payload.Length);
                    for (var i = 0; i < payload.Length; i++)
                    {
                        var c = payload[i];
                        if (c == '_')
                        {
                            list.Add(0x20);
                        }
                        else if (c == '=' && i + 2 < payload.Length)
                        {
                            list.Add(Convert.ToByte(payload.Substring(i + 1, 2), 16));
                            i += 2;
                        }
                        else
                        {
                            list.Add((byte)c);
                        }
                    }
                    bytes = [.. list];
                }
                return encoding.GetString(bytes);
            }
            catch (Exception e) when (e is ArgumentException or FormatException)
            {
                return m.Value;
            }
        });
        // RFC 2047 §6.2: whitespace between adjacent encoded-words is not displayed; the regex
        // replacement leaves it, which is harmless for an alert.
        return decoded;
    }

    [GeneratedRegex(@"=\?([A-Za-z0-9_\-]+)(?:\*[A-Za-z\-]+)?\?([BbQq])\?([^?\s]*)\?=")]
    private static partial Regex EncodedWord();
}
