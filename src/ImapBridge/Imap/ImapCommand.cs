using System.Buffers;
using System.Globalization;
using System.Text;

namespace Aggregators.ImapBridge.Imap;

/// <summary>How the writer may send literals (RFC 3501 §7.5, RFC 7888).</summary>
public enum ImapLiteralMode
{
    /// <summary>"{n}" then wait for the server's "+" before the literal's bytes.</summary>
    Synchronizing,

    /// <summary>LITERAL+: "{n+}" and the bytes at once, any size.</summary>
    NonSynchronizing,

    /// <summary>LITERAL-: "{n+}" for literals up to 4096 bytes, synchronising above.</summary>
    NonSynchronizingUpTo4096,
}

/// <summary>
/// A command ready to send, split where the client must wait for a continuation request
/// ("+", RFC 3501 §7.5): every part after the first is sent only after one.
/// </summary>
public sealed class ImapCommand
{
    internal ImapCommand(string tag, string name, IReadOnlyList<ReadOnlyMemory<byte>> parts, bool sensitive)
    {
        Tag = tag;
        Name = name;
        Parts = parts;
        IsSensitive = sensitive;
    }

    public string Tag { get; }

    /// <summary>Command name (LOGIN, UID FETCH, ...), for errors and logs.</summary>
    public string Name { get; }

    public IReadOnlyList<ReadOnlyMemory<byte>> Parts { get; }

    /// <summary>True when the command carries a secret (LOGIN, AUTHENTICATE): never log its bytes.</summary>
    public bool IsSensitive { get; }

    /// <summary>The command as sent (secrets masked when <see cref="IsSensitive"/>), for diagnostics.</summary>
    public override string ToString() => IsSensitive
        ? $"{Tag} {Name} ***"
        : string.Concat(Parts.Select(p => Encoding.UTF8.GetString(p.Span))).TrimEnd('\r', '\n');
}

/// <summary>
/// Writes one command (RFC 3501 §9 "command"): arguments are separated by SP automatically, strings
/// become an atom, a quoted string or a literal as their content requires, mailbox names are
/// encoded in modified UTF-7 (§5.1.3).
/// </summary>
public sealed class ImapCommandBuilder
{
    private const int MaxQuotedLength = 1024;
    private readonly ImapLiteralMode _literals;
    private readonly List<ReadOnlyMemory<byte>> _parts = [];
    private readonly string _tag;
    private readonly string _name;
    private ArrayBufferWriter<byte> _current = new(64);
    private bool _needSpace;
    private bool _sensitive;

    public ImapCommandBuilder(string tag, string name, ImapLiteralMode literals = ImapLiteralMode.Synchronizing)
    {
        ArgumentException.ThrowIfNullOrEmpty(tag);
        ArgumentException.ThrowIfNullOrEmpty(name);
        foreach (var c in tag)
        {
            if (!IsAStringChar(c) || c == '+')
            {
                throw new ArgumentException($"'{c}' is not allowed in a tag", nameof(tag));
            }
        }
        _tag = tag;
        _name = name;
        _literals = literals;
        Ascii(tag);
        Ascii(" ");
        Ascii(name);
        _needSpace = true;
    }

    /// <summary>Marks the command as carrying a secret so that it is never logged.</summary>
    public ImapCommandBuilder Sensitive()
    {
        _sensitive = true;
        return this;
    }

    /// <summary>An atom, checked against ATOM-CHAR.</summary>
    public ImapCommandBuilder Atom(string atom)
    {
        ArgumentException.ThrowIfNullOrEmpty(atom);
        foreach (var c in atom)
        {
            if (!IsAtomChar(c))
            {
                throw new ArgumentException($"'{c}' is not allowed in an atom: \"{atom}\"", nameof(atom));
            }
        }
        Separate();
        Ascii(atom);
        return this;
    }

    /// <summary>Protocol syntax we build ourselves (e.g. "(MESSAGES UNSEEN)"); ASCII without CR/LF.</summary>
    public ImapCommandBuilder Raw(string syntax)
    {
        ArgumentNullException.ThrowIfNull(syntax);
        foreach (var c in syntax)
        {
            if (c is < ' ' or > '~')
            {
                throw new ArgumentException("raw command syntax must be printable ASCII", nameof(syntax));
            }
        }
        Separate();
        Ascii(syntax);
        return this;
    }

    public ImapCommandBuilder Number(ulong number) => Raw(number.ToString(CultureInfo.InvariantCulture));

    /// <summary>astring: an atom when possible, else quoted, else a literal.</summary>
    public ImapCommandBuilder AString(string value) => StringArgument(value, allowAtom: true);

    /// <summary>string: quoted when possible, else a literal (never an atom).</summary>
    public ImapCommandBuilder String(string value) => StringArgument(value, allowAtom: false);

    /// <summary>A mailbox name: INBOX in any case is sent as INBOX, others in modified UTF-7 (RFC 3501 §5.1).</summary>
    public ImapCommandBuilder Mailbox(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        return AString(string.Equals(name, "INBOX", StringComparison.OrdinalIgnoreCase) ? "INBOX" : ModifiedUtf7.Encode(name));
    }

    /// <summary>A LIST pattern (list-mailbox, RFC 3501 §9): like a mailbox, but "%" and "*" may stay in an atom.</summary>
    public ImapCommandBuilder ListMailbox(string pattern)
    {
        ArgumentNullException.ThrowIfNull(pattern);
        var encoded = ModifiedUtf7.Encode(pattern);
        if (encoded.Length > 0 && encoded.All(c => IsAStringChar(c) || c is '%' or '*'))
        {
            Separate();
            Ascii(encoded);
            return this;
        }
        return StringArgument(encoded, allowAtom: false);
    }

    /// <summary>"(" starts a parenthesised list; arguments inside are separated as usual.</summary>
    public ImapCommandBuilder BeginList()
    {
        Separate();
        Ascii("(");
        _needSpace = false;
        return this;
    }

    public ImapCommandBuilder EndList()
    {
        Ascii(")");
        _needSpace = true;
        return this;
    }

    /// <summary>Ends the command with CRLF.</summary>
    public ImapCommand Build()
    {
        Ascii("\r\n");
        _parts.Add(_current.WrittenMemory);
        return new ImapCommand(_tag, _name, _parts.ToArray(), _sensitive);
    }

    /// <summary>Ends the current line and starts a part that is sent after the next continuation request (SASL responses).</summary>
    public ImapCommandBuilder ContinuationLine(string line)
    {
        ArgumentNullException.ThrowIfNull(line);
        Ascii("\r\n");
        _parts.Add(_current.WrittenMemory);
        _current = new ArrayBufferWriter<byte>(line.Length + 2);
        _needSpace = false;
        Ascii(line);
        return this;
    }

    private ImapCommandBuilder StringArgument(string value, bool allowAtom)
    {
        ArgumentNullException.ThrowIfNull(value);
        Separate();
        if (allowAtom && value.Length > 0 && value.All(IsAStringChar)
            && !string.Equals(value, "NIL", StringComparison.OrdinalIgnoreCase))
        {
            Ascii(value);
            return this;
        }
        // quoted = DQUOTE *QUOTED-CHAR DQUOTE: 7-bit TEXT-CHARs, with "\" and DQUOTE escaped.
        if (value.Length <= MaxQuotedLength && value.All(c => c is >= '\x01' and <= '\x7F' and not '\r' and not '\n'))
        {
            var sb = new StringBuilder(value.Length + 2).Append('"');
            foreach (var c in value)
            {
                if (c is '"' or '\\')
                {
                    sb.Append('\\');
                }
                sb.Append(c);
            }
            Ascii(sb.Append('"').ToString());
            return this;
        }
        var bytes = Encoding.UTF8.GetBytes(value);
        if (Array.IndexOf(bytes, (byte)0) >= 0)
        {
            throw new ArgumentException("a NUL byte cannot be sent in a string (RFC 3501 CHAR8)", nameof(value));
        }
        var nonSync = _literals == ImapLiteralMode.NonSynchronizing
            || (_literals == ImapLiteralMode.NonSynchronizingUpTo4096 && bytes.Length <= 4096);
        Ascii(string.Create(CultureInfo.InvariantCulture, $"{{{bytes.Length}{(nonSync ? "+" : "")}}}\r\n"));
        if (!nonSync)
        {
            // The literal's bytes go after the server's "+".
            _parts.Add(_current.WrittenMemory);
            _current = new ArrayBufferWriter<byte>(bytes.Length + 64);
        }
        _current.Write(bytes);
        return this;
    }

    private void Separate()
    {
        if (_needSpace)
        {
            Ascii(" ");
        }
        _needSpace = true;
    }

    private void Ascii(string s)
    {
        var span = _current.GetSpan(s.Length);
        for (var i = 0; i < s.Length; i++)
        {
            span[i] = (byte)s[i];
        }
        _current.Advance(s.Length);
    }

    /// <summary>ATOM-CHAR: CHAR except atom-specials "(" ")" "{" SP CTL "%" "*" DQUOTE "\" "]" (RFC 3501 §9).</summary>
    internal static bool IsAtomChar(char c) =>
        c is > ' ' and < '\x7F' and not ('(' or ')' or '{' or '%' or '*' or '"' or '\\' or ']');

    /// <summary>ASTRING-CHAR = ATOM-CHAR / "]".</summary>
    internal static bool IsAStringChar(char c) => c == ']' || IsAtomChar(c);
}
