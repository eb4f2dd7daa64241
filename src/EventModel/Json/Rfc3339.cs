namespace Aggregators.EventModel.Json;

/// <summary>RFC 3339 §5.6 date-time, the syntax of RFC 5423's "timestamp".</summary>
internal static class Rfc3339
{
    /// <summary>
    /// date-time = full-date "T" full-time; full-time = HH ":" MM ":" SS ["." 1*DIGIT] ("Z" / ("+" / "-") HH ":" MM).
    /// "T" and "Z" may be lower case (§5.6 note), and a space may stand for "T" (§5.6 note).
    /// Fractions beyond 100 ns are truncated. Leap seconds cannot be represented and are refused.
    /// </summary>
    public static bool TryParse(ReadOnlySpan<byte> s, out DateTimeOffset value, out string? error)
    {
        value = default;
        error = "is not an RFC 3339 date-time such as 2026-03-01T12:34:56Z";
        if (s.Length < 20 ||
            !Digits(s, 0, 4, out var year) || s[4] != '-' || !Digits(s, 5, 2, out var month) || s[7] != '-' ||
            !Digits(s, 8, 2, out var day) || s[10] is not ((byte)'T' or (byte)'t' or (byte)' ') ||
            !Digits(s, 11, 2, out var hour) || s[13] != ':' || !Digits(s, 14, 2, out var minute) || s[16] != ':' ||
            !Digits(s, 17, 2, out var second))
        {
            return false;
        }
        var i = 19;
        long fractionTicks = 0;
        if (s[i] == '.')
        {
            i++;
            var start = i;
            long scale = TimeSpan.TicksPerSecond;
            while (i < s.Length && (uint)(s[i] - '0') <= 9)
            {
                if (scale > 1)
                {
                    scale /= 10;
                    fractionTicks += (s[i] - '0') * scale;
                }
                i++;
            }
            if (i == start)
            {
                return false;
            }
        }
        if (i >= s.Length)
        {
            return false;
        }
        TimeSpan offset;
        if (s[i] is (byte)'Z' or (byte)'z')
        {
            offset = TimeSpan.Zero;
            i++;
        }
        else if (s[i] is (byte)'+' or (byte)'-')
        {
            if (i + 6 != s.Length || !Digits(s, i + 1, 2, out var oh) || s[i + 3] != ':' || !Digits(s, i + 4, 2, out var om) || om > 59)
            {
                return false;
            }
            if (oh > 14 || (oh == 14 && om > 0))
            {
                error = "has a UTC offset beyond ±14:00";
                return false;
            }
            offset = new TimeSpan(oh, om, 0);
            if (s[i] == '-')
            {
                offset = -offset;
            }
            i += 6;
        }
        else
        {
            return false;
        }
        if (i != s.Length)
        {
            return false;
        }
        if (second == 60)
        {
            error = "is a leap second (:60), which this server cannot represent";
            return false;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
        {
            error = "is not a real calendar date and time";
            return false;
        }
        try
        {
            value = new DateTimeOffset(year, month, day, hour, minute, second, offset).AddTicks(fractionTicks);
        }
        catch (ArgumentOutOfRangeException)
        {
            error = "is outside the representable range of dates";
            return false;
        }
        error = null;
        return true;
    }

    private static bool Digits(ReadOnlySpan<byte> s, int start, int count, out int value)
    {
        value = 0;
        for (var k = start; k < start + count; k++)
        {
            var d = (uint)(s[k] - '0');
            if (d > 9)
            {
                return false;
            }
            value = value * 10 + (int)d;
        }
        return true;
    }
}
