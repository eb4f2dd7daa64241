namespace Aggregators.EventModel;

/// <summary>
/// A mail account as the notification side names it: the IMAP login name, usually
/// <c>local@domain</c>. The domain part is lower-cased (DNS names are case-insensitive);
/// the local part is kept as given (RFC 5321 §2.4).
/// </summary>
public readonly record struct AccountId
{
    public const int MaxLength = 255;

    public string Value { get; }

    private AccountId(string value) => Value = value;

    public static AccountId Parse(string value) =>
        TryParse(value, out var id, out var error) ? id : throw new FormatException(error);

    public static bool TryParse(string? value, out AccountId id, out string? error)
    {
        id = default;
        if (string.IsNullOrEmpty(value))
        {
            error = "account is empty";
            return false;
        }
        if (value.Length > MaxLength)
        {
            error = $"account is longer than {MaxLength} characters";
            return false;
        }
        foreach (var c in value)
        {
            if (char.IsControl(c) || char.IsWhiteSpace(c) || c == '/')
            {
                error = $"account contains a forbidden character (U+{(int)c:X4}): whitespace, control characters and '/' are not allowed";
                return false;
            }
        }
        var at = value.LastIndexOf('@');
        if (at == 0 || at == value.Length - 1)
        {
            error = "account has an empty local part or domain around '@'";
            return false;
        }
        if (at > 0)
        {
            var domain = value.AsSpan(at + 1);
            var hasUpper = false;
            foreach (var c in domain)
            {
                hasUpper |= char.IsUpper(c);
            }
            if (hasUpper)
            {
                value = string.Concat(value.AsSpan(0, at + 1), value[(at + 1)..].ToLowerInvariant());
            }
        }
        id = new AccountId(value);
        error = null;
        return true;
    }

    /// <summary>The part before the last '@', or the whole value when there is none.</summary>
    public string LocalPart => Value.LastIndexOf('@') is var at and >= 0 ? Value[..at] : Value;

    /// <summary>The part after the last '@', or null when there is none.</summary>
    public string? Domain => Value.LastIndexOf('@') is var at and >= 0 ? Value[(at + 1)..] : null;

    public bool IsDefault => Value is null;

    public override string ToString() => Value ?? "";
}
