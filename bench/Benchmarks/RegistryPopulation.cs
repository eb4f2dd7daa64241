using Aggregators.EventModel;
using Aggregators.Pna.Subscriptions;

namespace Aggregators.Benchmarks;

/// <summary>
/// Builds a registry that looks like a real deployment: accounts spread over a few domains,
/// each with a mailbox tree like a real user's, subscribed by MWI phones (INBOX, message counts),
/// desktop/XMPP clients (whole account) and targeted subscriptions on other folders, exact and
/// subtree mixed. Accounts, subscriber URIs and mailbox paths are shared within an account, as
/// a transport that parses one SUBSCRIBE per dialog and interns per account would hold them.
/// </summary>
internal static class RegistryPopulation
{
    /// <summary>Mailbox trees: common folders plus a few deeper ones per account.</summary>
    public static readonly string[] Folders =
    [
        "INBOX", "Sent", "Drafts", "Trash", "Junk", "Archive", "Archive/2025", "Archive/2026",
        "Work", "Work/Reports", "Work/Reports/2026", "Work/Reports/2026/Q1", "Work/Projects/Alpha",
        "Work/Projects/Beta", "Lists/ietf-dispatch", "Lists/dotnet", "INBOX/Receipts", "Family",
    ];

    public static string AccountName(int i) => $"user{i}@mail{i % 50}.example.com";

    private sealed class SinkTransport(string name) : INotificationTransport
    {
        public string Name => name;
        public void Deliver(in Notification notification) { }
    }

    private static readonly INotificationTransport Sip = new SinkTransport("sip");
    private static readonly INotificationTransport Xmpp = new SinkTransport("xmpp");

    /// <summary>A registry holding <see cref="Create"/>'s subscriptions.</summary>
    public static SubscriptionRegistry Build(int accounts, int subscriptionsPerAccount, int seed = 2026)
    {
        var registry = new SubscriptionRegistry();
        foreach (var subscription in Create(accounts, subscriptionsPerAccount, seed))
        {
            registry.Add(subscription);
        }
        return registry;
    }

    /// <summary><paramref name="subscriptionsPerAccount"/> subscriptions for each of <paramref name="accounts"/> accounts.</summary>
    public static Subscription[] Create(int accounts, int subscriptionsPerAccount, int seed = 2026)
    {
        var random = new Random(seed);
        var all = new Subscription[accounts * subscriptionsPerAccount];
        var paths = new Dictionary<string, MailboxPath>(StringComparer.Ordinal);
        long id = 0;
        for (var a = 0; a < accounts; a++)
        {
            var account = AccountId.Parse(AccountName(a));
            var sipUri = "sip:" + account.Value;
            var xmppUri = "xmpp:" + account.Value;
            paths.Clear();
            MailboxPath PathOf(string text)
            {
                if (!paths.TryGetValue(text, out var path))
                {
                    path = text.Length == 0 ? MailboxPath.Root : MailboxPath.Parse(text);
                    paths[text] = path;
                }
                return path;
            }
            for (var s = 0; s < subscriptionsPerAccount; s++)
            {
                SubscriptionFilter filter;
                INotificationTransport transport;
                string subscriber;
                switch (s)
                {
                    case 0 or 1:
                        // MWI phones and softphones: INBOX, counts only (RFC 3842).
                        filter = new SubscriptionFilter { Account = account, Mailbox = PathOf("INBOX"), Events = EventTypeSet.MessageCounts, Heartbeat = TimeSpan.FromMinutes(10) };
                        transport = Sip;
                        subscriber = sipUri;
                        break;
                    case 2:
                        // A desktop or XMPP client watching the whole account.
                        filter = new SubscriptionFilter { Account = account, Mailbox = MailboxPath.Root, Depth = SubscriptionDepth.Subtree };
                        transport = Xmpp;
                        subscriber = xmppUri;
                        break;
                    default:
                        var folder = Folders[random.Next(Folders.Length)];
                        var events = random.Next(3) switch
                        {
                            0 => EventTypeSet.All,
                            1 => EventTypeSet.MessageCounts,
                            _ => EventTypeSet.Of(MailEventType.MessageNew, MailEventType.MailboxRename),
                        };
                        filter = new SubscriptionFilter
                        {
                            Account = account,
                            Mailbox = PathOf(folder),
                            Depth = random.Next(2) == 0 ? SubscriptionDepth.One : SubscriptionDepth.Subtree,
                            Events = events,
                        };
                        (transport, subscriber) = random.Next(2) == 0 ? (Sip, sipUri) : (Xmpp, xmppUri);
                        break;
                }
                all[id] = new Subscription(id + 1, subscriber, filter, transport);
                id++;
            }
        }
        return all;
    }
}
