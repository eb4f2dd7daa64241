using System.Net;
using System.Threading.Channels;
using Aggregators.Sip.Dialogs;
using Aggregators.Sip.Parsing;
using Aggregators.Sip.Transactions;
using Aggregators.Sip.Transport;

namespace Aggregators.Sip.Tests;

/// <summary>Transport, transaction layer and dialog together over loopback, as the notifier will use them.</summary>
public class EndToEndTests
{
    [Theory]
    [InlineData(SipTransportProtocol.Udp)]
    [InlineData(SipTransportProtocol.Tcp)]
    public async Task NOTIFY_in_a_subscription_dialog_gets_its_200(SipTransportProtocol protocol)
    {
        var local = new IPEndPoint(IPAddress.Loopback, 0);
        var notifierInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        var subscriberInbox = Channel.CreateUnbounded<SipReceivedMessage>();
        await using ISipTransport notifierTransport = protocol == SipTransportProtocol.Udp
            ? SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = local }, notifierInbox)
            : SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = local }, notifierInbox);
        await using ISipTransport subscriberTransport = protocol == SipTransportProtocol.Udp
            ? SipUdpTransport.Bind(new SipTransportOptions { LocalEndPoint = local }, subscriberInbox)
            : SipStreamTransport.BindTcp(new SipTransportOptions { LocalEndPoint = local }, subscriberInbox);
        var notifierLayer = new SipTransactionLayer();
        var subscriberLayer = new SipTransactionLayer();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));

        // The subscriber answers every request with 200 through a server transaction.
        var subscriber = Task.Run(async () =>
        {
            await foreach (var received in subscriberInbox.Reader.ReadAllAsync(stop.Token))
            {
                if (subscriberLayer.Dispatch(received) is { } tx)
                    await tx.SendResponseAsync(SipResponse.CreateFor(tx.Request, 200), stop.Token);
            }
        }, stop.Token);
        var notifierPump = Task.Run(async () =>
        {
            await foreach (var received in notifierInbox.Reader.ReadAllAsync(stop.Token)) notifierLayer.Dispatch(received);
        }, stop.Token);

        // The notifier's dialog, as if made from the subscriber's SUBSCRIBE.
        var subscribe = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.SubscribeMwi));
        subscribe.Headers.Set(SipHeaderNames.Contact, $"<sip:alice@127.0.0.1:{subscriberTransport.LocalEndPoint.Port}>");
        var dialog = SipDialog.CreateAsUas(subscribe, SipDialogId.NewTag());

        var notify = dialog.CreateRequest(SipMethods.Notify);
        var transport = protocol == SipTransportProtocol.Udp ? "UDP" : "TCP";
        notify.Headers.Prepend(SipHeaderNames.Via, new SipVia(transport, "127.0.0.1", notifierTransport.LocalEndPoint.Port) { Branch = SipTransactionKey.NewBranch() }.ToString());
        notify.Event = new SipEvent("message-summary");
        notify.SubscriptionState = SipSubscriptionState.Parse("active;expires=3599"u8);
        notify.ContentType = "application/simple-message-summary";
        notify.Body = "Messages-Waiting: yes\r\n"u8.ToArray();

        var destination = new IPEndPoint(IPAddress.Loopback, dialog.RemoteTarget.Port!.Value);
        var result = await notifierLayer.SendRequest(notify, notifierTransport, destination).Completion.WaitAsync(stop.Token);
        Assert.Equal(SipClientTransactionOutcome.Response, result.Outcome);
        Assert.Equal(200, result.Response!.StatusCode);
        Assert.Equal(dialog.Id.LocalTag, result.Response.From.Tag);
        Assert.Equal(notify.CSeq, result.Response.CSeq);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => subscriber);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => notifierPump);
    }

    [Fact]
    public void Response_for_a_request_copies_the_transaction_headers_and_adds_a_To_tag()
    {
        var request = (SipRequest)SipMessageParser.ParseDatagram(Rfc3261ExampleTests.Message(Rfc3261ExampleTests.SubscribeMwi));
        var response = SipResponse.CreateFor(request, 202, toTag: "abc");
        Assert.Equal("Accepted", response.ReasonPhrase);
        Assert.Equal("abc", response.To.Tag);
        Assert.Equal(request.From, response.From);
        Assert.Equal(request.Via, response.Via);
        Assert.Equal(request.CSeq, response.CSeq);
        Assert.Null(SipResponse.CreateFor(request, 100, toTag: "abc").To.Tag);
    }
}
