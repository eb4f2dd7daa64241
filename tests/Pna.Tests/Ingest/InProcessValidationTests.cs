using System.Text;
using System.Text.Json;
using Aggregators.EventModel;
using Aggregators.EventModel.Json;
using Aggregators.Pna.Ingest;
using Aggregators.Pna.Subscriptions;
using Aggregators.Pna.Tests.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Aggregators.Pna.Tests.Ingest;

/// <summary>
/// The in-process ingest checks event objects without JSON (MailEventJson.TryValidate): the same
/// events sent over HTTP (as the bridge's HTTP sink encodes them) are refused with the same errors.
/// </summary>
public sealed class InProcessValidationTests
{
    private static readonly AccountId Carol = AccountId.Parse("carol@example.org");

    private static MailEvent New(string id) =>
        new() { Type = MailEventType.MessageNew, Account = Carol, Mailbox = MailboxPath.Inbox, Totals = new MailboxTotals(1, 1, 2, 9), Id = id };

    private static readonly MailEvent[] Batch =
    [
        New("c1"),
        New("c2") with { Mailbox = MailboxPath.Root },
        New("has space"),
        New("c4") with { ClientIp = "300.1.2.3" },
        New("c5") with { ServerPort = 70000 },
        New("c6") with { Uidset = "0:3" },
        New("c7") with { Subject = "line\nbreak" },
        new() { Type = MailEventType.FlagsSet, Account = Carol, Mailbox = MailboxPath.Inbox, Id = "c8" },
        new() { Type = MailEventType.FlagsSet, Account = Carol, Mailbox = MailboxPath.Inbox, Id = "c9", FlagNames = ["\\Recent"] },
        New("c10") with { OldMailbox = MailboxPath.Parse("Old") },
        New("c11") with { Uri = "imap://host.example/INBOX;UIDVALIDITY=x" },
        New("c12") with { Tags = ["ok", ""] },
        New("c13") with { Vendor = [new VendorParameter("x-vendor", "1")] },
        new() { Type = MailEventType.Login, Account = Carol, Mailbox = MailboxPath.Inbox, Id = "c14" },
        New("c15") with { Mailbox = MailboxPath.Root, MailboxId = "imap://host.example/Work" },
    ];

    [Fact]
    public async Task In_process_and_HTTP_refuse_the_same_events_with_the_same_errors()
    {
        await using var http = await PnaTestHost.StartAsync();
        var body = string.Join('\n', Batch.Select(e => Encoding.UTF8.GetString(MailEventJson.Encode(e))));
        var response = await http.PostAsync(body);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        var overHttp = doc.RootElement.GetProperty("rejected").EnumerateArray()
            .Select(r => new EventError(r.GetProperty("index").GetInt32(),
                r.GetProperty("field").ValueKind == JsonValueKind.Null ? null : r.GetProperty("field").GetString(),
                r.GetProperty("error").GetString()!))
            .ToArray();

        await using var inProcess = await PnaTestHost.StartAsync();
        var result = await inProcess.App.Services.GetRequiredService<IEventIngest>().SubmitAsync(Batch, "bridge", CancellationToken.None);

        Assert.Equal(13, overHttp.Length);
        Assert.Equal(overHttp, result.Rejected);
        Assert.Equal(doc.RootElement.GetProperty("accepted").GetInt32(), result.Accepted);
        Assert.Equal(2, result.Accepted);
    }

    [Fact]
    public async Task The_normalised_event_is_dispatched()
    {
        await using var host = await PnaTestHost.StartAsync();
        var subscription = await host.SubscribeAsync("carol@example.org");
        var ingest = host.App.Services.GetRequiredService<IEventIngest>();
        // No "mailbox": RFC 5423 names it with the mailbox URL, which the ingest reads it from.
        var result = await ingest.SubmitAsync([New("n1") with { Mailbox = MailboxPath.Root, MailboxId = "IMAP://host.example/INBOX" }], "bridge", CancellationToken.None);
        Assert.Equal(1, result.Accepted);
        await PnaTestHost.WaitUntil(() => host.Transport.For(subscription).Any(n => n.Kind == NotificationKind.Event), "the event notification");
        var e = host.Transport.For(subscription).First(n => n.Kind == NotificationKind.Event).Event!;
        Assert.Equal(MailboxPath.Inbox, e.Mailbox);
        Assert.Equal("imap://host.example/INBOX", e.MailboxId);
    }
}
