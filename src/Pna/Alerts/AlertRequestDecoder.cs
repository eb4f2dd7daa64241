using System.Text.Json;
using Aggregators.EventModel;

namespace Aggregators.Pna.Alerts;

/// <summary>
/// Decodes an alert request body with <see cref="Utf8JsonReader"/>, so every error names its
/// field. Strict: unknown or repeated fields, wrong types, control characters and oversize
/// values are refused; nothing in the body can make it throw.
/// </summary>
public static class AlertRequestDecoder
{
    public const int MaxShortField = 512;
    public const int MaxClientId = 128;
    public const int MaxImapUrl = 2048;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 4, CommentHandling = JsonCommentHandling.Disallow };

    public static AlertRequest? Decode(ReadOnlySpan<byte> body, int maxTargets, int maxTextLength, List<AlertFieldError> errors)
    {
        ArgumentNullException.ThrowIfNull(errors);
        var request = new AlertRequest();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            errors.Add(new(null, "the body is empty; expected a JSON object"));
            return null;
        }
        try
        {
            var reader = new Utf8JsonReader(body, ReaderOptions);
            if (!reader.Read())
            {
                errors.Add(new(null, "the body is empty; expected a JSON object"));
                return null;
            }
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                errors.Add(new(null, $"the body must be a JSON object, not {Describe(reader.TokenType)}"));
                return null;
            }
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                string name;
                try
                {
                    name = reader.GetString()!;
                }
                catch (InvalidOperationException)
                {
                    errors.Add(new(null, "a field name is not valid Unicode"));
                    return null;
                }
                reader.Read();
                if (!seen.Add(name))
                {
                    errors.Add(new(Truncate(name), $"'{Truncate(name)}' appears more than once"));
                    reader.TrySkip();
                    continue;
                }
                switch (name)
                {
                    case "targets":
                        ReadTargets(ref reader, request, maxTargets, errors);
                        break;
                    case "text":
                        if (ReadString(ref reader, name, maxTextLength, allowNewlines: true, errors) is { } text)
                        {
                            if (string.IsNullOrWhiteSpace(text))
                            {
                                errors.Add(new(name, "'text' must not be blank"));
                            }
                            request.Text = text;
                        }
                        break;
                    case "importance":
                        if (ReadString(ref reader, name, 16, allowNewlines: false, errors) is { } importance)
                        {
                            switch (importance)
                            {
                                case "low": request.Importance = AlertImportance.Low; break;
                                case "normal": request.Importance = AlertImportance.Normal; break;
                                case "high": request.Importance = AlertImportance.High; break;
                                default: errors.Add(new(name, $"'importance' must be low, normal or high, not '{importance}'")); break;
                            }
                        }
                        break;
                    case "account":
                        if (ReadString(ref reader, name, AccountId.MaxLength, allowNewlines: false, errors) is { } account)
                        {
                            if (AccountId.TryParse(account, out var id, out var error))
                            {
                                request.Account = id;
                            }
                            else
                            {
                                errors.Add(new(name, error!));
                            }
                        }
                        break;
                    case "mailbox":
                        if (ReadString(ref reader, name, 1024, allowNewlines: false, errors) is { } mailbox)
                        {
                            if (MailboxPath.TryParse(mailbox, out var path, out var error))
                            {
                                request.Mailbox = path;
                            }
                            else
                            {
                                errors.Add(new(name, error!));
                            }
                        }
                        break;
                    case "imapUrl":
                        if (ReadString(ref reader, name, MaxImapUrl, allowNewlines: false, errors) is { } url)
                        {
                            if (EventModel.ImapUrl.TryParse(url, out _, out var error))
                            {
                                request.ImapUrl = url;
                            }
                            else
                            {
                                errors.Add(new(name, "'imapUrl' is not an RFC 5092 IMAP URL: " + error));
                            }
                        }
                        break;
                    case "from":
                        request.From = ReadString(ref reader, name, MaxShortField, allowNewlines: false, errors);
                        break;
                    case "subject":
                        request.Subject = ReadString(ref reader, name, MaxShortField, allowNewlines: false, errors);
                        break;
                    case "clientId":
                        if (ReadString(ref reader, name, MaxClientId, allowNewlines: false, errors) is { } clientId)
                        {
                            if (clientId.Length == 0 || clientId.Any(c => c is < '!' or > '~'))
                            {
                                errors.Add(new(name, "'clientId' must be 1 to 128 printable ASCII characters without spaces"));
                            }
                            else
                            {
                                request.ClientId = clientId;
                            }
                        }
                        break;
                    default:
                        errors.Add(new(Truncate(name), $"unknown field '{Truncate(name)}' (known: targets, text, importance, account, mailbox, imapUrl, from, subject, clientId)"));
                        reader.TrySkip();
                        break;
                }
            }
            if (reader.TokenType != JsonTokenType.EndObject)
            {
                errors.Add(new(null, "the JSON object is not closed"));
                return null;
            }
            var end = reader.BytesConsumed;
            if (!body[(int)end..].Trim(" \t\r\n"u8).IsEmpty)
            {
                errors.Add(new(null, $"unexpected data after the JSON object at byte {end}"));
                return null;
            }
        }
        catch (JsonException e)
        {
            // Utf8JsonReader's messages name the position; invalid UTF-8, truncation, depth all land here.
            errors.Add(new(null, "the body is not valid JSON: " + e.Message));
            return null;
        }
        if (!seen.Contains("targets"))
        {
            errors.Add(new("targets", "'targets' is required: a list of xmpp:, sip: or sips: URIs"));
        }
        if (!seen.Contains("text"))
        {
            errors.Add(new("text", "'text' is required"));
        }
        if (request.Mailbox is not null && request.Account is null)
        {
            errors.Add(new("mailbox", "'mailbox' needs 'account'"));
        }
        return errors.Count == 0 ? request : null;
    }

    private static void ReadTargets(ref Utf8JsonReader reader, AlertRequest request, int maxTargets, List<AlertFieldError> errors)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            errors.Add(new("targets", $"'targets' must be an array of URIs, not {Describe(reader.TokenType)}"));
            reader.TrySkip();
            return;
        }
        var index = 0;
        var keys = new HashSet<string>(StringComparer.Ordinal);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            var field = $"targets[{index}]";
            if (index >= maxTargets)
            {
                errors.Add(new(field, $"at most {maxTargets} targets per alert"));
                reader.TrySkip();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    reader.TrySkip();
                }
                return;
            }
            if (ReadString(ref reader, field, 2048, allowNewlines: false, errors) is { } uri)
            {
                if (!AlertTarget.TryParse(uri, out var target, out var error))
                {
                    errors.Add(new(field, error!));
                }
                else if (!keys.Add(target.Key))
                {
                    errors.Add(new(field, $"'{target.Key}' is listed twice"));
                }
                else
                {
                    request.Targets.Add(target);
                }
            }
            index++;
        }
        if (index == 0)
        {
            errors.Add(new("targets", "'targets' is empty"));
        }
    }

    private static string? ReadString(ref Utf8JsonReader reader, string field, int maxLength, bool allowNewlines, List<AlertFieldError> errors)
    {
        if (reader.TokenType != JsonTokenType.String)
        {
            errors.Add(new(field, $"'{field}' must be a string, not {Describe(reader.TokenType)}"));
            reader.TrySkip();
            return null;
        }
        // Escaped length bounds the unescaped one: refuse before allocating anything large.
        var raw = reader.HasValueSequence ? reader.ValueSequence.Length : reader.ValueSpan.Length;
        if (raw > (long)maxLength * 6)
        {
            errors.Add(new(field, $"'{field}' is longer than {maxLength} characters"));
            return null;
        }
        string value;
        try
        {
            value = reader.GetString()!;
        }
        catch (InvalidOperationException)
        {
            // An escape such as \ud800 that is not valid UTF-16, or bytes that are not UTF-8.
            errors.Add(new(field, $"'{field}' is not valid Unicode (invalid UTF-8 or an unpaired surrogate escape)"));
            return null;
        }
        if (value.Length > maxLength)
        {
            errors.Add(new(field, $"'{field}' is longer than {maxLength} characters"));
            return null;
        }
        foreach (var c in value)
        {
            if (char.IsControl(c) && !(allowNewlines && c is '\n' or '\t' or '\r'))
            {
                errors.Add(new(field, $"'{field}' contains a control character (U+{(int)c:X4})"));
                return null;
            }
            if (char.IsSurrogate(c) && !IsWellFormed(value))
            {
                errors.Add(new(field, $"'{field}' contains an unpaired surrogate"));
                return null;
            }
        }
        return value;
    }

    private static bool IsWellFormed(string value)
    {
        for (var i = 0; i < value.Length; i++)
        {
            if (char.IsHighSurrogate(value[i]))
            {
                if (i + 1 >= value.Length || !char.IsLowSurrogate(value[i + 1]))
                {
                    return false;
                }
                i++;
            }
            else if (char.IsLowSurrogate(value[i]))
            {
                return false;
            }
        }
        return true;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";

    private static string Describe(JsonTokenType t) => t switch
    {
        JsonTokenType.StartObject => "an object",
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => t.ToString(),
    };
}
