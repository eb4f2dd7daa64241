using System.Diagnostics.Metrics;
using System.Threading.Channels;
using System.Xml.Linq;
using Aggregators.Cna.Xmpp;
using Aggregators.EventModel;
using Aggregators.EventModel.Bodies;
using Aggregators.Xmpp;
using Aggregators.Xmpp.Stanzas;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Aggregators.Cna.Tests.Xmpp;

/// <summary>
/// An <see cref="XmppProxy"/> without a server: stanzas it sends are recorded, stanzas "from the
/// server" are handed to its handler; time is a <see cref="ManualTimeProvider"/>. The test plays
/// both the local users and the PNA (juliet@events.example.com).
/// </summary>
internal sealed class ProxyHarness : IAsyncDisposable
{
    public static readonly XNamespace Cc = "jabber:component:accept";
    public static readonly XNamespace Ps = "http://jabber.org/protocol/pubsub";
    public static readonly XNamespace Ev = "http://jabber.org/protocol/pubsub#event";
    public const string Account = @"juliet\40example.com@events.example.net";
    public const string Upstream = "juliet@events.example.com";

    private readonly Recorder _sink = new();
    private readonly ServiceProvider _services;
    private int _next;

    private ProxyHarness(string dataDirectory, ManualTimeProvider time, Action<CnaXmppOptions>? configure)
    {
        DataDirectory = dataDirectory;
        Time = time;
        var options = new CnaXmppOptions
        {
            Enabled = true,
            ComponentDomain = "events.example.net",
            Secret = "x",
            Heartbeat = TimeSpan.FromSeconds(60),
            UpstreamTimeout = TimeSpan.FromSeconds(10),
        };
        options.Routes["example.com"] = "events.example.com";
        configure?.Invoke(options);
        _services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        Store = new LocalSubscriptionStore(dataDirectory);
        Proxy = new XmppProxy(Options.Create(options), Store, _services.GetRequiredService<IMeterFactory>(), NullLoggerFactory.Instance, time)
        {
            Sink = _sink,
        };
    }

    public string DataDirectory { get; }
    public ManualTimeProvider Time { get; }
    public LocalSubscriptionStore Store { get; }
    public XmppProxy Proxy { get; }

    public static async Task<ProxyHarness> StartAsync(string? dataDirectory = null, ManualTimeProvider? time = null, Action<CnaXmppOptions>? configure = null)
    {
        var h = new ProxyHarness(dataDirectory ?? Path.Combine(Path.GetTempPath(), "cna-xmpp-" + Guid.NewGuid().ToString("N")), time ?? new ManualTimeProvider(), configure);
        await h.Proxy.StartAsync(CancellationToken.None);
        return h;
    }

    public ValueTask FromServerAsync(XElement stanza) => Proxy.HandleStanzaAsync(Stanza.FromElement(stanza), CancellationToken.None);

    /// <summary>A request from a local user; returns its id.</summary>
    public async Task<string> RequestAsync(string from, string to, string type, XElement payload)
    {
        var id = "r" + Interlocked.Increment(ref _next);
        await FromServerAsync(new XElement(Cc + "iq", new XAttribute("type", type), new XAttribute("id", id),
            new XAttribute("from", from), new XAttribute("to", to), payload));
        return id;
    }

    /// <summary>The next stanza the proxy sent that matches (earlier ones that do not are kept for later waits).</summary>
    public Task<Stanza> SentAsync(Func<Stanza, bool> match) => _sink.WaitAsync(match, TimeSpan.FromSeconds(10));

    public Task<Stanza> ReplyAsync(string id) => SentAsync(s => s is Iq { IsRequest: false } && s.Id == id);

    /// <summary>The next request the proxy sent to the PNA (<see cref="Upstream"/> or the service).</summary>
    public async Task<Iq> UpstreamRequestAsync(string verb) =>
        (Iq)await SentAsync(s => s is Iq { IsRequest: true } iq && iq.To?.Domain == "events.example.com"
            && iq.Payload?.Descendants().Any(d => d.Name.LocalName == verb) == true);

    public List<Stanza> Drain(Func<Stanza, bool> match) => _sink.Drain(match);

    /// <summary>Moves the clock a second at a time until the proxy sends a matching stanza (timers are armed asynchronously).</summary>
    public async Task<Stanza> AdvanceUntilSentAsync(Func<Stanza, bool> match, int maxSeconds = 120)
    {
        for (var i = 0; i <= maxSeconds; i++)
        {
            if (_sink.Drain(match) is [var first, ..])
            {
                return first;
            }
            await Task.Delay(20);
            if (_sink.Drain(match) is [var second, ..])
            {
                return second;
            }
            Time.Advance(TimeSpan.FromSeconds(1));
        }
        throw new TimeoutException($"nothing matching was sent within {maxSeconds} s of test time");
    }

    /// <summary>
    /// Answers a subscribe (XEP-0060 §6.1.2) as the PNA does; with <paramref name="grantedHeartbeat"/>,
    /// the granted options beside the subscription (§6.3.7) say that heartbeat.
    /// </summary>
    public ValueTask AnswerSubscribeAsync(Iq request, string subId = "17", TimeSpan? grantedHeartbeat = null)
    {
        var node = (string)request.Payload!.Element(Ps + "subscribe")!.Attribute("node")!;
        var pubsub = new XElement(Ps + "pubsub", new XElement(Ps + "subscription",
            new XAttribute("node", node),
            new XAttribute("jid", request.From!.ToString()), new XAttribute("subid", subId), new XAttribute("subscription", "subscribed")));
        if (grantedHeartbeat is { } granted
            && PubsubSubscribeOptions.TryParse(request.Payload!.Element(Ps + "options")!.Element(XName.Get("x", "jabber:x:data"))!, out var asked, out _))
        {
            pubsub.Add(new XElement(Ps + "options", new XAttribute("node", node), new XAttribute("jid", request.From!.ToString()),
                new XAttribute("subid", subId), (asked with { Heartbeat = granted }).ToForm()));
        }
        return FromServerAsync(request.CreateResult(pubsub).Element);
    }

    /// <summary>Answers an items request with the totals.</summary>
    public ValueTask AnswerItemsAsync(Iq request, MailboxTotals totals, string mailbox = "INBOX") =>
        FromServerAsync(request.CreateResult(new XElement(Ps + "pubsub", new XElement(Ps + "items",
            new XAttribute("node", (string)request.Payload!.Element(Ps + "items")!.Attribute("node")!),
            new XElement(Ps + "item", new XAttribute("id", "current"), XmppMailEventCodec.Write(new XmppMailEventPayload
            {
                Kind = XmppPayloadKind.Current,
                Account = AccountId.Parse("juliet@example.com"),
                Mailbox = MailboxPath.Parse(mailbox),
                Totals = totals,
            }))))).Element);

    /// <summary>A notification from the PNA to the CNA's upstream JID <paramref name="to"/>.</summary>
    public ValueTask UpstreamNotifyAsync(Jid to, XmppPayloadKind kind, long seq, MailboxTotals totals, string mailbox = "INBOX")
    {
        var payload = new XmppMailEventPayload
        {
            Kind = kind,
            Sequence = seq,
            Account = AccountId.Parse("juliet@example.com"),
            Mailbox = MailboxPath.Parse(mailbox),
            EventType = kind == XmppPayloadKind.Event ? MailEventType.MessageNew : null,
            Totals = totals,
        };
        return FromServerAsync(new XElement(Cc + "message", new XAttribute("type", "headline"), new XAttribute("from", Upstream),
            new XAttribute("to", to.ToString()), new XAttribute("id", "n-17-" + seq),
            new XElement(Ev + "event", new XElement(Ev + "items", new XAttribute("node", "mail_events/" + mailbox),
                new XElement(Ev + "item", new XAttribute("id", seq), XmppMailEventCodec.Write(payload))))));
    }

    public static XElement Subscribe(string node, string jid, XElement? form = null) =>
        new(Ps + "pubsub", new XElement(Ps + "subscribe", new XAttribute("node", node), new XAttribute("jid", jid)),
            form is null ? null : new XElement(Ps + "options", form));

    public static XElement Unsubscribe(string node, string jid) =>
        new(Ps + "pubsub", new XElement(Ps + "unsubscribe", new XAttribute("node", node), new XAttribute("jid", jid)));

    /// <summary>The payload of a notification the proxy sent, or null for another stanza.</summary>
    public static XmppMailEventPayload? PayloadOf(Stanza stanza)
    {
        var element = stanza.Element.Element(Ev + "event")?.Element(Ev + "items")?.Element(Ev + "item")?.Elements().FirstOrDefault();
        return element is not null && XmppMailEventCodec.TryRead(element, out var p, out _) ? p : null;
    }

    public static bool IsNotificationTo(Stanza s, string to) => s is Message && s.To?.ToString() == to && PayloadOf(s) is not null;

    public async ValueTask DisposeAsync()
    {
        await Proxy.StopAsync(CancellationToken.None);
        await Proxy.DisposeAsync();
        Store.Dispose();
        await _services.DisposeAsync();
    }

    private sealed class Recorder : ICnaStanzaSink
    {
        private readonly Lock _lock = new();
        private readonly List<Stanza> _sent = [];
        private readonly Channel<bool> _signal = Channel.CreateUnbounded<bool>();

        public bool TrySend(Stanza stanza)
        {
            lock (_lock)
            {
                _sent.Add(stanza);
            }
            _signal.Writer.TryWrite(true);
            return true;
        }

        public List<Stanza> Drain(Func<Stanza, bool> match)
        {
            lock (_lock)
            {
                var found = _sent.Where(match).ToList();
                _sent.RemoveAll(s => found.Contains(s));
                return found;
            }
        }

        public async Task<Stanza> WaitAsync(Func<Stanza, bool> match, TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            while (true)
            {
                lock (_lock)
                {
                    var i = _sent.FindIndex(s => match(s));
                    if (i >= 0)
                    {
                        var s = _sent[i];
                        _sent.RemoveAt(i);
                        return s;
                    }
                }
                try
                {
                    await _signal.Reader.ReadAsync(cts.Token);
                }
                catch (OperationCanceledException)
                {
                    lock (_lock)
                    {
                        throw new TimeoutException("expected stanza not sent; sent so far:\n" + string.Join("\n", _sent));
                    }
                }
            }
        }
    }
}
