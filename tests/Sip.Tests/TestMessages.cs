using System.Text;
using System.Text.RegularExpressions;

namespace Aggregators.Sip.Tests;

/// <summary>
/// Loads test messages written in the RFC 4475 §2 conventions: each LF is a CRLF on the wire and
/// &lt;hex&gt;XX&lt;/hex&gt; is one raw byte.
/// </summary>
internal static partial class TestMessages
{
    public static byte[] Load(string relativePath)
    {
        var path = Path.Combine(AppContext.BaseDirectory, "TestData", relativePath);
        // A checkout that turned LF into CRLF must not double the CRs; raw CRs are written as <hex>0D</hex>.
        var text = File.ReadAllText(path, Encoding.ASCII).Replace("\r\n", "\n", StringComparison.Ordinal).Replace("\n", "\r\n", StringComparison.Ordinal);
        return Expand(text);
    }

    public static byte[] Rfc4475(string name) => Load(Path.Combine("rfc4475", name + ".txt"));

    public static byte[] Expand(string text)
    {
        var bytes = new List<byte>(text.Length);
        var last = 0;
        foreach (Match m in Hex().Matches(text))
        {
            bytes.AddRange(Encoding.ASCII.GetBytes(text[last..m.Index]));
            bytes.Add(Convert.ToByte(m.Groups[1].Value, 16));
            last = m.Index + m.Length;
        }
        bytes.AddRange(Encoding.ASCII.GetBytes(text[last..]));
        return [.. bytes];
    }

    /// <summary>A message written with LF line ends in C# source, sent with CRLF.</summary>
    public static byte[] Crlf(string text) => Encoding.UTF8.GetBytes(text.ReplaceLineEndings("\r\n"));

    [GeneratedRegex("<hex>([0-9A-F]{2})</hex>")]
    private static partial Regex Hex();
}
