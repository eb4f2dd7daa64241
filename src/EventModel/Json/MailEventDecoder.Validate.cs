using System.Text;
using System.Text.Json;

namespace Aggregators.EventModel.Json;

/// <summary>
/// Validation of an event object without JSON: the checks <see cref="TryRead"/> makes on what
/// <see cref="MailEventEncoder"/> writes for it, in the same order (the encoder's member order), with
/// the same messages, and the same normalised result (IMAP URLs normalised, "flagNames" as its string
/// form reads back, the mailbox taken from "mailboxID"/"uri" when absent). For the in-process ingest,
/// so a co-hosted bridge's event is judged exactly as the same event sent over HTTP.
/// A lone surrogate becomes U+FFFD, as the encoder writes it. Where the encoder cannot write an event
/// at all (a vendor value that is not JSON, an undefined event type), this says why precisely.
/// </summary>
internal static partial class MailEventDecoder
{
    // Upper bound of the encoded size of an event without its strings (names, numbers, punctuation).
    private const int FixedPartBound = 4096;

    public static bool TryValidate(MailEvent e, int index, out MailEvent? normalised, out EventError? error)
    {
        normalised = null;
        if (EncodedSizeBound(e) > MaxEventBytes && EncodedLength(e) is var length and > MaxEventBytes)
        {
            error = new EventError(index, null, $"the event is {length} bytes long; at most {MaxEventBytes / 1024 / 1024} MiB is accepted");
            return false;
        }
        var f = default(Fields);
        if (!TryValidateMembers(e, index, ref f, out error) || !TryBuild(ref f, index, out normalised, out error))
        {
            normalised = null;
            return false;
        }
        return true;
    }

    private static bool TryValidateMembers(MailEvent e, int index, ref Fields f, out EventError? error)
    {
        if ((uint)e.Type >= MailEventTypes.Count)
        {
            error = new EventError(index, "event", $"'{(int)e.Type}' is not an RFC 5423 event type (one of {string.Join(", ", MailEventTypes.All.Select(t => t.ToRfcName()))})");
            return false;
        }
        Present(ref f, Param.Event);
        f.Type = e.Type;

        if (e.Account.IsDefault)
        {
            error = WrongType(index, "account", "a string", JsonTokenType.Null);
            return false;
        }
        // An AccountId is valid by construction; only what JSON cannot carry is left to check.
        var account = e.Account.Value;
        if ((error = CheckLineString(index, "account", ref account)) is not null)
        {
            return false;
        }
        Present(ref f, Param.Account);
        f.Account = account;
        f.AccountId = ReferenceEquals(account, e.Account.Value) ? e.Account : AccountId.Parse(account);

        // A MailboxPath is valid by construction; the root is not written (no "mailbox").
        if (e.Mailbox is { IsRoot: false } mailbox)
        {
            if (!TryPath(index, Param.Mailbox, mailbox, out f.Mailbox, ref f, out error))
            {
                return false;
            }
        }
        if (e.OldMailbox is { } oldMailbox)
        {
            if (!TryPath(index, Param.OldMailbox, oldMailbox, out f.OldMailbox, ref f, out error))
            {
                return false;
            }
        }
        f.Totals = e.Totals;
        PresentIf(ref f, Param.Totals, e.Totals is not null);
        f.Spam = e.Spam;
        PresentIf(ref f, Param.Spam, e.Spam); // written only when true
        if (!TryLine(index, Param.Id, e.Id, ref f.Id, ref f, out error, CheckId))
        {
            return false;
        }
        f.Timestamp = e.Timestamp;
        PresentIf(ref f, Param.Timestamp, e.Timestamp is not null);
        if (!TryLine(index, Param.Service, e.Service, ref f.Service, ref f, out error)
            || !TryLine(index, Param.ServerDomain, e.ServerDomain, ref f.ServerDomain, ref f, out error)
            || !TryLine(index, Param.ServerFqdn, e.ServerFqdn, ref f.ServerFqdn, ref f, out error)
            || !TryNumber(index, Param.ServerPort, e.ServerPort, 65535, ref f.ServerPort, ref f, out error))
        {
            return false;
        }
        if (!TryLine(index, Param.ClientIp, e.ClientIp, ref f.ClientIp, ref f, out error, CheckClientIp)
            || !TryNumber(index, Param.ClientPort, e.ClientPort, 65535, ref f.ClientPort, ref f, out error)
            || !TryLine(index, Param.User, e.User, ref f.User, ref f, out error)
            || !TryLine(index, Param.Admin, e.Admin, ref f.Admin, ref f, out error)
            || !TryNumber(index, Param.Pid, e.Pid, int.MaxValue, ref f.Pid, ref f, out error)
            || !TryLine(index, Param.Process, e.Process, ref f.Process, ref f, out error)
            || !TryUrl(index, Param.Uri, e.Uri, ref f.Uri, ref f, out error)
            || !TryUrl(index, Param.MailboxId, e.MailboxId, ref f.MailboxId, ref f, out error)
            || !TryUrl(index, Param.OldMailboxId, e.OldMailboxId, ref f.OldMailboxId, ref f, out error))
        {
            return false;
        }
        f.Uidnext = e.Uidnext;
        PresentIf(ref f, Param.Uidnext, e.Uidnext is not null);
        f.Uidvalidity = e.UidValidity;
        PresentIf(ref f, Param.Uidvalidity, e.UidValidity is not null);
        if (!TryLine(index, Param.Uidset, e.Uidset, ref f.Uidset, ref f, out error, CheckUidset))
        {
            return false;
        }
        f.Messages = e.Messages;
        PresentIf(ref f, Param.Messages, e.Messages is not null);
        f.Modseq = e.Modseq;
        PresentIf(ref f, Param.Modseq, e.Modseq is not null);
        f.MaxMessages = e.MaxMessages;
        PresentIf(ref f, Param.MaxMessages, e.MaxMessages is not null);
        f.MessageSize = e.MessageSize;
        PresentIf(ref f, Param.MessageSize, e.MessageSize is not null);
        f.DiskQuota = e.DiskQuota;
        PresentIf(ref f, Param.DiskQuota, e.DiskQuota is not null);
        f.DiskUsed = e.DiskUsed;
        PresentIf(ref f, Param.DiskUsed, e.DiskUsed is not null);
        if (!TryValidateFlagNames(e.FlagNames, index, ref f, out error)
            || !TryValidateTags(e.Tags, index, ref f, out error)
            || !TryString(index, Param.Envelope, e.Envelope, StringKind.Text, MaxStringBytes, ref f.Envelope, ref f, out error)
            || !TryString(index, Param.BodyStructure, e.BodyStructure, StringKind.Text, MaxStringBytes, ref f.BodyStructure, ref f, out error)
            || !TryString(index, Param.MessageContent, e.MessageContent, StringKind.Text, MaxMessageContentBytes, ref f.MessageContent, ref f, out error)
            || !TryLine(index, Param.From, e.From, ref f.From, ref f, out error)
            || !TryLine(index, Param.Subject, e.Subject, ref f.Subject, ref f, out error))
        {
            return false;
        }
        return TryValidateVendor(e.Vendor, index, ref f, out error);
    }

    private static void Present(ref Fields f, Param p) => f.Seen |= 1UL << (int)p;

    // Every member the encoder writes is marked, so a vendor parameter named like it is caught as a repeat.
    private static void PresentIf(ref Fields f, Param p, bool written)
    {
        if (written)
        {
            Present(ref f, p);
        }
    }

    // A MailboxPath is valid by construction: its text is re-read only if it had to be made Unicode.
    private static bool TryPath(int index, Param p, MailboxPath path, out MailboxPath? field, ref Fields f, out EventError? error)
    {
        field = null;
        var name = NameOf(p);
        var text = path.Value;
        if ((error = CheckLineString(index, name, ref text)) is not null)
        {
            return false;
        }
        if (!ReferenceEquals(text, path.Value))
        {
            if (!MailboxPath.TryParse(text, out path, out var pathError))
            {
                error = new EventError(index, name, $"'{name}' is not a valid mailbox path: {pathError}");
                return false;
            }
        }
        Present(ref f, p);
        field = path;
        return true;
    }

    /// <summary>A one-line string parameter; <paramref name="check"/> applies the parameter's own rule (id, clientIP, uidset) to the checked value.</summary>
    private static bool TryLine(int index, Param p, string? value, ref string? field, ref Fields f, out EventError? error, Func<int, string, EventError?>? check = null) =>
        TryString(index, p, value, StringKind.Line, MaxStringBytes, ref field, ref f, out error, check);

    private static bool TryString(int index, Param p, string? value, StringKind kind, int maxBytes, ref string? field, ref Fields f, out EventError? error, Func<int, string, EventError?>? check = null)
    {
        if (value is not null)
        {
            if ((error = CheckString(index, NameOf(p), ref value, kind, maxBytes) ?? check?.Invoke(index, value)) is not null)
            {
                return false;
            }
            Present(ref f, p);
            field = value;
        }
        error = null;
        return true;
    }

    private static EventError? CheckLineString(int index, string name, ref string value) =>
        CheckString(index, name, ref value, StringKind.Line, MaxStringBytes);

    /// <summary>What <see cref="TryReadString"/> checks, for a string that never was JSON.</summary>
    private static EventError? CheckString(int index, string name, ref string value, StringKind kind, int maxBytes)
    {
        // JSON text is Unicode (RFC 8259 §8.1): the encoder writes a lone surrogate as U+FFFD.
        if (!IsUnicode(value))
        {
            value = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(value));
        }
        return CheckText(index, name, value, Encoding.UTF8.GetByteCount(value), kind, maxBytes);
    }

    private static bool TryNumber(int index, Param p, int? value, ulong max, ref int? field, ref Fields f, out EventError? error)
    {
        if (value is { } v)
        {
            var name = NameOf(p);
            var text = v.ToString(System.Globalization.CultureInfo.InvariantCulture);
            if (v < 0)
            {
                error = Negative(index, name, max, text);
                return false;
            }
            if ((ulong)v > max)
            {
                error = TooLarge(index, name, max, text);
                return false;
            }
            Present(ref f, p);
            field = v;
        }
        error = null;
        return true;
    }

    // The encoder writes a URL that parses in its normalised form and anything else as given;
    // the decoder parses what was written.
    private static bool TryUrl(int index, Param p, string? value, ref ImapUrl? field, ref Fields f, out EventError? error)
    {
        if (value is null)
        {
            error = null;
            return true;
        }
        var name = NameOf(p);
        var parsed = ImapUrl.TryParse(value, out var url, out var urlError);
        var written = parsed ? url!.ToString() : value;
        var text = written;
        if ((error = CheckLineString(index, name, ref text)) is not null)
        {
            return false;
        }
        // A normalised URL reads back as itself (MailEventJson round trip); anything else is read again.
        if ((!parsed || !ReferenceEquals(text, written)) && !ImapUrl.TryParse(text, out url, out urlError))
        {
            error = new EventError(index, name, $"'{name}' is not a valid IMAP URL (RFC 5092): {urlError}");
            return false;
        }
        Present(ref f, p);
        field = url;
        return true;
    }

    // "flagNames" travels as one space-separated string (MailEventEncoder): the flags are what that string reads back as.
    private static bool TryValidateFlagNames(IReadOnlyList<string>? flagNames, int index, ref Fields f, out EventError? error)
    {
        const string name = "flagNames";
        error = null;
        if (flagNames is not { Count: > 0 })
        {
            return true; // not written
        }
        IReadOnlyList<string> words;
        if (IsWordList(flagNames))
        {
            // The common case: each item is one flag, and the string is the items joined.
            var bytes = flagNames.Count - 1;
            foreach (var flag in flagNames)
            {
                bytes += Encoding.UTF8.GetByteCount(flag);
            }
            foreach (var flag in flagNames)
            {
                var text = flag;
                if ((error = CheckString(index, name, ref text, StringKind.Line, int.MaxValue)) is not null)
                {
                    return false;
                }
            }
            if (bytes > MaxStringBytes)
            {
                error = new EventError(index, name, $"'{name}' is longer than {MaxStringBytes / 1024} KiB");
                return false;
            }
            words = flagNames;
        }
        else
        {
            var joined = string.Join(' ', flagNames);
            if ((error = CheckLineString(index, name, ref joined)) is not null)
            {
                return false;
            }
            words = joined.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        }
        if ((error = CheckFlagWords(index, words)) is not null)
        {
            return false;
        }
        if (words.Count == 0)
        {
            error = new EventError(index, name, $"'{name}' names no flag");
            return false;
        }
        Present(ref f, Param.FlagNames);
        f.FlagNames = words as string[] ?? [.. words];
        return true;
    }

    // Items that are flags as they stand: no empty item, no space, nothing the encoder must replace.
    private static bool IsWordList(IReadOnlyList<string> items)
    {
        foreach (var item in items)
        {
            if (string.IsNullOrEmpty(item) || item.Contains(' ', StringComparison.Ordinal) || !IsUnicode(item))
            {
                return false;
            }
        }
        return true;
    }

    private static bool TryValidateTags(IReadOnlyList<string>? tags, int index, ref Fields f, out EventError? error)
    {
        const string name = "tags";
        error = null;
        if (tags is null)
        {
            return true;
        }
        var read = new string[Math.Min(tags.Count, MaxListItems)];
        for (var i = 0; i < tags.Count; i++)
        {
            if (i == MaxListItems)
            {
                error = new EventError(index, name, $"'{name}' has more than {MaxListItems} items");
                return false;
            }
            var item = $"{name}[{i}]";
            if (tags[i] is not { } tag)
            {
                error = WrongType(index, item, "a string", JsonTokenType.Null);
                return false;
            }
            if ((error = CheckLineString(index, item, ref tag)) is not null)
            {
                return false;
            }
            if (tag.Length == 0)
            {
                error = new EventError(index, item, $"'{item}' is empty");
                return false;
            }
            read[i] = tag;
        }
        Present(ref f, Param.Tags);
        f.Tags = read;
        return true;
    }

    private static bool TryValidateVendor(IReadOnlyList<VendorParameter>? vendor, int index, ref Fields f, out EventError? error)
    {
        error = null;
        if (vendor is null)
        {
            return true;
        }
        foreach (var p in vendor)
        {
            var name = p.Name;
            if (!IsUnicode(name))
            {
                name = Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(name));
            }
            if (Lookup(name) is var param and not Param.Unknown)
            {
                // Named exactly like an RFC 5423 parameter (names are case-sensitive): the decoder reads
                // the member the encoder writes for it as that parameter, so this does too.
                if (!TryReadNamedLikeStandard(p.RawJson, index, param, ref f, out error))
                {
                    return false;
                }
                continue;
            }
            if (!IsVendorName(name))
            {
                error = UnknownParameter(index, name);
                return false;
            }
            f.Vendor ??= [];
            if ((error = CheckVendorSlot(index, name, f.Vendor)) is not null)
            {
                return false;
            }
            if (!TryReadVendorRaw(p.RawJson, index, name, out var raw, out error))
            {
                return false;
            }
            f.Vendor.Add(raw == p.RawJson && name == p.Name ? p : new VendorParameter(name, raw!));
        }
        return true;
    }

    // A "vendor" value whose name is a standard parameter's, read as the decoder reads that parameter: a repeat
    // of one the encoder wrote already, or the parameter's own value rules.
    private static bool TryReadNamedLikeStandard(string rawJson, int index, Param param, ref Fields f, out EventError? error)
    {
        var name = NameOf(param);
        if (f.Has(param))
        {
            error = new EventError(index, name, $"'{name}' appears more than once");
            return false;
        }
        if (rawJson is null || !IsUnicode(rawJson))
        {
            error = new EventError(index, name, $"'{name}' is not valid UTF-8");
            return false;
        }
        var input = Encoding.UTF8.GetBytes(rawJson);
        var reader = new Utf8JsonReader(input, ReaderOptions);
        try
        {
            if (!reader.Read())
            {
                error = new EventError(index, name, $"'{name}' has no value; expected a JSON value");
                return false;
            }
            Present(ref f, param);
            if (!TryReadParam(ref reader, index, param, ref f, out error))
            {
                return false;
            }
            reader.Read(); // throws on anything but whitespace after the value
            return true;
        }
        catch (JsonException ex)
        {
            error = new EventError(index, name, $"'{name}' is not valid JSON: {ex.Message}");
            return false;
        }
    }

    // The raw JSON of a vendor value, read as the decoder reads it inside an event (surrounding whitespace dropped).
    private static bool TryReadVendorRaw(string rawJson, int index, string name, out string? raw, out EventError? error)
    {
        raw = null;
        if (rawJson is null || !IsUnicode(rawJson))
        {
            error = new EventError(index, Clip(name), $"'{Clip(name)}' is not valid UTF-8");
            return false;
        }
        var input = Encoding.UTF8.GetBytes(rawJson);
        var reader = new Utf8JsonReader(input, ReaderOptions);
        try
        {
            if (!reader.Read())
            {
                error = new EventError(index, Clip(name), $"'{Clip(name)}' has no value; expected a JSON value");
                return false;
            }
            if (!TryReadVendorValue(ref reader, input, index, name, out raw, out error))
            {
                return false;
            }
            reader.Read(); // throws on anything but whitespace after the value
            return true;
        }
        catch (JsonException ex)
        {
            error = new EventError(index, Clip(name), $"'{Clip(name)}' is not valid JSON: {ex.Message}");
            raw = null;
            return false;
        }
    }

    /// <summary>True when <paramref name="s"/> has no lone surrogate, so it can be written as UTF-8.</summary>
    private static bool IsUnicode(string s)
    {
        var rest = s.AsSpan();
        while (rest.IndexOfAnyInRange('\uD800', '\uDFFF') is var at and >= 0)
        {
            if (Rune.DecodeFromUtf16(rest[at..], out _, out var used) != System.Buffers.OperationStatus.Done)
            {
                return false;
            }
            rest = rest[(at + used)..];
        }
        return true;
    }

    // Each UTF-16 unit writes at most 6 bytes (a \uXXXX escape).
    private static long EncodedSizeBound(MailEvent e)
    {
        long chars = e.Account.Value?.Length ?? 0;
        chars += e.Mailbox?.Value.Length ?? 0;
        chars += e.OldMailbox?.Value.Length ?? 0;
        foreach (var s in (ReadOnlySpan<string?>)[e.Id, e.Service, e.ServerDomain, e.ServerFqdn, e.ClientIp, e.User, e.Admin, e.Process,
                     e.Uri, e.MailboxId, e.OldMailboxId, e.Uidset, e.Envelope, e.BodyStructure, e.MessageContent, e.From, e.Subject])
        {
            chars += s?.Length ?? 0;
        }
        long items = 0;
        foreach (var list in (ReadOnlySpan<IReadOnlyList<string>?>)[e.FlagNames, e.Tags])
        {
            if (list is not null)
            {
                foreach (var s in list)
                {
                    chars += s?.Length ?? 0;
                    items++;
                }
            }
        }
        if (e.Vendor is { } vendor)
        {
            foreach (var p in vendor)
            {
                chars += (p.Name?.Length ?? 0) + (p.RawJson?.Length ?? 0);
                items++;
            }
        }
        return FixedPartBound + (6 * chars) + (8 * items);
    }

    private static long EncodedLength(MailEvent e)
    {
        try
        {
            return MailEventJson.Encode(e).Length;
        }
        catch (Exception ex) when (ex is ArgumentException or InvalidOperationException)
        {
            return 0; // not encodable: the member checks say why
        }
    }
}
