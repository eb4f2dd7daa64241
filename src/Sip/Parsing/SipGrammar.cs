namespace Aggregators.Sip.Parsing;

/// <summary>Character classes of the RFC 3261 §25.1 ABNF, as byte lookup tables.</summary>
internal static class SipGrammar
{
    private static readonly bool[] Token = Build("-.!%*_+`'~", alnum: true);
    private static readonly bool[] Unreserved = Build("-_.!~*'()", alnum: true);
    // user-unreserved (§25.1): & = + $ , ; ? /
    private static readonly bool[] User = Build("-_.!~*'()&=+$,;?/", alnum: true);
    private static readonly bool[] Password = Build("-_.!~*'()&=+$,", alnum: true);
    // paramchar = param-unreserved / unreserved; param-unreserved = [ ] / : & + $
    private static readonly bool[] UriParam = Build("-_.!~*'()[]/:&+$", alnum: true);
    // hnv-unreserved = [ ] / ? : + $
    private static readonly bool[] UriHeader = Build("-_.!~*'()[]/?:+$", alnum: true);
    private static readonly bool[] HostChar = Build("-.", alnum: true);

    private static bool[] Build(string extra, bool alnum)
    {
        var t = new bool[256];
        if (alnum)
        {
            for (var c = '0'; c <= '9'; c++) t[c] = true;
            for (var c = 'a'; c <= 'z'; c++) t[c] = true;
            for (var c = 'A'; c <= 'Z'; c++) t[c] = true;
        }
        foreach (var c in extra) t[c] = true;
        return t;
    }

    public static bool IsToken(byte b) => Token[b];
    public static bool IsUnreserved(byte b) => Unreserved[b];
    public static bool IsUserChar(byte b) => User[b];
    public static bool IsPasswordChar(byte b) => Password[b];
    public static bool IsUriParamChar(byte b) => UriParam[b];
    public static bool IsUriHeaderChar(byte b) => UriHeader[b];
    public static bool IsHostChar(byte b) => HostChar[b];
    public static bool IsWhitespace(byte b) => b is (byte)' ' or (byte)'\t';
    public static bool IsDigit(byte b) => b is >= (byte)'0' and <= (byte)'9';
    public static bool IsAlpha(byte b) => (uint)((b | 0x20) - 'a') <= 'z' - 'a';

    public static bool IsToken(ReadOnlySpan<byte> s)
    {
        if (s.IsEmpty) return false;
        foreach (var b in s) if (!Token[b]) return false;
        return true;
    }

    public static bool IsToken(string s)
    {
        if (s.Length == 0) return false;
        foreach (var c in s) if (c > 127 || !Token[c]) return false;
        return true;
    }

    /// <summary>gen-value = token / host / quoted-string (§25.1): true when it can be written unquoted.</summary>
    public static bool IsTokenOrHost(string s)
    {
        if (IsToken(s)) return true;
        if (s.Contains(':', StringComparison.Ordinal))
            return System.Net.IPAddress.TryParse(s, out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && !s.Contains('%', StringComparison.Ordinal);
        if (s.Length > 2 && s[0] == '[' && s[^1] == ']')
            return System.Net.IPAddress.TryParse(s.AsSpan(1, s.Length - 2), out var a) && a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        return false;
    }
}
