using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;
using Aggregators.MailWatch.Model;

namespace Aggregators.MailWatch.Imap;

/// <summary>
/// The model's third reliability option: when notifications stop, read the counts out of band
/// with IMAP STATUS (RFC 3501 §6.3.10) — MESSAGES, UNSEEN, UIDNEXT — one short session each time.
/// Notification paths (<c>/</c> separator) are turned into the server's names with the
/// hierarchy delimiter from <c>LIST "" ""</c> (RFC 3501 §6.3.8).
/// </summary>
internal sealed class ImapStatusVerifier(MailWatchOptions options, TimeProvider time)
{
    public async Task<IReadOnlyList<ImapCounts>> VerifyAsync(IEnumerable<string> mailboxes, CancellationToken cancellationToken)
    {
        await using var client = await ImapConnect.LoginAsync(options, cancellationToken).ConfigureAwait(false);
        var root = await client.ListAsync("", "", null, cancellationToken).ConfigureAwait(false);
        var delimiter = root.Mailboxes.FirstOrDefault()?.Delimiter;
        var result = new List<ImapCounts>();
        foreach (var mailbox in mailboxes)
        {
            var name = ToImapName(MailboxPath.Parse(mailbox), delimiter);
            var status = await client.StatusAsync(name, ImapStatusItem.Messages | ImapStatusItem.Unseen | ImapStatusItem.UidNext, cancellationToken)
                .ConfigureAwait(false);
            result.Add(new ImapCounts(mailbox, status.Messages ?? 0, status.Unseen ?? 0, status.UidNext, time.GetUtcNow()));
        }
        try
        {
            await client.LogoutAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ImapConnect.IsImapFailure(ex))
        {
            // the counts are in hand
        }
        return result;
    }

    /// <summary>Segments joined with the server's delimiter; a segment holding the delimiter cannot be named (flat servers: one segment).</summary>
    public static string ToImapName(MailboxPath path, char? delimiter)
    {
        ArgumentNullException.ThrowIfNull(path);
        if (path.Depth == 1 || delimiter is null)
        {
            return path.Depth == 1 ? path.Segments[0] : string.Join('/', path.Segments);
        }
        foreach (var segment in path.Segments)
        {
            if (segment.Contains(delimiter.Value, StringComparison.Ordinal))
            {
                throw new ArgumentException($"mailbox segment '{segment}' contains the server's delimiter '{delimiter}'", nameof(path));
            }
        }
        return string.Join(delimiter.Value, path.Segments);
    }
}
