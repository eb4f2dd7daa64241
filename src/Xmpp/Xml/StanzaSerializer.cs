using System.Buffers;
using System.Text;
using System.Xml.Linq;

namespace Aggregators.Xmpp.Xml;

/// <summary>
/// Writes an <see cref="XElement"/> as UTF-8 XML for an XMPP stream. Elements are written
/// unprefixed with a default-namespace declaration wherever their namespace differs from the
/// parent's (the stream's content namespace for a stanza, so stanzas carry no xmlns, as
/// servers send them); namespaced attributes other than xml:* get generated prefixes.
/// Text is escaped (&amp; &lt; &gt;, and CR as a character reference so it survives
/// line-end normalisation); attribute values also escape quotes, TAB and LF.
/// Characters XML 1.0 cannot carry (controls, unpaired surrogates, U+FFFE/U+FFFF) and
/// comments/processing instructions (restricted, RFC 6120 §11.1) throw <see cref="ArgumentException"/>.
/// </summary>
public static class StanzaSerializer
{
    /// <summary>Serialises <paramref name="element"/> in a stream whose default namespace is <paramref name="streamNamespace"/>.</summary>
    public static void Write(XElement element, string streamNamespace, IBufferWriter<byte> output)
    {
        ArgumentNullException.ThrowIfNull(element);
        ArgumentNullException.ThrowIfNull(output);
        WriteElement(element, streamNamespace, output);
    }

    /// <summary>Serialises to a new array.</summary>
    public static byte[] ToBytes(XElement element, string streamNamespace)
    {
        var buffer = new ArrayBufferWriter<byte>(512);
        Write(element, streamNamespace, buffer);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>Serialises to a string (tests, logs).</summary>
    public static string ToXml(XElement element, string streamNamespace) =>
        Encoding.UTF8.GetString(ToBytes(element, streamNamespace));

    private static void WriteElement(XElement e, string defaultNamespace, IBufferWriter<byte> o)
    {
        var ns = e.Name.NamespaceName;
        // RFC 6120 §4.8.5: stream-level elements use the 'stream' prefix the header declared.
        var streamLevel = ns == XmppNamespaces.Streams;
        var name = streamLevel ? "stream:" + e.Name.LocalName : e.Name.LocalName;
        if (streamLevel)
        {
            ns = defaultNamespace;
        }
        Raw(o, "<");
        Raw(o, name);
        if (ns != defaultNamespace)
        {
            Raw(o, " xmlns='");
            Escape(o, ns, attribute: true);
            Raw(o, "'");
        }
        var prefix = 0;
        foreach (var a in e.Attributes())
        {
            if (a.IsNamespaceDeclaration)
            {
                continue;
            }
            var ans = a.Name.NamespaceName;
            Raw(o, " ");
            if (ans.Length == 0)
            {
                Raw(o, a.Name.LocalName);
            }
            else if (ans == XmppNamespaces.Xml)
            {
                Raw(o, "xml:");
                Raw(o, a.Name.LocalName);
            }
            else
            {
                var p = "a" + prefix++.ToString(System.Globalization.CultureInfo.InvariantCulture);
                Raw(o, "xmlns:");
                Raw(o, p);
                Raw(o, "='");
                Escape(o, ans, attribute: true);
                Raw(o, "' ");
                Raw(o, p);
                Raw(o, ":");
                Raw(o, a.Name.LocalName);
            }
            Raw(o, "='");
            Escape(o, a.Value, attribute: true);
            Raw(o, "'");
        }
        if (e.IsEmpty || !e.Nodes().Any())
        {
            Raw(o, "/>");
            return;
        }
        Raw(o, ">");
        foreach (var node in e.Nodes())
        {
            switch (node)
            {
                case XElement child:
                    WriteElement(child, ns, o);
                    break;
                case XText text: // XCData included: written as escaped text
                    Escape(o, text.Value, attribute: false);
                    break;
                default:
                    throw new ArgumentException($"{node.NodeType} cannot be sent in an XMPP stream (RFC 6120 §11.1)", nameof(e));
            }
        }
        Raw(o, "</");
        Raw(o, name);
        Raw(o, ">");
    }

    /// <summary>Escapes an attribute value written between single quotes.</summary>
    public static string EscapeAttribute(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var buffer = new ArrayBufferWriter<byte>(value.Length + 16);
        Escape(buffer, value, attribute: true);
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    /// <summary>
    /// Writes <paramref name="value"/> escaped for an attribute value between single quotes (for
    /// callers that build stanzas as bytes); throws <see cref="ArgumentException"/> for characters
    /// XML 1.0 cannot carry.
    /// </summary>
    public static void WriteAttributeValue(IBufferWriter<byte> output, ReadOnlySpan<char> value)
    {
        ArgumentNullException.ThrowIfNull(output);
        Escape(output, value, attribute: true);
    }

    /// <summary>Writes <paramref name="value"/> escaped as character data (see <see cref="WriteAttributeValue"/>).</summary>
    public static void WriteText(IBufferWriter<byte> output, ReadOnlySpan<char> value)
    {
        ArgumentNullException.ThrowIfNull(output);
        Escape(output, value, attribute: false);
    }

    private static void Raw(IBufferWriter<byte> o, string ascii)
    {
        var span = o.GetSpan(Encoding.UTF8.GetMaxByteCount(ascii.Length));
        o.Advance(Encoding.UTF8.GetBytes(ascii, span));
    }

    private static void Escape(IBufferWriter<byte> o, ReadOnlySpan<char> s, bool attribute)
    {
        var start = 0;
        for (var i = 0; i < s.Length; i++)
        {
            var c = s[i];
            string? replacement;
            switch (c)
            {
                case '&': replacement = "&amp;"; break;
                case '<': replacement = "&lt;"; break;
                case '>': replacement = "&gt;"; break;
                case '\r': replacement = "&#xD;"; break;
                case '\'' when attribute: replacement = "&apos;"; break;
                case '"' when attribute: replacement = "&quot;"; break;
                case '\n' when attribute: replacement = "&#xA;"; break;
                case '\t' when attribute: replacement = "&#x9;"; break;
                default:
                    if (c >= 0x20 && c < 0xD800 || c is '\n' or '\t' || c >= 0xE000 && c <= 0xFFFD)
                    {
                        continue;
                    }
                    if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
                    {
                        i++;
                        continue;
                    }
                    throw new ArgumentException($"character U+{(int)c:X4} cannot be carried by XML 1.0", nameof(s));
            }
            Chars(o, s.Slice(start, i - start));
            Raw(o, replacement);
            start = i + 1;
        }
        Chars(o, s[start..]);
    }

    private static void Chars(IBufferWriter<byte> o, ReadOnlySpan<char> chars)
    {
        if (chars.IsEmpty)
        {
            return;
        }
        var span = o.GetSpan(Encoding.UTF8.GetMaxByteCount(chars.Length));
        o.Advance(Encoding.UTF8.GetBytes(chars, span));
    }
}
