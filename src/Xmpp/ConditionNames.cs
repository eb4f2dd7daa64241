using System.Collections.Frozen;
using System.Text;

namespace Aggregators.Xmpp;

/// <summary>Maps condition enums to their element names (PascalCase &lt;-&gt; kebab-case: NotWellFormed = not-well-formed).</summary>
internal static class ConditionNames
{
    private static class Cache<T> where T : struct, Enum
    {
        public static readonly FrozenDictionary<T, string> ToWire =
            Enum.GetValues<T>().ToFrozenDictionary(v => v, v => Kebab(v.ToString()));

        public static readonly FrozenDictionary<string, T> FromWire =
            ToWire.ToFrozenDictionary(kv => kv.Value, kv => kv.Key, StringComparer.Ordinal);
    }

    public static string ToWire<T>(T value) where T : struct, Enum => Cache<T>.ToWire[value];

    public static bool TryFromWire<T>(string name, out T value) where T : struct, Enum =>
        Cache<T>.FromWire.TryGetValue(name, out value);

    private static string Kebab(string pascal)
    {
        var sb = new StringBuilder(pascal.Length + 4);
        for (var i = 0; i < pascal.Length; i++)
        {
            var c = pascal[i];
            if (char.IsUpper(c))
            {
                if (i > 0)
                {
                    sb.Append('-');
                }
                sb.Append(char.ToLowerInvariant(c));
            }
            else
            {
                sb.Append(c);
            }
        }
        return sb.ToString();
    }
}
