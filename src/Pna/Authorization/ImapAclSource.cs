using Aggregators.EventModel;
using Aggregators.ImapBridge.Imap;

namespace Aggregators.Pna.Authorization;

/// <summary>Where <see cref="ImapAclPolicy"/> reads a mailbox's ACL (the IMAP server; a fake in tests).</summary>
public interface IImapAclSource
{
    /// <summary>
    /// The ACL of <paramref name="mailbox"/> of IMAP user <paramref name="owner"/> (RFC 4314 §3.3 GETACL).
    /// Throws <see cref="ImapCommandException"/> when the server refuses, <see cref="ImapAclMailboxException"/> when the
    /// path has no name on that server, (no such mailbox, no admin right)
    /// and <see cref="ImapConnectionException"/> (or a socket error) when it cannot be reached.
    /// </summary>
    Task<IReadOnlyList<KeyValuePair<string, string>>> GetAclAsync(string owner, MailboxPath mailbox, CancellationToken cancellationToken);
}

/// <summary>
/// Reads ACLs from the IMAP server as the mailbox owner: the admin authenticates with SASL PLAIN
/// and authorization identity = owner (RFC 4616 §2; a Dovecot master user or a Cyrus admin may
/// do this), then GETACL on the owner's own mailbox name. Why GETACL as the owner and not
/// MYRIGHTS as the subscriber: the owner's own names are the same on every server (no shared
/// namespace layout to guess, "shared/juliet/INBOX" on Dovecot, "Other Users/juliet" on Cyrus),
/// and GETACL needs the admin right 'a', which the owner holds on Cyrus and a Dovecot master
/// user gets from the global ACL file. One short connection per lookup: answers are cached by
/// the policy, and a connection bound to one authorization identity cannot serve another owner.
/// </summary>
public sealed class ImapServerAclSource(ImapAclOptions options) : IImapAclSource
{
    private readonly System.Net.Security.RemoteCertificateValidationCallback? _certificateValidation =
        ImapTlsTrust.Create(options.TlsCaFile, options.TlsPinnedCertificate, allowInvalid: false);

    public async Task<IReadOnlyList<KeyValuePair<string, string>>> GetAclAsync(
        string owner, MailboxPath mailbox, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        var clientOptions = new ImapClientOptions
        {
            Host = options.Host,
            Port = options.Port,
            Security = options.Security,
            TlsTargetHost = options.TlsTargetHost,
            CertificateValidation = _certificateValidation,
            ConnectTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
            CommandTimeout = TimeSpan.FromSeconds(options.TimeoutSeconds),
        };
        await using var client = await ImapClient.ConnectAsync(clientOptions, cancellationToken).ConfigureAwait(false);
        await client.AuthenticatePlainAsync(options.AdminUser, options.AdminPassword, owner, cancellationToken).ConfigureAwait(false);
        var name = await ImapNameAsync(client, mailbox, cancellationToken).ConfigureAwait(false);
        var acl = await client.GetAclAsync(name, cancellationToken).ConfigureAwait(false);
        try
        {
            await client.LogoutAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (ImapConnectionException)
        {
            // The answer is in; a failed goodbye does not matter.
        }
        return acl.Entries;
    }

    /// <summary>
    /// The server's name for <paramref name="mailbox"/>: segments joined by the hierarchy
    /// delimiter that <c>LIST "" ""</c> reports (RFC 3501 §6.3.8). The account itself (root) is INBOX.
    /// </summary>
    private static async Task<string> ImapNameAsync(ImapClient client, MailboxPath mailbox, CancellationToken cancellationToken)
    {
        if (mailbox.IsRoot)
        {
            return "INBOX";
        }
        if (mailbox.Depth == 1)
        {
            return mailbox.Segments[0];
        }
        var root = await client.ListAsync("", "", null, cancellationToken).ConfigureAwait(false);
        var delimiter = root.Mailboxes.FirstOrDefault()?.Delimiter
            ?? throw new ImapAclMailboxException("the server has a flat mailbox namespace (no hierarchy delimiter)");
        foreach (var segment in mailbox.Segments)
        {
            if (segment.Contains(delimiter, StringComparison.Ordinal))
            {
                throw new ImapAclMailboxException($"mailbox segment '{segment}' contains the server's hierarchy delimiter '{delimiter}'");
            }
        }
        return string.Join(delimiter, mailbox.Segments);
    }
}

/// <summary>The mailbox path cannot be named on this IMAP server (a segment contains its delimiter, flat namespace).</summary>
public sealed class ImapAclMailboxException : Exception
{
    public ImapAclMailboxException()
    {
    }

    public ImapAclMailboxException(string message)
        : base(message)
    {
    }

    public ImapAclMailboxException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
