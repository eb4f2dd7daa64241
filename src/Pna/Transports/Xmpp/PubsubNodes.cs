using System.Diagnostics.CodeAnalysis;
using Aggregators.EventModel;

namespace Aggregators.Pna.Transports.Xmpp;

/// <summary>
/// Node names of an account's pubsub service: <c>mail_events</c> is the whole account (a
/// collection), <c>mail_events/&lt;mailbox&gt;</c> one mailbox, with <see cref="MailboxPath.Value"/>
/// ('/' between levels, whatever the IMAP server's separator).
/// </summary>
public static class PubsubNodes
{
    public const string Root = "mail_events";

    public static string NodeOf(MailboxPath mailbox)
    {
        ArgumentNullException.ThrowIfNull(mailbox);
        return mailbox.IsRoot ? Root : Root + "/" + mailbox.Value;
    }

    /// <summary>The mailbox a node name stands for (root for <c>mail_events</c>); false for anything else.</summary>
    public static bool TryParse(string? node, [NotNullWhen(true)] out MailboxPath? mailbox)
    {
        mailbox = null;
        if (node is null)
        {
            return false;
        }
        if (node == Root)
        {
            mailbox = MailboxPath.Root;
            return true;
        }
        if (!node.StartsWith(Root + "/", StringComparison.Ordinal)
            || !MailboxPath.TryParse(node[(Root.Length + 1)..], out var path, out _) || path.IsRoot)
        {
            return false;
        }
        mailbox = path;
        return true;
    }

    /// <summary>
    /// Does the node exist in the tree made of <paramref name="known"/> (the account's mailboxes)?
    /// The root exists when the account has any mailbox; a mailbox node when it is known or an
    /// ancestor of a known one.
    /// </summary>
    public static bool Exists(MailboxPath node, IReadOnlyCollection<MailboxPath> known)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(known);
        foreach (var m in known)
        {
            if (node.IsAncestorOrSelfOf(m))
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The node's children (one level down), ordered.</summary>
    public static IReadOnlyList<MailboxPath> Children(MailboxPath node, IReadOnlyCollection<MailboxPath> known)
    {
        ArgumentNullException.ThrowIfNull(node);
        ArgumentNullException.ThrowIfNull(known);
        var children = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var m in known)
        {
            if (m.Depth > node.Depth && node.IsAncestorOrSelfOf(m))
            {
                children.Add(m.SegmentSpan[node.Depth]);
            }
        }
        return [.. children.Select(node.Child)];
    }
}
