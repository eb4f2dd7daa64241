using System.Collections.Concurrent;
using Aggregators.Sip.Transactions;

namespace Aggregators.Sip.Subscriptions;

/// <summary>
/// The subscriber side of RFC 6665 (§4.1): starts subscriptions over a shared transaction layer
/// and routes the NOTIFYs it receives to them. The owner runs the receive loop: responses go to
/// the transaction layer, NOTIFY server transactions to <see cref="HandleNotify"/>.
/// <code>
/// var subscriber = new SipSubscriber(transactions);
/// var s = subscriber.Subscribe(new SipSubscriptionOptions { RequestUri = ..., From = ..., Event = "message-summary",
///     Transport = udp, Destination = pna, Credentials = new DigestClient("juliet", "secret"),
///     OnNotify = (s, n) => ..., OnEnded = (s, end) => ... });
/// ...
/// s.Unsubscribe();
/// </code>
/// </summary>
public sealed class SipSubscriber(SipTransactionLayer transactions, TimeProvider? time = null)
{
    private readonly ConcurrentDictionary<(string CallId, string LocalTag), SipSubscription> _byDialog = new();

    internal SipTransactionLayer Transactions { get; } = transactions;
    internal TimeProvider Time { get; } = time ?? TimeProvider.System;

    /// <summary>How long an unsubscribed dialog still answers its final NOTIFY with 200 (64*T1).</summary>
    public TimeSpan Linger { get; init; } = TimeSpan.FromSeconds(32);

    /// <summary>Subscriptions not yet ended (unsubscribed ones lingering for their final NOTIFY included).</summary>
    public int Count => _byDialog.Count;

    /// <summary>Sends the initial SUBSCRIBE and returns at once; the outcome arrives through the options' callbacks.</summary>
    public SipSubscription Subscribe(SipSubscriptionOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (!options.Body.IsEmpty && options.ContentType is null)
            throw new ArgumentException("a body needs a ContentType", nameof(options));
        var subscription = new SipSubscription(this, options);
        _byDialog[(subscription.CallId, subscription.LocalTag)] = subscription;
        subscription.Start();
        return subscription;
    }

    /// <summary>
    /// Answers a NOTIFY (RFC 6665 §4.1.3): 200 and the subscription's callbacks, 481 for an unknown
    /// dialog, 489 for another Event, 400 without Subscription-State. Returns false when the
    /// request is not a NOTIFY (the caller answers it).
    /// </summary>
    public bool HandleNotify(SipNonInviteServerTransaction transaction)
    {
        ArgumentNullException.ThrowIfNull(transaction);
        var request = transaction.Request;
        if (request.Method != SipMethods.Notify) return false;
        SipResponse response;
        Action? after = null;
        try
        {
            // The NOTIFY's To tag is our From tag (§4.1.2.4: also when it arrives before the 200).
            response = request.To.Tag is { } tag && _byDialog.TryGetValue((request.CallId, tag), out var subscription)
                ? subscription.ReceiveNotify(request, out after)
                : SipResponse.CreateFor(request, 481, "Subscription Does Not Exist");
        }
        catch (SipParseException e)
        {
            response = SipResponse.CreateFor(request, 400, "Bad Request (" + Printable(e.Message) + ")");
        }
        _ = SendAsync(transaction, response);
        after?.Invoke();
        return true;
    }

    internal void Forget(SipSubscription subscription) =>
        _byDialog.TryRemove(new((subscription.CallId, subscription.LocalTag), subscription));

    private static async Task SendAsync(SipNonInviteServerTransaction transaction, SipResponse response)
    {
        try
        {
            await transaction.SendResponseAsync(response).ConfigureAwait(false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or System.Net.Sockets.SocketException or InvalidOperationException)
        {
            // the notifier times out and retransmits or gives up; nothing to do here
        }
    }

    internal static string Printable(string text)
    {
        var clean = new string([.. text.Where(c => c >= ' ' && c != '\x7f')]);
        return clean.Length > 200 ? clean[..200] : clean;
    }
}
