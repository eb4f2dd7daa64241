using System.Collections.Concurrent;
using System.Net.Http.Headers;
using System.Text;
using Aggregators.EventModel;
using Aggregators.Pna.Authorization;
using Aggregators.Pna.Hosting;
using Aggregators.Pna.State;
using Aggregators.Pna.Subscriptions;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Hosting;

/// <summary>A real PNA on Kestrel, 127.0.0.1 port 0, with a temporary data directory and a recording transport.</summary>
public sealed class PnaTestHost : IAsyncDisposable
{
    public const string Token = "test-token-0123456789abcdef";
    public const string SourceName = "test";

    private readonly bool _ownsDirectory;
    private bool _stopped;

    private PnaTestHost(WebApplication app, string dataDirectory, bool ownsDirectory, RecordingTransport transport)
    {
        App = app;
        DataDirectory = dataDirectory;
        _ownsDirectory = ownsDirectory;
        Transport = transport;
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        BaseAddress = new Uri(address);
        Client = NewClient();
    }

    public WebApplication App { get; }
    public string DataDirectory { get; }
    public Uri BaseAddress { get; }
    public HttpClient Client { get; }
    public RecordingTransport Transport { get; }

    public MailboxStateStore State => App.Services.GetRequiredService<MailboxStateStore>();
    public SubscriptionManager Subscriptions => App.Services.GetRequiredService<SubscriptionManager>();

    public static string NewDataDirectory()
    {
        var dir = Path.Combine(Path.GetTempPath(), "pna-tests-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        return dir;
    }

    public static async Task<PnaTestHost> StartAsync(
        string? dataDirectory = null,
        IDictionary<string, string>? settings = null,
        Action<IServiceCollection>? services = null,
        RecordingTransport? transport = null,
        bool withSource = true)
    {
        var owns = dataDirectory is null;
        var dir = dataDirectory ?? NewDataDirectory();
        var app = Build(dir, settings, services, transport ??= new RecordingTransport(), withSource);
        await app.StartAsync();
        return new PnaTestHost(app, dir, owns, transport);
    }

    public static WebApplication Build(
        string dataDirectory,
        IDictionary<string, string>? settings,
        Action<IServiceCollection>? services,
        INotificationTransport? transport,
        bool withSource = true)
    {
        var values = new Dictionary<string, string>
        {
            ["urls"] = "http://127.0.0.1:0",
            ["Pna:DataDirectory"] = dataDirectory,
            ["Pna:State:FlushInterval"] = "00:00:00.050",
            ["Logging:LogLevel:Default"] = "Warning",
        };
        if (withSource)
        {
            values["Pna:Ingest:Sources:0:Name"] = SourceName;
            values["Pna:Ingest:Sources:0:Token"] = Token;
        }
        foreach (var (k, v) in settings ?? new Dictionary<string, string>())
        {
            values[k] = v;
        }
        var args = values.Select(p => $"--{p.Key}={p.Value}").ToArray();
        return PnaApplication.Build(args, s =>
        {
            if (transport is not null)
            {
                s.AddSingleton(transport);
            }
            s.AddSingleton<IAuthorizationPolicy, AllowAll>();
            services?.Invoke(s);
        });
    }

    public HttpClient NewClient(string? token = Token) => new()
    {
        BaseAddress = BaseAddress,
        DefaultRequestHeaders = { Authorization = token is null ? null : new AuthenticationHeaderValue("Bearer", token) },
    };

    public Task<HttpResponseMessage> PostAsync(string body, string contentType = "application/x-ndjson") =>
        Client.PostAsync("/v1/events", new StringContent(body, Encoding.UTF8, MediaTypeHeaderValue.Parse(contentType)));

    /// <summary>Waits until the dispatcher has made <paramref name="condition"/> true (a liveness wait, not a timing assertion).</summary>
    public static async Task WaitUntil(Func<bool> condition, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(15);
        while (!condition())
        {
            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException("timed out waiting for " + what);
            }
            await Task.Delay(10);
        }
    }

    public async Task<Subscription> SubscribeAsync(string account, string mailbox = "", SubscriptionDepth depth = SubscriptionDepth.Subtree)
    {
        var filter = new SubscriptionFilter
        {
            Account = AccountId.Parse(account),
            Mailbox = MailboxPath.Parse(mailbox),
            Depth = depth,
        };
        var result = await Subscriptions.SubscribeAsync("xmpp:watcher@example.net", filter, Transport, "{}", null, CancellationToken.None);
        Assert.True(result.Succeeded, result.Decision.Reason);
        return result.Subscription!;
    }

    public async Task StopAsync()
    {
        if (!_stopped)
        {
            _stopped = true;
            await App.StopAsync();
            await App.DisposeAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Client.Dispose();
        await StopAsync();
        if (_ownsDirectory)
        {
            try
            {
                Directory.Delete(DataDirectory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    private sealed class AllowAll : IAuthorizationPolicy
    {
        public ValueTask<AuthorizationDecision> AuthorizeAsync(string subscriber, AccountId account, MailboxPath mailbox, CancellationToken cancellationToken) =>
            ValueTask.FromResult(AuthorizationDecision.Allow("test: everyone may subscribe"));
    }
}

/// <summary>A transport that records every notification handed to it, and the dispatcher's bursts around them.</summary>
public sealed class RecordingTransport(string name = "test") : INotificationTransport, IBurstingTransport
{
    public ConcurrentQueue<Notification> Notifications { get; } = new();

    /// <summary>Deliveries made outside a BeginBurst/EndBurst pair (the dispatcher makes none).</summary>
    public int DeliveriesOutsideBursts => Volatile.Read(ref _outside);

    /// <summary>Bursts begun and ended.</summary>
    public int Bursts => Volatile.Read(ref _bursts);

    /// <summary>The notifications count of every ended burst, in order.</summary>
    public ConcurrentQueue<int> BurstSizes { get; } = new();

    private bool _inBurst;
    private int _outside;
    private int _bursts;
    private int _burstSize;

    public void BeginBurst()
    {
        Assert.False(_inBurst, "a burst begins only after the last one ended");
        _inBurst = true;
        _burstSize = 0;
    }

    public void EndBurst()
    {
        Assert.True(_inBurst, "a burst ends only once begun");
        _inBurst = false;
        BurstSizes.Enqueue(_burstSize);
        Interlocked.Increment(ref _bursts);
    }

    public string Name { get; } = name;

    /// <summary>When set, Deliver throws for events with this id (a broken transport).</summary>
    public string? ThrowForEventId { get; set; }

    /// <summary>When set, Deliver waits on it (to fill the dispatch queue in a test).</summary>
    public ManualResetEventSlim? Gate { get; set; }

    public void Deliver(in Notification notification)
    {
        Gate?.Wait();
        if (ThrowForEventId is { } id && notification.Event?.Id == id)
        {
            throw new InvalidOperationException("transport broken on purpose");
        }
        if (_inBurst)
        {
            _burstSize++;
        }
        else
        {
            Interlocked.Increment(ref _outside);
        }
        Notifications.Enqueue(notification);
    }

    public IReadOnlyList<Notification> For(Subscription s) => [.. Notifications.Where(n => n.Subscription == s)];
}
