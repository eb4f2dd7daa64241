using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>
/// Modified UTF-7 mailbox names (RFC 3501 §5.1.3): printable US-ASCII except "&amp;" stands for
/// itself, "&amp;" is "&amp;-", anything else is UTF-16 in modified BASE64 ("," for "/", no
/// padding) between "&amp;" and "-".
/// </summary>
public static class ModifiedUtf7
{
    private const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

    /// <summary>Encodes a mailbox name; throws <see cref="ArgumentException"/> on an unpaired surrogate.</summary>
    public static string Encode(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var plain = true;
        foreach (var c in name)
        {
            if (c is < ' ' or > '~' or '&')
            {
                plain = false;
                break;
            }
        }
        if (plain)
        {
            return name;
        }
        var sb = new StringBuilder(name.Length + 8);
        var i = 0;
        while (i < name.Length)
        {
            var c = name[i];
            if (c == '&')
            {
                sb.Append("&-");
                i++;
            }
            else if (c is >= ' ' and <= '~')
            {
                sb.Append(c);
                i++;
            }
            else
            {
                var start = i;
                while (i < name.Length && name[i] is < ' ' or > '~')
                {
                    if (char.IsHighSurrogate(name[i]))
                    {
                        if (i + 1 >= name.Length || !char.IsLowSurrogate(name[i + 1]))
                        {
                            throw new ArgumentException($"mailbox name has an unpaired surrogate at index {i}", nameof(name));
                        }
                        i += 2;
                    }
                    else if (char.IsLowSurrogate(name[i]))
                    {
                        throw new ArgumentException($"mailbox name has an unpaired surrogate at index {i}", nameof(name));
                    }
                    else
                    {
                        i++;
                    }
                }
                sb.Append('&');
                AppendBase64(sb, name.AsSpan(start, i - start));
                sb.Append('-');
            }
        }
        return sb.ToString();
    }

    private static void AppendBase64(StringBuilder sb, ReadOnlySpan<char> chars)
    {
        int bits = 0, buffer = 0;
        foreach (var c in chars)
        {
            // UTF-16 big-endian, 16 bits per code unit.
            buffer = (buffer << 16) | c;
            bits += 16;
            while (bits >= 6)
            {
                bits -= 6;
                sb.Append(Alphabet[(buffer >> bits) & 0x3F]);
            }
            buffer &= (1 << bits) - 1;
        }
        if (bits > 0)
        {
            sb.Append(Alphabet[(buffer << (6 - bits)) & 0x3F]);
        }
    }

    /// <summary>Decodes a mailbox name, strictly.</summary>
    /// <exception cref="FormatException">the name is not valid modified UTF-7; the message says where and why.</exception>
    public static string Decode(string encoded)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        if (!TryDecode(encoded, out var decoded, out var error))
        {
            throw new FormatException(error);
        }
        return decoded;
    }

    /// <summary>Decodes a mailbox name; false with a precise <paramref name="error"/> when it is invalid.</summary>
    public static bool TryDecode(string encoded, out string decoded, out string? error)
    {
        ArgumentNullException.ThrowIfNull(encoded);
        decoded = encoded;
        error = null;
        if (encoded.AsSpan().IndexOfAnyExceptInRange(' ', '~') < 0 && !encoded.Contains('&', StringComparison.Ordinal))
        {
            return true;
        }
        var sb = new StringBuilder(encoded.Length);
        var i = 0;
        while (i < encoded.Length)
        {
            var c = encoded[i];
            if (c is < ' ' or > '~')
            {
                error = $"invalid modified UTF-7 \"{encoded}\": character U+{(int)c:X4} at index {i} must be encoded";
                return false;
            }
            if (c != '&')
            {
                sb.Append(c);
                i++;
                continue;
            }
            var start = i;
            i++;
            if (i < encoded.Length && encoded[i] == '-')
            {
                sb.Append('&');
                i++;
                continue;
            }
            int bits = 0, buffer = 0;
            var units = 0;
            char? pendingHigh = null;
            while (true)
            {
                if (i >= encoded.Length)
                {
                    error = $"invalid modified UTF-7 \"{encoded}\": shifted sequence at index {start} is not closed by '-'";
                    return false;
                }
                var b = encoded[i];
                if (b == '-')
                {
                    i++;
                    break;
                }
                var v = Alphabet.IndexOf(b, StringComparison.Ordinal);
                if (v < 0)
                {
                    error = $"invalid modified UTF-7 \"{encoded}\": '{b}' at index {i} is not a modified BASE64 character";
                    return false;
                }
                buffer = (buffer << 6) | v;
                bits += 6;
                i++;
                if (bits >= 16)
                {
                    bits -= 16;
                    var unit = (char)((buffer >> bits) & 0xFFFF);
                    buffer &= (1 << bits) - 1;
                    units++;
                    if (unit is >= ' ' and <= '~')
                    {
                        error = $"invalid modified UTF-7 \"{encoded}\": printable US-ASCII '{unit}' encoded in the sequence at index {start}";
                        return false;
                    }
                    if (pendingHigh is { } high)
                    {
                        if (!char.IsLowSurrogate(unit))
                        {
                            error = $"invalid modified UTF-7 \"{encoded}\": unpaired high surrogate in the sequence at index {start}";
                            return false;
                        }
                        sb.Append(high).Append(unit);
                        pendingHigh = null;
                    }
                    else if (char.IsHighSurrogate(unit))
                    {
                        pendingHigh = unit;
                    }
                    else if (char.IsLowSurrogate(unit))
                    {
                        error = $"invalid modified UTF-7 \"{encoded}\": unpaired low surrogate in the sequence at index {start}";
                        return false;
                    }
                    else
                    {
                        sb.Append(unit);
                    }
                }
            }
            if (units == 0)
            {
                error = $"invalid modified UTF-7 \"{encoded}\": empty or incomplete shifted sequence at index {start}";
                return false;
            }
            // Leftover bits are padding: fewer than 6 and all zero (RFC 2152 via RFC 3501 §5.1.3).
            if (bits >= 6 || buffer != 0)
            {
                error = $"invalid modified UTF-7 \"{encoded}\": shifted sequence at index {start} has leftover bits";
                return false;
            }
            if (pendingHigh is not null)
            {
                error = $"invalid modified UTF-7 \"{encoded}\": unpaired high surrogate at the end of the sequence at index {start}";
                return false;
            }
        }
        decoded = sb.ToString();
        return true;
    }
}
